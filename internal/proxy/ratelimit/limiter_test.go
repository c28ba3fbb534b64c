package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
	"github.com/switchboard-mcp/switchboard/internal/proxy/ratelimit"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func bucket(tokens int32, period time.Duration) *proxyconfig.Bucket {
	return &proxyconfig.Bucket{MaxTokens: tokens, RefillPeriod: proxyconfig.Duration(period)}
}

// limiters are n limiters of one server under cfg, as n proxy replicas
// sharing one Redis would have them.
func limiters(t testing.TB, cfg *proxyconfig.RateLimit, n int) []*ratelimit.Limiter {
	t.Helper()
	r := proxytest.StartRedis(t, "")
	var out []*ratelimit.Limiter
	for range n {
		client := redis.NewClient(&redis.Options{Addr: r.Addr})
		t.Cleanup(func() { _ = client.Close() })
		out = append(out, ratelimit.New(client, cfg, "test:", "osv", nil))
	}
	return out
}

// allow is the decision on one call, failing the test when Redis errs.
func allow(t testing.TB, l *ratelimit.Limiter, tool, subject string) ratelimit.Decision {
	t.Helper()
	d, err := l.Allow(context.Background(), tool, subject)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestTheSharedBucketRefusesTheCallAfterItsTokensAndAdmitsAfterTheRefill(t *testing.T) {
	l := limiters(t, &proxyconfig.RateLimit{Shared: bucket(3, 600*time.Millisecond)}, 1)[0]
	for i := range 3 {
		if d := allow(t, l, "echo", ""); !d.Allowed {
			t.Fatalf("call %d refused: %+v", i+1, d)
		}
	}
	d := allow(t, l, "echo", "")
	if d.Allowed || d.Scope != ratelimit.ScopeShared || d.RetryAfter <= 0 || d.RetryAfter > 200*time.Millisecond {
		t.Fatalf("4th call: %+v, want refused by the shared bucket, a token back within 200ms", d)
	}
	time.Sleep(d.RetryAfter)
	if d := allow(t, l, "echo", ""); !d.Allowed {
		t.Fatalf("call after the refill refused: %+v", d)
	}
}

func TestReplicasSharingRedisShareTheBucket(t *testing.T) {
	ls := limiters(t, &proxyconfig.RateLimit{Shared: bucket(4, time.Hour)}, 2)
	for i := range 4 {
		if d := allow(t, ls[i%2], "echo", ""); !d.Allowed {
			t.Fatalf("call %d refused", i+1)
		}
	}
	for i, l := range ls {
		if d := allow(t, l, "echo", ""); d.Allowed {
			t.Errorf("replica %d allowed a 5th call of a 4-token bucket", i)
		}
	}
}

func TestPerUserBucketsAreIndependentPerSubject(t *testing.T) {
	l := limiters(t, &proxyconfig.RateLimit{PerUser: bucket(2, time.Hour)}, 1)[0]
	for range 2 {
		allow(t, l, "echo", "alice")
	}
	if d := allow(t, l, "echo", "alice"); d.Allowed || d.Scope != ratelimit.ScopePerUser {
		t.Fatalf("alice's 3rd call: %+v, want refused per user", d)
	}
	if d := allow(t, l, "echo", "bob"); !d.Allowed {
		t.Fatalf("bob refused after alice spent her bucket: %+v", d)
	}
	// Unauthenticated calls have no user bucket to spend.
	for range 5 {
		if d := allow(t, l, "echo", ""); !d.Allowed {
			t.Fatalf("an unauthenticated call refused by a per-user bucket: %+v", d)
		}
	}
}

func TestAToolBucketAppliesToThatToolOnly(t *testing.T) {
	l := limiters(t, &proxyconfig.RateLimit{Tools: []proxyconfig.ToolRateLimit{
		{Name: "echo", Shared: bucket(1, time.Hour)},
		{Name: "add", PerUser: bucket(1, time.Hour)},
	}}, 1)[0]
	allow(t, l, "echo", "")
	if d := allow(t, l, "echo", ""); d.Allowed || d.Scope != ratelimit.ScopeTool || d.Tool != "echo" {
		t.Fatalf("2nd echo: %+v, want refused by echo's bucket", d)
	}
	for range 3 {
		if d := allow(t, l, "whoami", ""); !d.Allowed {
			t.Fatalf("whoami refused by echo's bucket: %+v", d)
		}
	}
	allow(t, l, "add", "alice")
	if d := allow(t, l, "add", "alice"); d.Allowed || d.Scope != ratelimit.ScopeToolPerUser {
		t.Fatalf("alice's 2nd add: %+v, want refused by add's per-user bucket", d)
	}
	if d := allow(t, l, "add", "bob"); !d.Allowed {
		t.Fatalf("bob's add refused: %+v", d)
	}
}

// Guards the atomicity of the buckets: a call refused by one bucket takes
// no token from the others.
func TestACallRefusedByItsToolDoesNotSpendTheServersBucket(t *testing.T) {
	l := limiters(t, &proxyconfig.RateLimit{Shared: bucket(3, time.Hour), Tools: []proxyconfig.ToolRateLimit{{Name: "echo", Shared: bucket(1, time.Hour)}}}, 1)[0]
	allow(t, l, "echo", "") // shared 2 left, echo 0
	for range 5 {
		if d := allow(t, l, "echo", ""); d.Allowed || d.Scope != ratelimit.ScopeTool {
			t.Fatalf("echo: %+v, want refused by its tool bucket", d)
		}
	}
	for i := range 2 {
		if d := allow(t, l, "add", ""); !d.Allowed {
			t.Fatalf("add %d refused: the refused echo calls spent the shared bucket (%+v)", i+1, d)
		}
	}
	if d := allow(t, l, "add", ""); d.Allowed || d.Scope != ratelimit.ScopeShared {
		t.Fatalf("4th call: %+v, want refused by the shared bucket", d)
	}
}

func BenchmarkRateLimit(b *testing.B) {
	l := limiters(b, &proxyconfig.RateLimit{Shared: bucket(1<<30, time.Hour), PerUser: bucket(1<<30, time.Hour),
		Tools: []proxyconfig.ToolRateLimit{{Name: "echo", Shared: bucket(1<<30, time.Hour), PerUser: bucket(1<<30, time.Hour)}}}, 1)[0]
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if d, err := l.Allow(ctx, "echo", "alice"); err != nil || !d.Allowed {
			b.Fatalf("%+v %v", d, err)
		}
	}
}
