package proxy_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
)

// httpServer runs the test MCP server over HTTP on loopback.
func httpServer(t *testing.T, transport string, stateless bool) string {
	t.Helper()
	get := func(*http.Request) *mcp.Server { return mcptest.NewServer() }
	var h http.Handler = mcp.NewStreamableHTTPHandler(get, &mcp.StreamableHTTPOptions{Stateless: stateless})
	path := "/mcp"
	if transport == "sse" {
		h, path = mcp.NewSSEHandler(get, nil), "/sse"
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + path
}

func sseClient(t *testing.T, endpoint string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "switchboard-test", Version: "1"}, nil)
	// The SSE client's stream lives as long as the Connect context.
	cs, err := c.Connect(context.Background(), &mcp.SSEClientTransport{Endpoint: endpoint}, nil)
	if err != nil {
		t.Fatalf("connect over SSE: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func TestStreamableHTTPBackendInEveryEra(t *testing.T) {
	for _, era := range eras {
		t.Run(era, func(t *testing.T) {
			// The Go SDK's handler speaks 2026-07-28 only when stateless.
			backend := httpServer(t, "streamable-http", era == "2026-07-28")
			r := startProxy(t, func(o *proxy.Options) { o.Transport, o.BackendURL = "streamable-http", backend })
			var progress atomic.Int32
			cs := connect(t, r, era, &mcp.ClientOptions{
				ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) { progress.Add(1) },
			})
			if got := callText(t, cs, "echo", map[string]any{"text": "through"}); got != "through" {
				t.Errorf("echo = %q", got)
			}
			params := &mcp.CallToolParams{Name: "progress", Arguments: map[string]any{"steps": 3}}
			params.SetProgressToken("p")
			if _, err := cs.CallTool(context.Background(), params); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(2 * time.Second); progress.Load() != 3 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			if n := progress.Load(); n != 3 {
				t.Errorf("%d progress notifications through the proxy, want 3", n)
			}
		})
	}
}

func TestSSEBackendThroughTheProxy(t *testing.T) {
	backend := httpServer(t, "sse", false)
	r := startProxy(t, func(o *proxy.Options) { o.Transport, o.ProxyMode, o.BackendURL = "sse", "sse", backend })
	cs := sseClient(t, r.base+"/sse")
	if got := callText(t, cs, "add", map[string]any{"a": 1, "b": 2}); got != "3" {
		t.Errorf("add = %q", got)
	}
}

func TestStdioServerOfferedOverLegacySSE(t *testing.T) {
	r := startProxy(t, func(o *proxy.Options) { o.ProxyMode = "sse" })
	cs := sseClient(t, r.base+"/sse")
	if got := callText(t, cs, "echo", map[string]any{"text": "legacy"}); got != "legacy" {
		t.Errorf("echo = %q", got)
	}
}

// firstEvent reads the endpoint event an SSE stream starts with.
func firstEvent(t *testing.T, url string, header ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			return data
		}
	}
	t.Fatal("no endpoint event")
	return ""
}

func TestAdvertisedEndpointHonoursPrefixAndTrustedHeaders(t *testing.T) {
	for _, kind := range []string{"stdio", "sse"} {
		t.Run(kind, func(t *testing.T) {
			tweak := func(o *proxy.Options) { o.ProxyMode, o.EndpointPrefix = "sse", "/osv" }
			if kind == "sse" {
				backend := httpServer(t, "sse", false)
				tweak = func(o *proxy.Options) {
					o.Transport, o.ProxyMode, o.BackendURL, o.EndpointPrefix = "sse", "sse", backend, "/osv"
				}
			}
			plain := startProxy(t, tweak)
			if got := firstEvent(t, plain.base+"/sse", "X-Forwarded-Prefix", "/evil"); !strings.HasPrefix(got, "/osv/messages?") {
				t.Errorf("endpoint %q: want /osv/messages?… (untrusted X-Forwarded-Prefix ignored)", got)
			}
			trusting := startProxy(t, tweak, func(o *proxy.Options) { o.TrustProxyHeaders = true })
			if got := firstEvent(t, trusting.base+"/sse", "X-Forwarded-Prefix", "/team-a/osv"); !strings.HasPrefix(got, "/team-a/osv/messages?") {
				t.Errorf("endpoint %q: want the trusted X-Forwarded-Prefix", got)
			}
		})
	}
}

func TestUnreachableHTTPBackendIsUnhealthyAndAnswers503(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL + "/mcp"
	dead.Close()
	r := startProxyUnready(t, func(o *proxy.Options) { o.Transport, o.BackendURL = "streamable-http", url })
	r.waitHealth(t, http.StatusServiceUnavailable)
	resp := post(t, r.base+"/mcp", "", "application/json", initBody)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("initialize with the backend down: %d (Retry-After %q), want 503 with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// A pod that drops the connection before it answers (it is going away):
// a request starting a session gets 503 with Retry-After, so the client
// tries again, rather than a 502 it would give up on.
func TestABackendDroppingTheConnectionAsks503AndRetry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Read(make([]byte, 4096)) // the request, then nothing
			_ = c.Close()
		}
	}()
	r := startProxyUnready(t, func(o *proxy.Options) {
		o.Transport, o.BackendURL = "streamable-http", "http://"+l.Addr().String()+"/mcp"
	})
	resp := post(t, r.base+"/mcp", "", "application/json", initBody)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("initialize to a backend that drops the connection: %d (Retry-After %q), want 503 with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// Guards the relay's answers to what is not JSON-RPC: it passed any bytes
// on, and the backend answered in its own words (plain text, or nothing a
// client could match to its request), with no bound on a batch.
func TestTheRelayAnswersBrokenJSONRPCWithItsErrorCode(t *testing.T) {
	r := startProxy(t, func(o *proxy.Options) {
		o.Transport, o.BackendURL, o.MaxBatch = "streamable-http", httpServer(t, "streamable-http", false), 3
	})
	ping := `{"jsonrpc":"2.0","id":1,"method":"ping"}`
	for _, tt := range []struct {
		name, body string
		wantCode   int
		wantText   string
	}{
		{"malformed JSON", `{"jsonrpc":`, -32700, "malformed JSON"},
		{"an object id", `{"jsonrpc":"2.0","id":{},"method":"ping"}`, -32600, "id must be a string or a number"},
		{"a boolean id", `{"jsonrpc":"2.0","id":true,"method":"ping"}`, -32600, "id must be a string or a number"},
		{"a batch over --max-batch", "[" + strings.Repeat(ping+",", 3) + ping + "]", -32600, "the most this proxy takes is 3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, r.base+"/mcp", "", "application/json", tt.body)
			body, _ := io.ReadAll(resp.Body)
			code, msg := rpcError(t, body)
			if resp.StatusCode != http.StatusBadRequest || code != tt.wantCode || !strings.Contains(msg, tt.wantText) {
				t.Errorf("got %d %d %q, want 400 %d containing %q", resp.StatusCode, code, msg, tt.wantCode, tt.wantText)
			}
		})
	}
}
