package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
)

// binaries builds cmd/proxy, test/mcpserver and the Go SDK's conformance
// fixture (everything-server, shipped in the go-sdk module) once per test
// binary.
var binaries = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "switchboard-bin-")
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "build", "-o", dir+"/",
		"github.com/switchboard-mcp/switchboard/cmd/proxy",
		"github.com/switchboard-mcp/switchboard/test/mcpserver",
		"github.com/modelcontextprotocol/go-sdk/conformance/everything-server").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return dir, nil
})

func binary(t *testing.T, name string) string {
	t.Helper()
	dir, err := binaries()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}

// process is a program the test started; its stderr is shown if the test
// fails, and it is killed when the test ends.
type process struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}
}

func startProcess(t *testing.T, name string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(binary(t, name), args...), done: make(chan struct{})}
	p.cmd.Stderr = &lockedWriter{w: &p.stderr}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s %v stderr:\n%s", name, args, tail(p.stderr.String(), 20000))
		}
	})
	return p
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// startProxyProcess runs cmd/proxy at addr in front of backends, sharing
// sessions through Redis, and waits until it is ready.
func startProxyProcess(t *testing.T, addr, backends, redisAddr string) *process {
	t.Helper()
	_, port, _ := net.SplitHostPort(addr)
	p := startProcess(t, "proxy", "--transport=streamable-http", "--bind-address=127.0.0.1", "--port="+port,
		"--backend-url="+backends, "--session-storage=redis", "--redis-address="+redisAddr, "--redis-key-prefix=scaling:",
		"--drain-delay=300ms", "--drain-timeout=5s")
	waitReady(t, "http://"+addr)
	return p
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/health"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became ready", base)
		}
	}
}

// session is one client session and what the test knows about it.
type session struct {
	cs      *mcp.ClientSession
	backend string // host:port of the backend pod, from the shared table
}

type cluster struct {
	proxies  []string // host:port
	backends []string // host:port
	redis    *redis.Client
}

// connect opens a session; safe to call from any goroutine. The client
// does not retry a broken stream: a backend that died must show at once.
func (c *cluster) connect(t *testing.T, rt http.RoundTripper) (*session, error) {
	return c.connectRetrying(t, rt, -1)
}

