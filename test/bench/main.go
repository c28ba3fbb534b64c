// Command bench measures the proxy against the direct path in one run.
// `make bench` runs it; docs/benchmarks.md records its figures.
//
// The paths section reaches the test server's echo tool every way there
// is: directly and through the proxy, over streamable HTTP and stdio, at
// several session counts, with ToolHive's transparent proxy and
// supergateway as reference rows when they can be built or installed.
// Load generator (this binary again, with -load), proxy and server are
// processes of their own, so the proxy's CPU time per call can be read
// from /proc; the paths run interleaved for several rounds, and every
// ratio is taken within a round. Its output is the markdown tables of
// docs/benchmarks.md.
//
// The other sections compare proxies configured differently (access
// control, audit and tracing, Redis session routing) and measure the
// memory sessions cost.
//
//	go run ./test/bench -paths-only -rounds 3 -duration 2s -sessions 1,8
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func main() {
	mcptest.MaybeServe() // this binary is also the in-process proxies' stdio backend
	duration := flag.Duration("duration", 3*time.Second, "load time of one path in one round")
	nRounds := flag.Int("rounds", 5, "rounds of the paths section; each runs every path once, the order turning")
	sessions := flag.String("sessions", "1,8,32", "session counts of the paths section, comma-separated (each session a worker of its own)")
	pathsOnly := flag.Bool("paths-only", false, "run only the paths section (no access, observe, session rate or memory)")
	references := flag.Bool("references", true, "build or install ToolHive's transparent proxy and supergateway for reference rows")
	idle := flag.Int("idle-sessions", 10000, "idle sessions for the memory measure")
	observeOnly := flag.Bool("observe-only", false, "measure only what audit events and tracing cost")
	memoryOnly := flag.Bool("memory-only", false, "measure only the proxy process's memory at its session cap (-idle-sessions)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	var child loadChild
	loadMode := flag.Bool("load", false, "be the load generator of one measurement (the bench runs itself so)")
	flag.StringVar(&child.url, "load-url", "", "-load: the streamable-HTTP endpoint")
	flag.StringVar(&child.stdio, "load-stdio", "", "-load: the stdio server to start for each session instead")
	flag.IntVar(&child.sessions, "load-sessions", 1, "-load: concurrent sessions")
	flag.IntVar(&child.o.warmup, "load-warmup", 20, "-load: calls per session before the window opens")
	flag.IntVar(&child.o.cpuPID, "load-cpu-pid", 0, "-load: the process whose CPU time the window reads")
	flag.Parse()
	if *loadMode {
		child.d = *duration
		if err := child.run(); err != nil {
			fmt.Fprintln(os.Stderr, "bench -load:", err)
			os.Exit(1)
		}
		return
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: cpu profile:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	var err error
	switch {
	case *observeOnly:
		err = observeAlone()
	case *memoryOnly:
		err = memoryAlone(*idle)
	default:
		var counts []int
		counts, err = parseCounts(*sessions)
		if err == nil {
			err = run(config{d: *duration, rounds: *nRounds, counts: counts, pathsOnly: *pathsOnly, references: *references, idle: *idle})
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func parseCounts(list string) ([]int, error) {
	var counts []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-sessions=%q: want positive counts, comma-separated", list)
		}
		counts = append(counts, n)
	}
	return counts, nil
}

// config is what one run measures.
type config struct {
	d                     time.Duration
	rounds                int
	counts                []int
	pathsOnly, references bool
	idle                  int
}

func run(c config) error {
	bin, err := buildBinaries()
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(bin) }()
	redisAddr, stopRedis, err := startRedis()
	if err != nil {
		return err
	}
	defer stopRedis()
	if err := pathsSection(c, bin, redisAddr); err != nil {
		return err
	}
	if c.pathsOnly {
		return nil
	}
	return inProcessSections(c, bin, redisAddr)
}

// pathsSection measures every path, each as processes of their own,
// interleaved, and prints the tables of docs/benchmarks.md.
func pathsSection(c config, bin, redisAddr string) error {
	var p procs
	defer p.stop()
	paths, leftOut, err := startPaths(&p, bin, redisAddr, c.references)
	if err != nil {
		return err
	}
	fmt.Printf("## tools/call echo through every path (%s, %s, %d CPUs, load average %s at the start)\n",
		time.Now().UTC().Format("2006-01-02"), runtime.Version(), runtime.NumCPU(), loadAverage())
	fmt.Printf("\n%d round(s); each round runs every path once for %s, the order turning; each session is a worker of its own; "+
		"load generator, proxy and server are processes of their own; figures are medians over the rounds; "+
		"proxy CPU is the proxy process's utime+stime from /proc over the same window.\n", c.rounds, c.d)
	byCount := map[int]rounds{}
	for _, n := range c.counts {
		if byCount[n], err = interleave(context.Background(), paths, n, c.rounds, c.d); err != nil {
			return err
		}
	}
	printPaths(paths, byCount, c.counts)
	for _, why := range leftOut {
		fmt.Printf("\nLeft out: %s\n", why)
	}
	if slices.ContainsFunc(paths, func(bp benchPath) bool { return strings.HasPrefix(bp.name, "ToolHive") }) {
		fmt.Println("\nToolHive's transparent proxy is built from hack/tools/toolhive-proxy (Go " + version("TOOLHIVE_GO_TOOLCHAIN") +
			"), with three modules the Go module proxy does not serve here substituted (golang.org/x/exp/jsonrpc2 by an " +
			"earlier served version; jwkfetch and toolhive-core/redisconn by stubs, reached only with auth or Redis).")
	}
	fmt.Printf("\nLoad average at the end: %s\n", loadAverage())
	return nil
}

// loadAverage is /proc/loadavg's first three figures.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// inProcessSections are the measures that need the proxy in this process
// (idle-session heap) or compare proxies configured differently: access
// control, audit and tracing, new sessions per second, memory at the cap.
func inProcessSections(c config, bin, redisAddr string) error {
	ctx := context.Background()
	direct := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return mcptest.NewServer() }, nil))
	defer direct.Close()
	httpProxy, stopHTTP, err := startProxy(ctx, proxy.Options{Config: proxyconfig.Config{Transport: "streamable-http"}, Local: proxyconfig.Local{BackendURL: direct.URL + "/mcp"}})
	if err != nil {
		return err
	}
	defer stopHTTP()
	stdioProxy, stopStdio, err := startProxy(ctx, proxy.Options{Config: proxyconfig.Config{Transport: "stdio"}, Local: proxyconfig.Local{BackendCommand: []string{"env", mcptest.EnvServe + "=stdio", os.Args[0]}}})
	if err != nil {
		return err
	}
	defer stopStdio()
	// The same proxy with every access control on: bearer tokens from a
	// real OpenID provider, a Cedar policy, and a tool filter and rename.
	accessProxy, token, stopAccess, err := startAccessProxy(ctx, direct.URL+"/mcp")
	if err != nil {
		return err
	}
	defer stopAccess()
	redisProxy, stopRedisProxy, err := startProxy(ctx, proxy.Options{Config: proxyconfig.Config{Transport: "streamable-http",
		SessionStorage: "redis", RedisAddress: redisAddr}, Local: proxyconfig.Local{BackendURL: direct.URL + "/mcp"}})
	if err != nil {
		return err
	}
	defer stopRedisProxy()

	if err := accessCost(ctx, httpProxy, accessProxy, token, 9, 2*time.Second); err != nil {
		return err
	}
	if err := observeCost(ctx, bin, 15, time.Second); err != nil {
		return err
	}
	for _, p := range []struct{ name, base string }{{"in-memory sessions", httpProxy}, {"Redis sessions", redisProxy}} {
		rate, err := sessionRate(p.base, 2000)
		if err != nil {
			return err
		}
		fmt.Printf("\nnew sessions through the streamable-http proxy, %s: %.0f/s (one client, sequential)", p.name, rate)
	}
	fmt.Println()
	perSession, err := idleSessionCost(stdioProxy, c.idle)
	if err != nil {
		return err
	}
	fmt.Printf("\nidle sessions: %d opened on the stdio proxy, %.1f KiB of heap each\n", c.idle, perSession/1024)
	return memoryAtCap(bin, c.idle)
}

