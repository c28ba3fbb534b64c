package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// A benchPath is one way to reach the test server's echo tool. Every path
// runs as processes of their own (the load generator included), so the
// CPU time of the one in the middle can be read from /proc.
type benchPath struct {
	name    string
	url     string // the client's endpoint; empty for stdio direct
	stdio   string // stdio direct: the server each session starts for itself
	pid     int    // the process in the middle (0: none, a direct path)
	against string // the path this one is a ratio of; empty for a baseline
}

const (
	httpDirect  = "streamable HTTP direct"
	stdioDirect = "stdio direct (a server process per session)"
)

// startPaths starts the test server, our proxies and the reference
// proxies that can be built or installed here, and returns the paths
// through them. Reference rows that cannot run are left out, with why.
func startPaths(p *procs, bin, redisAddr string, references bool) (paths []benchPath, leftOut []string, err error) {
	server, err := p.startServer(bin)
	if err != nil {
		return nil, nil, err
	}
	paths = append(paths, benchPath{name: httpDirect, url: server})
	base, cmd, err := p.startSwitchboard(bin, "--transport=streamable-http", "--backend-url="+server)
	if err != nil {
		return nil, nil, err
	}
	paths = append(paths, benchPath{name: "Switchboard proxy → streamable HTTP", url: base + "/mcp", pid: cmd.Process.Pid, against: httpDirect})
	if redisAddr != "" {
		base, cmd, err := p.startSwitchboard(bin, "--transport=streamable-http", "--backend-url="+server,
			"--session-storage=redis", "--redis-address="+redisAddr)
		if err != nil {
			return nil, nil, err
		}
		paths = append(paths, benchPath{name: "Switchboard proxy, Redis sessions → streamable HTTP", url: base + "/mcp", pid: cmd.Process.Pid, against: httpDirect})
	}
	if !references {
		leftOut = append(leftOut, "ToolHive's transparent proxy and supergateway: -references=false")
	} else if url, pid, err := startToolHive(p, server); err != nil {
		leftOut = append(leftOut, fmt.Sprintf("ToolHive's transparent proxy: %v", err))
	} else {
		paths = append(paths, benchPath{name: "ToolHive v" + version("TOOLHIVE_VERSION") + " transparent proxy (reference) → streamable HTTP", url: url, pid: pid, against: httpDirect})
	}
	paths = append(paths, benchPath{name: stdioDirect, stdio: bin + "/mcpserver"})
	base, cmd, err = p.startSwitchboard(bin, "--transport=stdio", "--", bin+"/mcpserver")
	if err != nil {
		return nil, nil, err
	}
	paths = append(paths, benchPath{name: "Switchboard proxy → stdio (one shared server process)", url: base + "/mcp", pid: cmd.Process.Pid, against: stdioDirect})
	if !references {
		return paths, leftOut, nil
	}
	if url, pid, err := startSupergateway(p, bin); err != nil {
		leftOut = append(leftOut, fmt.Sprintf("supergateway: %v", err))
	} else {
		paths = append(paths, benchPath{name: "supergateway " + version("SUPERGATEWAY_VERSION") + " (reference) → stdio (a server process per session)", url: url, pid: pid, against: stdioDirect})
	}
	return paths, leftOut, nil
}

// version is a pin of hack/versions.env, which the install scripts build
// and install from.
func version(key string) string {
	b, _ := os.ReadFile("hack/versions.env")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return strings.TrimSpace(v)
		}
	}
	return "(unknown version)"
}

// startToolHive runs ToolHive's transparent proxy (hack/toolhive-proxy.sh
// builds it) in front of the streamable-HTTP server.
func startToolHive(p *procs, server string) (string, int, error) {
	binary, err := helper("hack/toolhive-proxy.sh")
	if err != nil {
		return "", 0, err
	}
	addr := freeAddr()
	cmd, err := p.start(binary, "--addr="+addr, "--target="+strings.TrimSuffix(server, "/mcp"))
	if err != nil {
		return "", 0, err
	}
	if err := waitListening(addr); err != nil {
		return "", 0, err
	}
	return "http://" + addr + "/mcp", cmd.Process.Pid, nil
}

// loopbackOnly makes a Node server listen on loopback: supergateway has no
// host option and would otherwise listen on every interface.
const loopbackOnly = `const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  return listen.apply(this, args);
};
`