// connectRetrying opens a session whose client re-opens a stream that ended
// up to retries times (0: the SDK's default), as clients do in the field.
func (c *cluster) connectRetrying(t *testing.T, rt http.RoundTripper, retries int) (*session, error) {
	client := mcp.NewClient(&mcp.Implementation{Name: "switchboard-scaling-test", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: "http://" + c.proxies[0] + "/mcp", HTTPClient: &http.Client{Transport: rt}, MaxRetries: retries,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	owner, err := c.owner(cs.ID())
	return &session{cs: cs, backend: owner}, err
}

func (c *cluster) mustConnect(t *testing.T, rt http.RoundTripper) *session {
	t.Helper()
	s, err := c.connect(t, rt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// owner reads the session's backend pod from the table the proxies share.
func (c *cluster) owner(id string) (string, error) {
	addr, err := c.redis.Get(context.Background(), "scaling:session:"+id).Result()
	if err != nil {
		return "", fmt.Errorf("session %s is not in the shared table: %w", id, err)
	}
	return addr, nil
}

// echo calls the echo tool of whichever server holds the session: both
// kinds reject a session id they did not issue, so a success means the
// call reached the session's own backend.
func echo(ctx context.Context, s *session, text string) error {
	args := map[string]any{"message": text} // server-everything
	want := "Echo: " + text
	if s.cs.InitializeResult().ServerInfo.Name == "mcptest" {
		args, want = map[string]any{"text": text}, text
	}
	res, err := s.cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: args})
	if err != nil {
		return err
	}
	if len(res.Content) != 1 {
		return fmt.Errorf("echo returned %d contents", len(res.Content))
	}
	if tc, ok := res.Content[0].(*mcp.TextContent); !ok || tc.Text != want {
		return fmt.Errorf("echo returned %+v, want %q", res.Content[0], want)
	}
	return nil
}

// scaling is the issue-4 scenario with every piece a separate process: two
// proxy replicas (cmd/proxy) in front of three backends (two
// server-everything in streamable HTTP mode, one Go SDK server) sharing
// sessions through a real redis-server.
type scaling struct {
	cluster
	rds         *proxytest.Redis
	backendURLs string // --backend-url
	everything  []*os.Process
	proxyProcs  []*process
	alt         *proxytest.Alternating // calls alternate between the proxies
	sessions    []*session
	perBackend  map[string]int
}

func startScaling(t *testing.T) *scaling {
	f := &scaling{rds: proxytest.StartRedis(t, "")}
	var urls []string
	for range 2 {
		u, p := startEverything(t, "streamableHttp")
		urls, f.everything = append(urls, u), append(f.everything, p)
	}
	goAddr := proxytest.FreeAddr(t)
	startProcess(t, "mcpserver", "--transport=streamable-http", "--addr="+goAddr, "--name=go-sdk")
	proxytest.WaitListening(t, goAddr, 10*time.Second)
	urls = append(urls, "http://"+goAddr+"/mcp")
	f.backendURLs = strings.Join(urls, ",")
	for _, u := range urls {
		f.backends = append(f.backends, strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/mcp"))
	}
	f.redis = redis.NewClient(&redis.Options{Addr: f.rds.Addr})
	t.Cleanup(func() { _ = f.redis.Close() })
	f.proxies = []string{proxytest.FreeAddr(t), proxytest.FreeAddr(t)}
	for _, p := range f.proxies {
		f.proxyProcs = append(f.proxyProcs, startProxyProcess(t, p, f.backendURLs, f.rds.Addr))
	}
	f.alt = &proxytest.Alternating{Hosts: f.proxies}
	return f
}

// openSessions opens n sessions, spread over the backends, each called
// through both proxies and staying on its backend.
func (f *scaling) openSessions(t *testing.T, n int) {
	f.sessions, f.perBackend = make([]*session, n), map[string]int{}
	for i := range f.sessions {
		f.sessions[i] = f.mustConnect(t, f.alt)
		f.perBackend[f.sessions[i].backend]++
	}
	for _, s := range f.sessions {
		for j := range 2 { // one call through each proxy
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := echo(ctx, s, fmt.Sprint("call ", j))
			cancel()
			if err != nil {
				t.Fatalf("session on %s: %v", s.backend, err)
			}
		}
		if now, err := f.owner(s.cs.ID()); now != s.backend {
			t.Fatalf("session moved from %s to %s (%v)", s.backend, now, err)
		}
	}
	t.Logf("sessions per backend: %v", f.perBackend)
	for _, b := range f.backends {
		if f.perBackend[b] < n/6 {
			t.Fatalf("sessions per backend %v: %s holds fewer than %d", f.perBackend, b, n/6)
		}
	}
}

func TestTwoProxyProcessesThreeBackendsAndRedis(t *testing.T) {
	f := startScaling(t)
	f.openSessions(t, 200)
	// outer owns what outlives a subtest: new sessions, the restarted
	// Redis and proxy.
	outer := t
	t.Run("a backend killed mid-run", func(t *testing.T) { f.killBackendMidRun(outer, t) })
	t.Run("Redis stopped and started again", func(t *testing.T) { f.stopAndStartRedis(outer, t) })
	t.Run("a proxy restarted under steady load", func(t *testing.T) { f.restartProxyUnderLoad(outer, t) })
}

// killBackendMidRun kills a backend under steady calls: its sessions get
// "session not found" and re-initialize elsewhere, no call hangs, other
// sessions go on.
func (f *scaling) killBackendMidRun(outer, t *testing.T) {
	killed := f.backends[0]
	var calls, failedElsewhere, reinitialized atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i = (i + 8) % len(f.sessions) {
				select {
				case <-stop:
					return
				default:
				}
				s := f.sessions[i]
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := echo(ctx, s, "steady")
				timedOut := ctx.Err() != nil
				cancel()
				calls.Add(1)
				switch {
				case timedOut:
					t.Errorf("a call of a session on %s hung: %v", s.backend, err)
				case err == nil:
				case s.backend != killed:
					failedElsewhere.Add(1)
					t.Errorf("a session on %s, which is up, failed: %v", s.backend, err)
				default:
					// Its backend is gone: the client starts again, elsewhere.
					if !errors.Is(err, mcp.ErrSessionMissing) && !errors.Is(err, mcp.ErrConnectionClosed) {
						t.Logf("call on the killed backend: %v", err)
					}
					// Until every proxy has seen the backend go (its probe
					// runs each second), a new session may be sent there
					// and get 503 with Retry-After: 1; the client retries.
					again, err := f.connect(outer, f.alt)
					for try := 0; err != nil && strings.Contains(err.Error(), "Service Unavailable") && try < 3; try++ {
						time.Sleep(time.Second)
						again, err = f.connect(outer, f.alt)
					}
					if err != nil {
						t.Errorf("re-initializing after the backend was killed: %v", err)
						return
					}
					f.sessions[i] = again
					reinitialized.Add(1)
					if again.backend == killed {
						t.Errorf("a new session went to the killed backend")
					}
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	_ = f.everything[0].Signal(syscall.SIGKILL)
	// Load goes on until every session of the killed backend has met the
	// loss and started again (each call is bounded: none may hang).
	for deadline := time.Now().Add(60 * time.Second); reinitialized.Load() < int64(f.perBackend[killed]); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("after 60 s of load only %d of %d sessions of the killed backend re-initialized", reinitialized.Load(), f.perBackend[killed])
			break
		}
	}
	time.Sleep(500 * time.Millisecond) // and a little more for everyone
	close(stop)
	wg.Wait()
	t.Logf("%d calls; %d sessions re-initialized after their backend was killed; %d failures elsewhere",
		calls.Load(), reinitialized.Load(), failedElsewhere.Load())
	if want := int64(f.perBackend[killed]); reinitialized.Load() != want {
		t.Errorf("%d sessions re-initialized, want the %d that lived on the killed backend", reinitialized.Load(), want)
	}
	for _, s := range f.sessions {
		if s.backend == killed {
			t.Errorf("a session is still bound to the killed backend")
			break
		}
	}
}

// stopAndStartRedis stops Redis (the proxies degrade, and keep routing the
// sessions they know) and starts it again, empty (they recover and write
// the table back).
func (f *scaling) stopAndStartRedis(outer, t *testing.T) {
	// A replica routes, without Redis, the sessions it has seen: let
	// both see these (calls alternate between the proxies).
	for i, s := range f.sessions[:20] {
		for range 2 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := echo(ctx, s, "before"); err != nil {
				t.Fatalf("session %d: %v", i, err)
			}
			cancel()
		}
	}
	f.rds.Stop()
	downAt := time.Now()
	for i, s := range f.sessions[:20] {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := echo(ctx, s, "redis down"); err != nil {
			t.Errorf("session %d with Redis down: %v", i, err)
		}
		cancel()
	}
	for _, p := range f.proxies {
		if got := proxytest.Health(t, "http://"+p); got != "degraded" {
			t.Errorf("proxy %s health %q with Redis down, want degraded", p, got)
		}
	}
	t.Logf("20 calls with Redis down took %s", time.Since(downAt).Round(time.Millisecond))
	proxytest.StartRedis(outer, f.rds.Addr) // empty: no persistence
	backAt := time.Now()
	// go-redis redials about once a second: traffic goes on throughout,
	// and each replica says healthy again once a Redis call succeeds.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		for i, s := range f.sessions[:20] {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := echo(ctx, s, "redis back"); err != nil {
				t.Errorf("session %d while Redis came back: %v", i, err)
			}
			cancel()
		}
		if proxytest.Health(t, "http://"+f.proxies[0]) == "healthy" && proxytest.Health(t, "http://"+f.proxies[1]) == "healthy" {
			t.Logf("both proxies healthy %s after Redis came back", time.Since(backAt).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the proxies did not recover within 10 s of Redis coming back")
		}
	}
	// The replicas refilled the table from their own copies, sessions
	// that saw no call since included.
	for _, s := range f.sessions {
		if got, err := f.owner(s.cs.ID()); got != s.backend {
			t.Errorf("after Redis came back the table says %q (%v), want %s", got, err, s.backend)
			break
		}
	}
}

