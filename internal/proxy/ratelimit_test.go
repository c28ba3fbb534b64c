package proxy_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func withRateLimit(redisAddr string, rl proxyconfig.RateLimit) func(*proxy.Options) {
	return func(o *proxy.Options) {
		o.RedisAddress, o.RedisKeyPrefix, o.RateLimit = redisAddr, "test:", &rl
	}
}

func tokens(n int32, period time.Duration) *proxyconfig.Bucket {
	return &proxyconfig.Bucket{MaxTokens: n, RefillPeriod: proxyconfig.Duration(period)}
}

// callTool calls tool in session through the proxy at base and returns
// the HTTP status, the Retry-After header and the body.
func callTool(t *testing.T, base, session, tool string) (int, string, []byte) {
	t.Helper()
	resp := post(t, base+"/mcp", session, "application/json", `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"`+tool+`","arguments":{"text":"hi"}}}`)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), body
}

func TestTheSharedBucketRefusesWith429AndRetryAfterThenAdmitsAfterTheRefill(t *testing.T) {
	rds := proxytest.StartRedis(t, "")
	p := startProxy(t, withRateLimit(rds.Addr, proxyconfig.RateLimit{Shared: tokens(2, 2*time.Second)}))
	session := initialize(t, p)
	for i := range 2 {
		if code, _, body := callTool(t, p.base, session, "echo"); code != http.StatusOK {
			t.Fatalf("call %d: %d %s", i+1, code, body)
		}
	}
	// tools/list does not count.
	if resp := post(t, p.base+"/mcp", session, "application/json", `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("tools/list with the bucket empty: %d", resp.StatusCode)
	}
	code, retry, body := callTool(t, p.base, session, "echo")
	if code != http.StatusTooManyRequests || retry != "1" {
		t.Fatalf("3rd call: %d, Retry-After %q, want 429 and 1", code, retry)
	}
	var answer struct {
		ID json.RawMessage `json:"id"`
	}
	_ = json.Unmarshal(body, &answer)
	rpcCode, msg := rpcError(t, body)
	if string(answer.ID) != "9" || rpcCode != 429 || msg != "rate limit exceeded for this server: retry after 1s" {
		t.Errorf("3rd call answered id %s, code %d, %q", answer.ID, rpcCode, msg)
	}
	if m := metricsText(t, p.base); !strings.Contains(m, `switchboard_proxy_rate_limited_total{scope="shared"} 1`) {
		t.Errorf("the refusal is not counted:\n%s", lineOf(m, "switchboard_proxy_rate_limited_total", ""))
	}
	secs, _ := strconv.Atoi(retry)
	time.Sleep(time.Duration(secs) * time.Second)
	if code, _, body := callTool(t, p.base, session, "echo"); code != http.StatusOK {
		t.Fatalf("call after Retry-After: %d %s", code, body)
	}
}

func TestTwoProxiesSharingRedisShareTheBucket(t *testing.T) {
	rds := proxytest.StartRedis(t, "")
	limit := withRateLimit(rds.Addr, proxyconfig.RateLimit{Shared: tokens(3, time.Hour)})
	proxies := []*running{startProxy(t, limit), startProxy(t, limit)}
	sessions := []string{initialize(t, proxies[0]), initialize(t, proxies[1])}
	for i := range 3 {
		if code, _, body := callTool(t, proxies[i%2].base, sessions[i%2], "echo"); code != http.StatusOK {
			t.Fatalf("call %d: %d %s", i+1, code, body)
		}
	}
	for i, p := range proxies {
		if code, _, _ := callTool(t, p.base, sessions[i], "echo"); code != http.StatusTooManyRequests {
			t.Errorf("proxy %d let a 4th call of a 3-token bucket through: %d", i, code)
		}
	}
}

func TestAToolsBucketLimitsThatToolAndSparesTheSharedBucket(t *testing.T) {
	rds := proxytest.StartRedis(t, "")
	p := startProxy(t, withRateLimit(rds.Addr, proxyconfig.RateLimit{Shared: tokens(3, time.Hour),
		Tools: []proxyconfig.ToolRateLimit{{Name: "echo", Shared: tokens(1, time.Hour)}}}))
	session := initialize(t, p)
	if code, _, body := callTool(t, p.base, session, "echo"); code != http.StatusOK {
		t.Fatalf("first echo: %d %s", code, body)
	}
	for range 3 {
		code, _, body := callTool(t, p.base, session, "echo")
		if _, msg := rpcError(t, body); code != http.StatusTooManyRequests || !strings.Contains(msg, "for tool echo:") {
			t.Fatalf("second echo: %d %q, want 429 by echo's bucket", code, msg)
		}
	}
	for i := range 2 { // the refused echoes took nothing from the shared bucket
		if code, _, body := callTool(t, p.base, session, "whoami"); code != http.StatusOK {
			t.Fatalf("whoami %d: %d %s", i+1, code, body)
		}
	}
	if code, _, _ := callTool(t, p.base, session, "whoami"); code != http.StatusTooManyRequests {
		t.Fatalf("a 4th call of a 3-token shared bucket: %d", code)
	}
}

func TestRateLimitWithoutRedisDoesNotStart(t *testing.T) {
	o := proxy.Options{Config: proxyconfig.Config{Transport: "stdio", BindAddress: "127.0.0.1",
		RateLimit: &proxyconfig.RateLimit{Shared: tokens(1, time.Minute)}}}
	_, err := proxy.New(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "--rate-limit") || !strings.Contains(err.Error(), "--redis-address") {
		t.Fatalf("want an error naming --rate-limit and --redis-address, got %v", err)
	}
}

func TestPerUserBucketsAreIndependentPerCallerOnEveryBackend(t *testing.T) {
	p := issuer(t)
	rds := proxytest.StartRedis(t, "")
	for _, tc := range []struct {
		name    string
		backend func(*proxy.Options)
	}{
		{"stdio", func(*proxy.Options) {}},
		{"streamable-http", func(o *proxy.Options) {
			o.Transport, o.BackendURL, o.BackendCommand = "streamable-http", httpServer(t, "streamable-http", false), nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "access.json")
			writeAccess(t, file, proxyconfig.Access{OIDC: oidcFor(p)})
			r := startProxy(t, tc.backend, func(o *proxy.Options) { o.AccessFile = file; o.Server = tc.name },
				withRateLimit(rds.Addr, proxyconfig.RateLimit{PerUser: tokens(2, time.Hour)}))
			call := func(client string) int {
				tok := token(t, p, client)
				resp := post(t, r.base+"/mcp", "", "application/json", initBody, "Authorization", "Bearer "+tok)
				session := resp.Header.Get("Mcp-Session-Id")
				resp = post(t, r.base+"/mcp", session, "application/json", `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`,
					"Authorization", "Bearer "+tok)
				return resp.StatusCode
			}
			for i := range 2 {
				if code := call("alice"); code != http.StatusOK {
					t.Fatalf("alice's call %d: %d", i+1, code)
				}
			}
			if code := call("alice"); code != http.StatusTooManyRequests {
				t.Fatalf("alice's 3rd call: %d, want 429", code)
			}
			if code := call("bob"); code != http.StatusOK {
				t.Fatalf("bob's first call after alice spent her bucket: %d", code)
			}
		})
	}
}
