package proxy_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func TestMain(m *testing.M) {
	mcptest.MaybeServe()
	os.Exit(m.Run())
}

// running is a proxy in front of the mcptest stdio server.
type running struct {
	base  string // http://127.0.0.1:port
	stop  context.CancelFunc
	done  chan error
	proxy *proxy.Server
}

func startProxy(t *testing.T, tweak ...func(*proxy.Options)) *running {
	t.Helper()
	r := startProxyUnready(t, tweak...)
	r.waitHealth(t, http.StatusOK)
	return r
}

// startProxyUnready starts a proxy without waiting for its backend.
func startProxyUnready(t *testing.T, tweak ...func(*proxy.Options)) *running {
	t.Helper()
	o := proxy.Options{
		Config: proxyconfig.Config{Transport: "stdio", ProxyMode: "streamable-http", DrainTimeout: 5 * time.Second,
			BindAddress: "127.0.0.1",
			Limits:      proxyconfig.Limits{MaxBodyBytes: 1 << 20, MaxSessions: 100, SessionIdleTimeout: time.Minute}},
		Local: proxyconfig.Local{BackendCommand: mcptest.Command()},
	}
	for _, f := range tweak {
		f(&o)
	}
	backendCtx, stopBackend := context.WithCancel(context.Background())
	s, err := proxy.New(backendCtx, o)
	if err != nil {
		stopBackend()
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(context.Background())
	r := &running{base: "http://" + s.Addr(), stop: stop, done: make(chan error, 1), proxy: s}
	go func() { r.done <- s.Serve(serveCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-r.done; err != nil {
			t.Errorf("proxy stopped with %v", err)
		}
		stopBackend()
	})
	return r
}

func (r *running) waitHealth(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(r.base + "/health")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health never answered %d (last: %v %v)", want, resp, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Protocol eras the proxy serves: sessionful (initialize, Mcp-Session-Id)
// and stateless (2026-07-28: no initialize, no session).
var (
	sessionful = "2025-11-25"
	eras       = []string{"2025-06-18", sessionful, "2026-07-28"}
)

// connect opens an MCP session through the proxy with the official Go SDK,
// speaking the given protocol version.
func connect(t *testing.T, r *running, version string, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "switchboard-test", Version: "1"}, opts)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: r.base + "/mcp"}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect through the proxy: %v", err)
	}
	if got := cs.InitializeResult().ProtocolVersion; got != version {
		t.Fatalf("negotiated protocol %s through the proxy, want %s", got, version)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func callText(t *testing.T, cs *mcp.ClientSession, tool string, args any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", tool, err)
	}
	if res.IsError || len(res.Content) != 1 {
		t.Fatalf("call %s: result %+v", tool, res)
	}
	tc, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("call %s: content %T", tool, res.Content[0])
	}
	return tc.Text
}

func TestGoSDKClientListsAndCallsToolsThroughTheProxy(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) { listAndCall(t, era) })
	}
}

func listAndCall(t *testing.T, era string) {
	r := startProxy(t)
	cs := connect(t, r, era, nil)
	if got := cs.InitializeResult().ServerInfo.Name; got != "mcptest" {
		t.Errorf("server name %q through the proxy, want mcptest", got)
	}
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	if fmt.Sprint(names) != "[add crash echo pid progress whoami]" {
		t.Errorf("tools %v", names)
	}
	if got := callText(t, cs, "echo", map[string]any{"text": "héllo"}); got != "héllo" {
		t.Errorf("echo = %q", got)
	}
	if got := callText(t, cs, "add", map[string]any{"a": 2, "b": 40}); got != "42" {
		t.Errorf("add = %q", got)
	}
}
