//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/naming"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
)

// Under a burst of tool calls, a stdio server's shared bucket (kept in
// Redis) lets maxTokens through and answers the rest 429 with Retry-After
// and a JSON-RPC error; after that wait, calls go through again.
func TestRateLimitingUnderLoadRecovers(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	redisAddr := startHostRedis(t)
	n.mustApply(manifest("limited", "stdio") + `  sessionStorage:
    provider: redis
    address: ` + redisAddr + `
    keyPrefix: limited
  rateLimiting:
    shared:
      maxTokens: 5
      refillPeriod: 20s
`)
	n.waitReady("limited")
	base := n.portForward("service/"+naming.ProxyServiceName("limited"), 8080)
	s, err := openRawSession(base+"/mcp", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	const burst = 20
	var mu sync.Mutex
	var ok, limited int
	var retryAfter, body string
	var wg sync.WaitGroup
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := s.post(map[string]any{"jsonrpc": "2.0", "id": 1000 + i, "method": "tools/call",
				"params": map[string]any{"name": "echo", "arguments": map[string]any{"text": "hi"}}})
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			switch resp.StatusCode {
			case http.StatusOK:
				ok++
			case http.StatusTooManyRequests:
				limited++
				retryAfter, body = resp.Header.Get("Retry-After"), string(b)
			default:
				t.Errorf("call %d: HTTP %d: %s", i, resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	if ok != 5 || limited != burst-5 {
		t.Fatalf("of %d calls at once, %d went through and %d were limited; want 5 and %d", burst, ok, limited, burst-5)
	}
	wait, err := strconv.Atoi(retryAfter)
	if err != nil || wait < 1 || wait > 20 {
		t.Errorf("Retry-After %q: want whole seconds within the refill period", retryAfter)
	}
	if !strings.Contains(body, `"error"`) || !strings.Contains(body, "rate limit") {
		t.Errorf("429 body is no JSON-RPC error saying rate limit: %s", body)
	}
	time.Sleep(time.Duration(wait)*time.Second + 500*time.Millisecond)
	if text, rpcErr, err := s.callTool("echo", map[string]any{"text": "again"}); err != nil || rpcErr != "" || !strings.Contains(text, "again") {
		t.Errorf("after Retry-After the call is still refused: %q %q %v", text, rpcErr, err)
	}
}

// The proxy pods of an HTTP server share their sessions through a Redis
// that speaks TLS only, verifying it against the CA in a Secret.
func TestSessionStorageOverTLS(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	addr := proxytest.FreeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	rds, caFile := proxytest.StartRedisTLSAt(t, podGateway+":"+port)
	n.must("create", "secret", "generic", "redis-ca", "--from-file=ca.crt="+caFile)
	n.mustApply(manifest("tlsredis", "streamable-http") + fmt.Sprintf(`  replicas: 2
  sessionStorage:
    provider: redis
    address: %s
    keyPrefix: tlsredis
    tls:
      caCertSecretRef: {name: redis-ca, key: ca.crt}
`, rds.Addr))
	n.waitReady("tlsredis")
	base := n.portForward("service/"+naming.ProxyServiceName("tlsredis"), 8080)
	s, err := openRawSession(base+"/mcp", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if text, rpcErr, err := s.callTool("echo", map[string]any{"text": "over tls"}); err != nil || rpcErr != "" || !strings.Contains(text, "over tls") {
		t.Errorf("call through Redis over TLS: %q %q %v", text, rpcErr, err)
	}
	if h := healthBody(base); !strings.Contains(h, `"sessionStorage":"ok"`) {
		t.Errorf("/health after a routed call: %s", h)
	}
	// The session's route is in Redis, written over TLS.
	host, port, _ := net.SplitHostPort(rds.Addr)
	keys, err := command("", "redis-cli", "--tls", "--cacert", caFile, "-h", host, "-p", port, "--scan", "--pattern", "tlsredis*")
	if err != nil || !strings.Contains(keys, "tlsredis") {
		t.Errorf("redis-cli --tls --scan tlsredis*: %v\n%s", err, keys)
	}
}

// healthBody is the proxy's /health answer, or the error.
func healthBody(base string) string {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/health")
	if err != nil {
		return err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
