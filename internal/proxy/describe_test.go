package proxy_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// healthUntil asks /health until done accepts the answer.
func healthUntil(t *testing.T, base string, done func(code int, h proxyconfig.Health) bool) (int, proxyconfig.Health) {
	t.Helper()
	var code int
	var h proxyconfig.Health
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(base + "/health")
		if err != nil {
			continue
		}
		h = proxyconfig.Health{}
		code = resp.StatusCode
		err = json.NewDecoder(resp.Body).Decode(&h)
		_ = resp.Body.Close()
		if err == nil && done(code, h) {
			return code, h
		}
	}
	t.Fatalf("/health never answered as expected; last: %d %+v", code, h)
	return 0, h
}

func TestHealthSaysWhatTheServerIs(t *testing.T) {
	six := 6
	tests := []struct {
		name     string
		tweak    func(o *proxy.Options)
		protocol string
	}{
		{"a stdio server, after its first client initialized it", func(*proxy.Options) {}, "2025-06-18"},
		{"a streamable-http server", func(o *proxy.Options) {
			o.Transport, o.BackendURL = "streamable-http", httpServer(t, "streamable-http", false)
		}, "2025-11-25"},
		{"a stateless streamable-http server", func(o *proxy.Options) {
			o.Transport, o.BackendURL = "streamable-http", httpServer(t, "streamable-http", true)
		}, "2025-11-25"},
		{"an sse server", func(o *proxy.Options) {
			o.Transport, o.ProxyMode, o.BackendURL = "sse", "sse", httpServer(t, "sse", false)
		}, "2025-11-25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startProxy(t, func(o *proxy.Options) { o.ProbeInterval = time.Second }, tt.tweak)
			if r.proxy != nil && tt.protocol == "2025-06-18" {
				connect(t, r, "2025-06-18", nil) // the stdio server's one handshake is its first client's
			}
			code, h := healthUntil(t, r.base, func(_ int, h proxyconfig.Health) bool { return h.Server != nil && h.Server.Tools != nil })
			want := &proxyconfig.HealthServer{Name: "mcptest", Version: "1.0.0", ProtocolVersion: tt.protocol, Tools: &six}
			if diff := cmp.Diff(want, h.Server); diff != "" || code != http.StatusOK || h.Status != "healthy" {
				t.Errorf("/health %d %s (-want +got):\n%s", code, h.Status, diff)
			}
		})
	}
}

// Before any client initialized a stdio server, /health says it answered
// MCP (a ping) and nothing of what it is: the proxy leaves the server's one
// handshake to the first client, whose version and capabilities it keeps.
func TestAStdioServerNoClientInitializedAnswersMCPAndIsNotDescribed(t *testing.T) {
	r := startProxy(t)
	code, h := healthUntil(t, r.base, func(int, proxyconfig.Health) bool { return true })
	if diff := cmp.Diff(&proxyconfig.HealthServer{}, h.Server); diff != "" || code != http.StatusOK {
		t.Errorf("/health %d, server (-want +got):\n%s", code, diff)
	}
	// The first client gets the version it asks for (connect checks).
	if _, err := connect(t, r, "2025-06-18", nil).ListTools(t.Context(), nil); err != nil {
		t.Errorf("tools/list: %v", err)
	}
}

func TestATransportMismatchIsToldInWords(t *testing.T) {
	sseOnly := http.NewServeMux()
	sseOnly.Handle("/sse", mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return mcptest.NewServer() }, nil))
	sse := httptest.NewServer(sseOnly)
	t.Cleanup(sse.Close)
	tests := []struct {
		name  string
		tweak func(o *proxy.Options)
		want  string
	}{
		{"an sse server configured as streamable-http", func(o *proxy.Options) {
			o.Transport, o.BackendURL = "streamable-http", sse.URL+"/mcp"
		}, "set spec.transport: sse"},
		{"a streamable-http server configured as sse", func(o *proxy.Options) {
			o.Transport, o.ProxyMode, o.BackendURL = "sse", "sse", strings.TrimSuffix(httpServer(t, "streamable-http", false), "/mcp")+"/sse"
		}, "set spec.transport: streamable-http"},
		{"an HTTP server configured as stdio", func(o *proxy.Options) {
			o.BackendCommand = []string{"sh", "-c", "echo 'listening on :8080'; exec sleep 600"}
		}, "does not answer MCP on stdin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startProxyUnready(t, func(o *proxy.Options) { o.ProbeInterval = time.Second }, tt.tweak)
			code, h := healthUntil(t, r.base, func(_ int, h proxyconfig.Health) bool { return strings.Contains(h.Reason, tt.want) })
			if code != http.StatusServiceUnavailable || h.Status != "unhealthy" || h.Server != nil {
				t.Errorf("/health %d %+v, want 503 unhealthy without a server", code, h)
			}
			t.Log(h.Reason)
		})
	}
}

// The tool count is what clients see: the server's tools through the tool
// configuration's filter (a renamed tool counts once, by its new name).
func TestHealthCountsTheToolsClientsSee(t *testing.T) {
	file := filepath.Join(t.TempDir(), "access.json")
	writeAccess(t, file, proxyconfig.Access{Tools: &proxyconfig.Tools{
		Filter:    []string{"say", "add"},
		Overrides: map[string]proxyconfig.ToolOverride{"echo": {Name: "say"}},
	}})
	r := startProxy(t, func(o *proxy.Options) { o.AccessFile = file })
	connect(t, r, sessionful, nil)
	_, h := healthUntil(t, r.base, func(_ int, h proxyconfig.Health) bool { return h.Server != nil && h.Server.Tools != nil })
	if *h.Server.Tools != 2 {
		t.Errorf("/health counts %d tools, want 2 (say and add)", *h.Server.Tools)
	}
}
