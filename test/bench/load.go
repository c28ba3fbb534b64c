package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// result is one measurement: calls answered in the window, their latency,
// and the CPU the watched process (the proxy) spent in the same window.
type result struct {
	Calls  int           `json:"calls"`
	P50    time.Duration `json:"p50"`
	P99    time.Duration `json:"p99"`
	PerSec float64       `json:"perSec"`
	CPU    time.Duration `json:"cpu"` // of loadOptions.cpuPID; 0 without one
}

// loadOptions are what a measurement adds to plain load: calls per session
// before the window opens, and a process whose CPU time the window reads.
type loadOptions struct {
	warmup int
	cpuPID int
}

// load runs n sessions calling echo for d and measures every call.
func load(ctx context.Context, transport func() mcp.Transport, n int, d time.Duration) (result, error) {
	return measureLoad(ctx, transport, n, d, loadOptions{})
}

func measureLoad(ctx context.Context, transport func() mcp.Transport, n int, d time.Duration, o loadOptions) (result, error) {
	sessions := make([]*mcp.ClientSession, n)
	for i := range sessions {
		c := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
		cs, err := c.Connect(ctx, transport(), &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err != nil {
			return result{}, fmt.Errorf("session %d: %w", i, err)
		}
		defer func() { _ = cs.Close() }()
		sessions[i] = cs
	}
	call := func(cs *mcp.ClientSession) error {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "ping"}})
		return err
	}
	if err := warm(sessions, o.warmup, call); err != nil {
		return result{}, err
	}
	cpuBefore, err := cpuTime(o.cpuPID)
	if err != nil {
		return result{}, err
	}
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	start := time.Now()
	var wg sync.WaitGroup
	for _, cs := range sessions {
		wg.Go(func() {
			var mine []time.Duration
			for time.Since(start) < d {
				t := time.Now()
				if err := call(cs); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpuAfter, err := cpuTime(o.cpuPID)
	if err != nil {
		return result{}, err
	}
	if firstErr != nil {
		return result{}, firstErr
	}
	if len(lat) == 0 {
		return result{}, errors.New("no call answered in the window")
	}
	slices.Sort(lat)
	return result{Calls: len(lat), P50: lat[len(lat)/2], P99: lat[len(lat)*99/100],
		PerSec: float64(len(lat)) / elapsed.Seconds(), CPU: cpuAfter - cpuBefore}, nil
}

// warm makes calls calls on every session, concurrently, before the
// window opens: connections, buffers and the backend's caches are then
// those of a steady state.
func warm(sessions []*mcp.ClientSession, calls int, call func(*mcp.ClientSession) error) error {
	errs := make([]error, len(sessions))
	var wg sync.WaitGroup
	for i, cs := range sessions {
		wg.Go(func() {
			for range calls {
				if errs[i] = call(cs); errs[i] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on
// every Linux architecture Go runs on.
const clockTicks = 100

// cpuTime is the user plus system CPU time a process has used so far, from
// /proc/<pid>/stat (all its threads; not its children's, so a stdio
// server the proxy runs does not count). pid 0 is no process: 0.
func cpuTime(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the CPU time of process %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	i := strings.LastIndexByte(string(stat), ')')
	fields := strings.Fields(string(stat)[i+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime and stime: fields 14 and 15
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// loadChild is what this binary does when run with -load: one measurement
// against url (or against one stdio server process per session, started
// from the command line stdio), its result as JSON on standard output.
// Running the load generator as a process of its own keeps its CPU out of
// the proxy's, and out of the bench's.
type loadChild struct {
	url, stdio string
	sessions   int
	d          time.Duration
	o          loadOptions
}

func (l loadChild) run() error {
	transport := func() mcp.Transport { return &mcp.StreamableClientTransport{Endpoint: l.url} }
	if l.stdio != "" {
		transport = func() mcp.Transport { return &mcp.CommandTransport{Command: exec.Command(l.stdio)} }
	}
	r, err := measureLoad(context.Background(), transport, l.sessions, l.d, l.o)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// args is the command line that runs l in a child process.
func (l loadChild) args() []string {
	return []string{"-load", "-load-url=" + l.url, "-load-stdio=" + l.stdio,
		"-load-sessions=" + strconv.Itoa(l.sessions), "-duration=" + l.d.String(),
		"-load-warmup=" + strconv.Itoa(l.o.warmup), "-load-cpu-pid=" + strconv.Itoa(l.o.cpuPID)}
}

// spawn runs l as a child process of this binary and reads its result.
func (l loadChild) spawn(ctx context.Context) (result, error) {
	cmd := exec.CommandContext(ctx, os.Args[0], l.args()...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("load generator: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		return result{}, fmt.Errorf("load generator's result %q: %w", out, err)
	}
	return r, nil
}