// memoryAlone builds the binaries and measures memoryAtCap alone.
func memoryAlone(n int) error {
	bin, err := buildBinaries()
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(bin) }()
	return memoryAtCap(bin, n)
}

// memoryAtCap prints the proxy process's RSS started and at its cap of n
// sessions, for each kind of backend.
func memoryAtCap(bin string, n int) error {
	for _, transport := range []string{"stdio", "streamable-http"} {
		base, atCap, err := rssAtCap(bin, transport, n)
		if err != nil {
			return err
		}
		fmt.Printf("proxy process RSS, %s backend: %.1f MiB started, %.1f MiB at its cap of %d sessions (%.2f KiB a session)\n",
			transport, float64(base)/(1<<20), float64(atCap)/(1<<20), n, float64(atCap-base)/1024/float64(n))
	}
	return nil
}

// rssAtCap runs a proxy process with --max-sessions=n in front of the test
// server (a process of its own), opens sessions until the proxy refuses
// one, and reads the proxy's resident memory before and at the cap.
func rssAtCap(bin, transport string, n int) (base, atCap uint64, err error) {
	proxyAddr := freeAddr()
	_, port, _ := net.SplitHostPort(proxyAddr)
	args := []string{"--transport=" + transport, "--bind-address=127.0.0.1", "--port=" + port,
		fmt.Sprintf("--max-sessions=%d", n), "--handshake-timeout=1h", "--session-idle-timeout=1h"}
	var server *exec.Cmd
	if transport == "stdio" {
		args = append(args, "--", bin+"/mcpserver")
	} else {
		serverAddr := freeAddr()
		server = exec.Command(bin+"/mcpserver", "--transport=streamable-http", "--addr="+serverAddr)
		if err := server.Start(); err != nil {
			return 0, 0, err
		}
		defer func() { _ = server.Process.Kill(); _ = server.Wait() }()
		args = append(args, "--backend-url=http://"+serverAddr+"/mcp")
	}
	proxyCmd := exec.Command(bin+"/proxy", args...)
	if err := proxyCmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { _ = proxyCmd.Process.Kill(); _ = proxyCmd.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get("http://" + proxyAddr + "/health"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return 0, 0, errors.New("the proxy process never became healthy")
		}
	}
	if base, err = rss(proxyCmd.Process.Pid); err != nil {
		return 0, 0, err
	}
	if err := openSessions("http://"+proxyAddr, n); err != nil {
		return 0, 0, err
	}
	if err := openSessions("http://"+proxyAddr, 1); err == nil {
		return 0, 0, fmt.Errorf("the %s proxy took a session over its cap of %d", transport, n)
	}
	atCap, err = rss(proxyCmd.Process.Pid)
	return base, atCap, err
}

