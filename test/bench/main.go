// Command bench measures the proxy against the direct path in one run:
// tools/call latency (p50, p99) and throughput per transport, and the memory
// an idle session costs the proxy. `make bench` runs it; docs/benchmarks.md
// records its figures.
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
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func main() {
	mcptest.MaybeServe() // this binary is also the stdio backend
	duration := flag.Duration("duration", 5*time.Second, "load time per measurement")
	clients := flag.Int("clients", 8, "concurrent client sessions")
	idle := flag.Int("idle-sessions", 10000, "idle sessions for the memory measure")
	observeOnly := flag.Bool("observe-only", false, "measure only what audit events and tracing cost")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
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
	if *observeOnly {
		if err := observeAlone(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			pprof.StopCPUProfile()
			os.Exit(1)
		}
		return
	}
	if err := run(*duration, *clients, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type result struct {
	calls    int
	p50, p99 time.Duration
	perSec   float64
}

func run(d time.Duration, clients, idle int) error {
	ctx := context.Background()
	// Streamable HTTP: the Go SDK server directly, and through the proxy.
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
	redisAddr, stopRedis, err := startRedis()
	if err != nil {
		return err
	}
	defer stopRedis()
	redisProxy, stopRedisProxy, err := startProxy(ctx, proxy.Options{Config: proxyconfig.Config{Transport: "streamable-http",
		SessionStorage: "redis", RedisAddress: redisAddr}, Local: proxyconfig.Local{BackendURL: direct.URL + "/mcp"}})
	if err != nil {
		return err
	}
	defer stopRedisProxy()
	// The same server and proxy, each a process of its own: the client's
	// and the server's CPU no longer count as the proxy's.
	sepDirect, sepProxy, bin, stopSeparate, err := startSeparate()
	if err != nil {
		return err
	}
	defer stopSeparate()

	rows := []path{
		{"streamable-http direct", func() mcp.Transport { return &mcp.StreamableClientTransport{Endpoint: direct.URL + "/mcp"} }},
		{"streamable-http through the proxy", func() mcp.Transport { return &mcp.StreamableClientTransport{Endpoint: httpProxy + "/mcp"} }},
		{"  … with Redis session routing", func() mcp.Transport { return &mcp.StreamableClientTransport{Endpoint: redisProxy + "/mcp"} }},
		{"  … with OIDC + Cedar + tool curation", func() mcp.Transport {
			return &mcp.StreamableClientTransport{Endpoint: accessProxy + "/mcp", HTTPClient: &http.Client{Transport: proxytest.Bearer(token, nil)}}
		}},
		{"separate processes: direct", func() mcp.Transport { return &mcp.StreamableClientTransport{Endpoint: sepDirect} }},
		{"separate processes: through the proxy", func() mcp.Transport { return &mcp.StreamableClientTransport{Endpoint: sepProxy} }},
		{"stdio direct (one client)", nil},
		{"stdio through the proxy", func() mcp.Transport { return &mcp.StreamableClientTransport{Endpoint: stdioProxy + "/mcp"} }},
	}
	for _, c := range []int{1, clients} {
		if err := measure(ctx, rows, c, d); err != nil {
			return err
		}
	}
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
	perSession, err := idleSessionCost(stdioProxy, idle)
	if err != nil {
		return err
	}
	fmt.Printf("\nidle sessions: %d opened on the stdio proxy, %.1f KiB of heap each\n", idle, perSession/1024)
	for _, transport := range []string{"stdio", "streamable-http"} {
		base, atCap, err := rssAtCap(bin, transport, idle)
		if err != nil {
			return err
		}
		fmt.Printf("proxy process RSS, %s backend: %.1f MiB started, %.1f MiB at its cap of %d sessions (%.2f KiB a session)\n",
			transport, float64(base)/(1<<20), float64(atCap)/(1<<20), idle, float64(atCap-base)/1024/float64(idle))
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

// startSeparate builds cmd/proxy and test/mcpserver, runs the server in
// streamable HTTP mode and a proxy in front of it, and returns both
// endpoints.
func startSeparate() (direct, proxied, bin string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "switchboard-bench-")
	if err != nil {
		return "", "", "", nil, err
	}
	var procs []*exec.Cmd
	stop = func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
		_ = os.RemoveAll(dir)
	}
	if out, err := exec.Command("go", "build", "-o", dir+"/", "./cmd/proxy", "./test/mcpserver").CombinedOutput(); err != nil {
		stop()
		return "", "", "", nil, fmt.Errorf("go build: %w\n%s", err, out)
	}
	serverAddr, proxyAddr := freeAddr(), freeAddr()
	_, proxyPort, _ := net.SplitHostPort(proxyAddr)
	for _, args := range [][]string{
		{dir + "/mcpserver", "--transport=streamable-http", "--addr=" + serverAddr},
		{dir + "/proxy", "--transport=streamable-http", "--bind-address=127.0.0.1", "--port=" + proxyPort,
			"--backend-url=http://" + serverAddr + "/mcp", "--max-sessions=1048576"},
	} {
		cmd := exec.Command(args[0], args[1:]...)
		if err := cmd.Start(); err != nil {
			stop()
			return "", "", "", nil, err
		}
		procs = append(procs, cmd)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get("http://" + proxyAddr + "/health"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return "http://" + serverAddr + "/mcp", "http://" + proxyAddr + "/mcp", dir, stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", "", "", nil, errors.New("the proxy process never became healthy")
		}
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
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

type path struct {
	name      string
	transport func() mcp.Transport
}

// measure loads every path with clients sessions and prints one table.
func measure(ctx context.Context, rows []path, clients int, d time.Duration) error {
	results := map[string]result{}
	fmt.Printf("\ntools/call echo, %d concurrent session(s) (stdio direct: 1), %s each, protocol 2025-11-25\n", clients, d)
	fmt.Printf("%-40s %10s %10s %10s %12s\n", "path", "calls", "p50", "p99", "calls/s")
	for _, row := range rows {
		n, transport := clients, row.transport
		if transport == nil { // a stdio server takes one client: the SDK's own
			n = 1
			transport = func() mcp.Transport {
				cmd := exec.Command(os.Args[0])
				cmd.Env = append(os.Environ(), mcptest.EnvServe+"=stdio")
				return &mcp.CommandTransport{Command: cmd}
			}
		}
		r, err := load(ctx, transport, n, d)
		if err != nil {
			return fmt.Errorf("%s: %w", row.name, err)
		}
		results[row.name] = r
		fmt.Printf("%-40s %10d %10s %10s %12.0f\n", row.name, r.calls, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.perSec)
	}
	dir, via, red := results["streamable-http direct"], results["streamable-http through the proxy"], results["  … with Redis session routing"]
	fmt.Printf("=> streamable-http through the proxy vs direct: p50 %+.3f ms, p99 %+.3f ms, throughput %.0f %%\n",
		ms(via.p50-dir.p50), ms(via.p99-dir.p99), 100*via.perSec/dir.perSec)
	sd, sp := results["separate processes: direct"], results["separate processes: through the proxy"]
	fmt.Printf("=> separate processes, through the proxy vs direct: p50 %+.3f ms, p99 %+.3f ms, throughput %.0f %%\n",
		ms(sp.p50-sd.p50), ms(sp.p99-sd.p99), 100*sp.perSec/sd.perSec)
	fmt.Printf("=> Redis session routing vs in-memory, through the proxy: p50 %+.3f ms, throughput %.0f %%\n",
		ms(red.p50-via.p50), 100*red.perSec/via.perSec)
	acc := results["  … with OIDC + Cedar + tool curation"]
	fmt.Printf("=> OIDC + Cedar + tool curation vs none, through the proxy: p50 %+.3f ms, throughput %.0f %%\n",
		ms(acc.p50-via.p50), 100*acc.perSec/via.perSec)
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// load runs n sessions calling echo for d and measures every call.
func load(ctx context.Context, transport func() mcp.Transport, n int, d time.Duration) (result, error) {
	sessions := make([]*mcp.ClientSession, n)
	for i := range sessions {
		c := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
		cs, err := c.Connect(ctx, transport(), &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		if err != nil {
			return result{}, err
		}
		defer func() { _ = cs.Close() }()
		sessions[i] = cs
	}
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	start := time.Now()
	var wg sync.WaitGroup
	for _, cs := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Since(start) < d {
				t := time.Now()
				_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "ping"}})
				if err != nil {
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
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return result{}, firstErr
	}
	elapsed := time.Since(start)
	slices.Sort(lat)
	return result{calls: len(lat), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], perSec: float64(len(lat)) / elapsed.Seconds()}, nil
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
