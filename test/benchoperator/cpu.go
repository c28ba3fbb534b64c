package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// every Linux the bench runs on).
const clockTick = 10 * time.Millisecond

// cpuUse is a process's CPU time, read on the host, and the CFS
// throttling of its container's cgroup: under a CPU limit the kernel
// stops the container for the rest of each 100 ms period once its quota
// is spent.
type cpuUse struct {
	cpu, throttled            time.Duration
	periods, throttledPeriods int64
}

func (u cpuUse) minus(before cpuUse) cpuUse {
	return cpuUse{
		cpu:              u.cpu - before.cpu,
		throttled:        u.throttled - before.throttled,
		periods:          u.periods - before.periods,
		throttledPeriods: u.throttledPeriods - before.throttledPeriods,
	}
}

func readCPU(pid int) (cpuUse, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuUse{}, err
	}
	// The fields after the command, which is in parentheses and may hold
	// spaces: state is the first, utime and stime the 12th and 13th.
	_, rest, ok := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return cpuUse{}, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, data)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return cpuUse{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	u := cpuUse{cpu: time.Duration(utime+stime) * clockTick}
	stat, err := cgroupCPUStat(pid)
	if err != nil {
		return u, err
	}
	u.periods, u.throttledPeriods = stat["nr_periods"], stat["nr_throttled"]
	if ns, ok := stat["throttled_time"]; ok { // cgroup v1
		u.throttled = time.Duration(ns)
	} else {
		u.throttled = time.Duration(stat["throttled_usec"]) * time.Microsecond
	}
	return u, nil
}

// cgroupCPUStat reads cpu.stat of the process's cpu cgroup: v1's cpu
// controller where it is mounted, else v2's unified hierarchy.
func cgroupCPUStat(pid int) (map[string]int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil, err
	}
	var dir string
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		switch {
		case strings.Contains(","+f[1]+",", ",cpu,"):
			dir = filepath.Join("/sys/fs/cgroup", f[1], f[2])
		case f[0] == "0" && dir == "":
			dir = filepath.Join("/sys/fs/cgroup", f[2])
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "cpu.stat"))
	if err != nil {
		return nil, fmt.Errorf("cpu.stat of pid %d's cgroup: %w", pid, err)
	}
	out := map[string]int64{}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok {
			out[k], _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return out, nil
}