// startSupergateway runs supergateway (hack/install-supergateway.sh
// installs it) offering the stdio test server of bin over stateful
// streamable HTTP (it starts a server process for each session).
func startSupergateway(p *procs, bin string) (string, int, error) {
	command, err := helper("hack/install-supergateway.sh")
	if err != nil {
		return "", 0, err
	}
	script, err := filepath.EvalSymlinks(command) // node runs the package's script itself
	if err != nil {
		return "", 0, err
	}
	preload := filepath.Join(bin, "loopback-only.cjs")
	if err := os.WriteFile(preload, []byte(loopbackOnly), 0o644); err != nil {
		return "", 0, err
	}
	addr := freeAddr()
	_, port, _ := strings.Cut(addr, ":")
	cmd, err := p.start("node", "--require", preload, script, "--stdio", bin+"/mcpserver",
		"--outputTransport", "streamableHttp", "--stateful", "--port", port, "--logLevel", "none")
	if err != nil {
		return "", 0, err
	}
	if err := waitListening(addr); err != nil {
		return "", 0, err
	}
	return "http://" + addr + "/mcp", cmd.Process.Pid, nil
}

// rounds holds every measurement of one session count: by path, by round.
type rounds map[string][]result

// interleave runs every path once a round, for n rounds, the order turning
// each round so that no path always runs first or last on a busy machine.
func interleave(ctx context.Context, paths []benchPath, sessions, n int, d time.Duration) (rounds, error) {
	got := rounds{}
	for round := range n {
		for k := range paths {
			bp := paths[(k+round)%len(paths)]
			r, err := loadChild{url: bp.url, stdio: bp.stdio, sessions: sessions, d: d,
				o: loadOptions{warmup: 20, cpuPID: bp.pid}}.spawn(ctx)
			if err != nil {
				return nil, fmt.Errorf("%s, %d sessions, round %d: %w", bp.name, sessions, round+1, err)
			}
			fmt.Fprintf(os.Stderr, "bench: %d sessions, round %d/%d, %-62s p50 %9s  %6.0f calls/s\n",
				sessions, round+1, n, bp.name, r.P50.Round(time.Microsecond), r.PerSec)
			got[bp.name] = append(got[bp.name], r)
		}
	}
	return got, nil
}

// median of xs (sorted in place); the upper one of an even count.
func median[T int64 | float64 | time.Duration](xs []T) T {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// spread is the median, the least and the greatest of xs.
func spread(xs []float64) (med, lo, hi float64) {
	med = median(xs)
	return med, xs[0], xs[len(xs)-1]
}

func each[T any](rs []result, f func(result) T) []T {
	out := make([]T, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

// cpuPerThousand is the CPU a path's middle process spent per 1,000 calls.
func cpuPerThousand(r result) float64 {
	return float64(r.CPU) / float64(time.Millisecond) * 1000 / float64(r.Calls)
}

// printPaths prints, per session count, the medians of each path over its
// rounds, then the per-round ratios of each path against its baseline.
func printPaths(paths []benchPath, bySessions map[int]rounds, counts []int) {
	fmt.Println("\n| sessions | path | p50 | p99 | calls/s | proxy CPU per 1,000 calls |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, c := range counts {
		for _, bp := range paths {
			rs := bySessions[c][bp.name]
			cpu := "—"
			if bp.pid != 0 {
				cpu = fmt.Sprintf("%.0f ms", median(each(rs, cpuPerThousand)))
			}
			fmt.Printf("| %d | %s | %.3f ms | %.3f ms | %.0f | %s |\n", c, bp.name,
				ms(median(each(rs, func(r result) time.Duration { return r.P50 }))),
				ms(median(each(rs, func(r result) time.Duration { return r.P99 }))),
				median(each(rs, func(r result) float64 { return r.PerSec })), cpu)
		}
	}
	fmt.Println("\nPer-round ratios against the direct path of the same round: median (range).")
	fmt.Println("\n| sessions | path | against | throughput | p50 | added p50 |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, c := range counts {
		for _, bp := range paths {
			if bp.against == "" {
				continue
			}
			mine, base := bySessions[c][bp.name], bySessions[c][bp.against]
			var tput, p50x, added []float64
			for i := range min(len(mine), len(base)) {
				tput = append(tput, 100*mine[i].PerSec/base[i].PerSec)
				p50x = append(p50x, float64(mine[i].P50)/float64(base[i].P50))
				added = append(added, ms(mine[i].P50-base[i].P50))
			}
			tm, tlo, thi := spread(tput)
			pm, plo, phi := spread(p50x)
			am, alo, ahi := spread(added)
			fmt.Printf("| %d | %s | %s | %.0f %% (%.0f … %.0f) | %.2f× (%.2f … %.2f) | %+.3f ms (%+.3f … %+.3f) |\n",
				c, bp.name, bp.against, tm, tlo, thi, pm, plo, phi, am, alo, ahi)
		}
	}
}