// rss is a process's resident set size, from /proc.
func rss(pid int) (uint64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb uint64
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// sessionRate opens n sessions one after another and returns sessions/s.
func sessionRate(base string, n int) (float64, error) {
	start := time.Now()
	if err := openSessions(base, n); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// startRedis runs Debian's redis-server (make bench installs it) on a free
// loopback port.
func startRedis() (string, func(), error) {
	addr := freeAddr()
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("redis-server (hack/install-redis.sh): %w", err)
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return addr, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("redis-server never listened on %s", addr)
		}
	}
}

// idleSessionCost opens sessions with raw initialize requests and reports
// the heap they hold in this process, where the proxy runs.
func idleSessionCost(base string, n int) (float64, error) {
	before := heap()
	if err := openSessions(base, n); err != nil {
		return 0, err
	}
	return float64(heap()-before) / float64(n), nil
}

// openSessions opens n sessions with raw initialize requests.
func openSessions(base string, n int) error {
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"idle","version":"1"}}}`
	client := &http.Client{}
	for i := 0; i < n; i++ {
		req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("initialize %d: status %d", i, resp.StatusCode)
		}
	}
	client.CloseIdleConnections()
	return nil
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func startProxy(ctx context.Context, o proxy.Options) (string, func(), error) {
	o.BindAddress, o.ProxyMode, o.DrainTimeout = "127.0.0.1", "streamable-http", time.Second
	o.MaxBodyBytes, o.MaxSessions, o.SessionIdleTimeout, o.HandshakeTimeout = 4<<20, 1<<20, time.Hour, time.Hour
	o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	backendCtx, stopBackend := context.WithCancel(ctx)
	p, err := proxy.New(backendCtx, o)
	if err != nil {
		stopBackend()
		return "", nil, err
	}
	serveCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Serve(serveCtx) }()
	base := "http://" + p.Addr()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(base + "/health"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			stopBackend()
			return "", nil, fmt.Errorf("proxy for %s never became healthy", o.Transport)
		}
	}
	return base, func() {
		stop()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "proxy:", err)
		}
		stopBackend()
	}, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
