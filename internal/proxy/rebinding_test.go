package proxy_test

import (
	"net/http"
	"strings"
	"testing"
)

// A proxy on a loopback address answers only requests that name a loopback
// host on its MCP endpoints (DNS rebinding); probes answer any Host.
func TestLoopbackProxyRefusesForeignHostsOnMCPEndpoints(t *testing.T) {
	r := startProxy(t)
	addr := strings.TrimPrefix(r.base, "http://")
	_, port, _ := strings.Cut(addr, ":")
	for _, c := range []struct {
		path, host string
		want       int
	}{
		{"/mcp", "evil.example.com", http.StatusForbidden},
		{"/mcp", "evil.example.com:" + port, http.StatusForbidden},
		{"/sse", "evil.example.com", http.StatusForbidden},
		{"/mcp", "localhost:" + port, http.StatusBadRequest}, // reaches the endpoint: a GET without a session
		{"/mcp", "127.0.0.1:" + port, http.StatusBadRequest},
		{"/mcp", "[::1]:" + port, http.StatusBadRequest},
		{"/health", "evil.example.com", http.StatusOK},
		{"/metrics", "evil.example.com", http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, r.base+c.path, nil)
		req.Host = c.host
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s with Host %s: %d, want %d", c.path, c.host, resp.StatusCode, c.want)
		}
	}
}
