package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
	"github.com/switchboard-mcp/switchboard/internal/proxy/redisconn"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func withRedis(addr string) func(*proxy.Options) {
	return func(o *proxy.Options) {
		o.SessionStorage, o.RedisAddress, o.RedisKeyPrefix = "redis", addr, "test:"
	}
}

// whoamiVia calls whoami in session through the proxy at base.
func whoamiVia(t *testing.T, base, session string) string {
	t.Helper()
	resp := post(t, base+"/mcp", session, "application/json", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`)
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	var msg struct {
		Result struct {
			Content []struct{ Text string } `json:"content"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(readEvent(t, resp.Body)), &msg); err != nil || len(msg.Result.Content) == 0 {
		t.Fatalf("whoami answer: %v", err)
	}
	return msg.Result.Content[0].Text
}

func TestTwoProxyReplicasRouteEverySessionToItsPodThroughRedis(t *testing.T) {
	_, _, withPods := podsOnAPIServer(t)
	redis := proxytest.StartRedis(t, "")
	// Relayed sessions count toward the cap: room for all of them.
	roomy := func(o *proxy.Options) { o.MaxSessions = 1000 }
	proxies := []*running{startProxy(t, withPods, withRedis(redis.Addr), roomy), startProxy(t, withPods, withRedis(redis.Addr), roomy)}

	const n = 200
	sessions := make([]string, n)
	owner := make([]string, n)
	perPod := map[string]int{}
	for i := range sessions {
		created, other := proxies[i%2], proxies[(i+1)%2]
		sessions[i] = initialize(t, created)
		owner[i] = whoamiVia(t, created.base, sessions[i])
		perPod[owner[i]]++
		if got := whoamiVia(t, other.base, sessions[i]); got != owner[i] {
			t.Fatalf("session %d: %s through the proxy that created it, %s through the other", i, owner[i], got)
		}
	}
	for _, ip := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		if perPod[ip] < n/4 {
			t.Errorf("sessions per pod %v: every pod should hold about a third", perPod)
			break
		}
	}

	// Redis goes away: both replicas say degraded and keep routing the
	// sessions they know; it comes back and they recover.
	redis.Stop()
	for _, p := range proxies {
		_ = whoamiVia(t, p.base, sessions[0]) // a Redis call notices the outage
	}
	for i, p := range proxies {
		if got := proxytest.Health(t, p.base); got != "degraded" {
			t.Errorf("proxy %d health %q with Redis down, want degraded", i, got)
		}
		if m := metricsText(t, p.base); !strings.Contains(m, "switchboard_proxy_session_storage_up 0") {
			t.Errorf("proxy %d metrics do not show Redis down", i)
		}
	}
	for i := 0; i < 10; i++ { // sessions created through proxy i%2
		if got := whoamiVia(t, proxies[i%2].base, sessions[i]); got != owner[i] {
			t.Errorf("with Redis down, session %d reached %q, want %s", i, got, owner[i])
		}
	}
	proxytest.StartRedis(t, redis.Addr)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		s := initialize(t, proxies[0])
		_ = whoamiVia(t, proxies[1].base, s)
		if proxytest.Health(t, proxies[0].base) == "healthy" && proxytest.Health(t, proxies[1].base) == "healthy" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the proxies did not recover after Redis came back")
		}
	}
	if body := strings.TrimSpace(proxytest.Health(t, proxies[0].base)); body != "healthy" {
		t.Errorf("health %q", body)
	}
}

func metricsText(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestSessionStorageSpeaksTLSToRedis(t *testing.T) {
	rds, caFile := proxytest.StartRedisTLS(t)
	p := startProxy(t, func(o *proxy.Options) {
		o.Transport, o.BackendURL, o.BackendCommand = "streamable-http", httpServer(t, "streamable-http", false), nil
		withRedis(rds.Addr)(o)
		o.RedisTLS = proxyconfig.RedisTLS{Enabled: true, CAFile: caFile}
	})
	session := initialize(t, p)
	if got := whoamiVia(t, p.base, session); got != "mcptest" {
		t.Fatalf("whoami %q", got)
	}
	ro, err := redisconn.Options(proxyconfig.Config{RedisAddress: rds.Addr, RedisTLS: proxyconfig.RedisTLS{Enabled: true, CAFile: caFile}})
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(ro)
	defer func() { _ = client.Close() }()
	if n, err := client.Exists(context.Background(), "test:session:"+session).Result(); err != nil || n != 1 {
		t.Errorf("session %s in Redis over TLS: %d, %v", session, n, err)
	}
	if got := proxytest.Health(t, p.base); got != "healthy" {
		t.Errorf("health %q with Redis over TLS", got)
	}
}
