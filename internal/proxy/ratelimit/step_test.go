package ratelimit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
	"github.com/switchboard-mcp/switchboard/internal/proxy/ratelimit"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func call(tool, subject string) *pipeline.Request {
	m := &wire.Message{JSONRPC: "2.0", ID: json.RawMessage("7"), Method: "tools/call", Params: json.RawMessage(`{"name":"` + tool + `"}`)}
	return &pipeline.Request{Msg: m, Sent: m, Caller: &pipeline.Caller{Subject: subject}}
}

func TestARefusalIs429WithRetryAfterNamingTheBucket(t *testing.T) {
	l := limiters(t, &proxyconfig.RateLimit{Tools: []proxyconfig.ToolRateLimit{{Name: "echo", PerUser: bucket(1, 5*time.Second)}}}, 1)[0]
	metrics := ratelimit.NewMetrics(prometheus.NewRegistry())
	step := l.Step(metrics)
	if ref := step(context.Background(), call("echo", "alice")); ref != nil {
		t.Fatalf("first call refused: %+v", ref.Err)
	}
	ref := step(context.Background(), call("echo", "alice"))
	if ref == nil {
		t.Fatal("second call allowed")
	}
	if ref.Status != http.StatusTooManyRequests || ref.Err.Code != ratelimit.CodeRateLimited || ref.RetryAfter <= 4*time.Second {
		t.Errorf("refusal %d %d after %s, want 429 429 after about 5s", ref.Status, ref.Err.Code, ref.RetryAfter)
	}
	if want := "rate limit exceeded for tool echo (per user): retry after 5s"; ref.Err.Message != want {
		t.Errorf("message %q, want %q", ref.Err.Message, want)
	}
	if got := testutil.ToFloat64(metrics.Refused.WithLabelValues(ratelimit.ScopeToolPerUser)); got != 1 {
		t.Errorf("refusals counted %v, want 1", got)
	}
}

func TestOnlyToolCallRequestsCount(t *testing.T) {
	l := limiters(t, &proxyconfig.RateLimit{Shared: bucket(1, time.Hour)}, 1)[0]
	step := l.Step(nil)
	for _, m := range []*wire.Message{
		{JSONRPC: "2.0", ID: json.RawMessage("1"), Method: "tools/list"},
		{JSONRPC: "2.0", Method: "notifications/initialized"},
		{JSONRPC: "2.0", ID: json.RawMessage("2"), Result: json.RawMessage("{}")},
	} {
		for range 3 {
			if ref := step(context.Background(), &pipeline.Request{Msg: m, Sent: m}); ref != nil {
				t.Fatalf("%s refused: %s", m.Method, ref.Err.Message)
			}
		}
	}
	if ref := step(context.Background(), call("echo", "")); ref != nil {
		t.Fatalf("the first tools/call was refused: %s", ref.Err.Message)
	}
}

// A tool renamed by curation is limited by the name the client called.
func TestAToolIsLimitedByTheNameTheClientCalled(t *testing.T) {
	l := limiters(t, &proxyconfig.RateLimit{Tools: []proxyconfig.ToolRateLimit{{Name: "say", Shared: bucket(1, time.Hour)}}}, 1)[0]
	step := l.Step(nil)
	renamed := func() *pipeline.Request {
		r := call("say", "")
		r.Msg = &wire.Message{JSONRPC: "2.0", ID: r.Sent.ID, Method: "tools/call", Params: json.RawMessage(`{"name":"echo"}`)}
		return r
	}
	if ref := step(context.Background(), renamed()); ref != nil {
		t.Fatalf("first call refused: %s", ref.Err.Message)
	}
	if ref := step(context.Background(), renamed()); ref == nil {
		t.Fatal("the second call of say (echo on the server) passed its 1-token bucket")
	}
}

func TestCallsPassWhileRedisIsDownAndTheOutageIsLoggedOnce(t *testing.T) {
	r := proxytest.StartRedis(t, "")
	client := redis.NewClient(&redis.Options{Addr: r.Addr, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	var log bytes.Buffer
	l := ratelimit.New(client, &proxyconfig.RateLimit{Shared: bucket(1, time.Hour)}, "test:", "osv", slog.New(slog.NewTextHandler(&log, nil)))
	metrics := ratelimit.NewMetrics(prometheus.NewRegistry())
	step := l.Step(metrics)
	step(context.Background(), call("echo", ""))
	r.Stop()
	for i := range 5 {
		if ref := step(context.Background(), call("echo", "")); ref != nil {
			t.Fatalf("call %d refused with Redis down: %s", i, ref.Err.Message)
		}
	}
	if got := testutil.ToFloat64(metrics.Unchecked); got != 5 {
		t.Errorf("unchecked calls counted %v, want 5", got)
	}
	if n := strings.Count(log.String(), "unreachable"); n != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", n, log.String())
	}
}