// restartProxyUnderLoad sends SIGTERM to one proxy behind a balancer that
// follows readiness, under steady calls: none fails.
func (f *scaling) restartProxyUnderLoad(outer, t *testing.T) {
	lb := &proxytest.Balancer{}
	lb.Set("http://"+f.proxies[0], "http://"+f.proxies[1])
	stopProbe := make(chan struct{})
	go lb.Probe(stopProbe)
	t.Cleanup(func() { close(stopProbe) })
	front := httptest.NewServer(lb)
	t.Cleanup(front.Close)
	time.Sleep(150 * time.Millisecond) // both probed ready
	viaLB := &cluster{proxies: []string{front.Listener.Addr().String()}, redis: f.redis}
	steady := make([]*session, 8)
	for i := range steady {
		s, err := viaLB.connectRetrying(t, http.DefaultTransport, 0)
		if err != nil {
			t.Fatal(err)
		}
		steady[i] = s
	}
	var calls, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range steady {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if err := echo(ctx, s, "rolling"); err != nil {
					failed.Add(1)
					t.Errorf("call failed during the restart: %v", err)
				}
				cancel()
				calls.Add(1)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	_ = f.proxyProcs[0].cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.proxyProcs[0].done:
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy did not exit within its drain timeout after SIGTERM")
	}
	if code := f.proxyProcs[0].cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the drained proxy exited with %d, want 0", code)
	}
	startProxyProcess(outer, f.proxies[0], f.backendURLs, f.rds.Addr)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d calls, %d failed, while a proxy process drained, exited and came back", calls.Load(), failed.Load())
	if calls.Load() < 20 {
		t.Errorf("only %d calls under steady load", calls.Load())
	}
}
