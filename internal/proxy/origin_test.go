package proxy_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
)

// Guards the Origin check the MCP spec asks of a server: without it any
// web page a user opened could drive the proxy through the browser.
// Non-browser clients send no Origin; probes and metrics ignore it.
func TestOnlyTheProxysOwnAndListedOriginsReachTheMCPEndpoints(t *testing.T) {
	listed := startProxy(t, func(o *proxy.Options) { o.AllowedOrigins = []string{"https://app.example", "https://Team.Example/"} })
	open := startProxy(t, func(o *proxy.Options) { o.AllowedOrigins = []string{"*"} })
	self := listed.base // http://127.0.0.1:port
	for _, tt := range []struct {
		name, path, host, origin string
		proxy                    *running
		want                     int
	}{
		{"no Origin is allowed", "/mcp", "", "", listed, http.StatusOK},
		{"the proxy's own origin is allowed", "/mcp", "", self, listed, http.StatusOK},
		{"its own host behind TLS ended in front is allowed", "/mcp", "localhost", "https://localhost", listed, http.StatusOK},
		{"its own host on another port is refused", "/mcp", "", "http://127.0.0.1:1", listed, http.StatusForbidden},
		{"a foreign origin is refused", "/mcp", "", "https://evil.example", listed, http.StatusForbidden},
		{"a foreign origin is refused on /sse too", "/sse", "", "https://evil.example", listed, http.StatusForbidden},
		{"an opaque origin is refused", "/mcp", "", "null", listed, http.StatusForbidden},
		{"a listed origin is allowed", "/mcp", "", "https://app.example", listed, http.StatusOK},
		{"an origin listed with a trailing slash is allowed", "/mcp", "", "https://team.example", listed, http.StatusOK},
		{"* allows any origin", "/mcp", "", "https://evil.example", open, http.StatusOK},
		{"/health ignores Origin", "/health", "", "https://evil.example", listed, http.StatusOK},
		{"/metrics ignores Origin", "/metrics", "", "https://evil.example", listed, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method, body := http.MethodGet, ""
			if tt.path == "/mcp" {
				method, body = http.MethodPost, initBody
			}
			req, _ := http.NewRequest(method, tt.proxy.base+tt.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if tt.host != "" {
				req.Host = tt.host
			}
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			if resp.StatusCode != tt.want {
				t.Fatalf("%s %s with Origin %q: %d, want %d", method, tt.path, tt.origin, resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusForbidden {
				got, _ := io.ReadAll(resp.Body)
				if _, msg := rpcError(t, got); !strings.Contains(msg, "--allowed-origins") {
					t.Errorf("refusal %q does not name --allowed-origins", msg)
				}
			}
		})
	}
}
