package v1beta1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRateLimitingMakesAStdioProxyUseRedis(t *testing.T) {
	redis := &SessionStorage{Provider: SessionStorageRedis, Address: "redis:6379"}
	limits := &RateLimitConfig{Shared: &RateLimitBucket{MaxTokens: 5, RefillPeriod: metav1.Duration{Duration: 10}}}
	for _, tc := range []struct {
		name        string
		spec        MCPServerSpec
		connects    bool
		redisUnused bool
	}{
		{"a stdio server with Redis and no rate limits does not use it", MCPServerSpec{Transport: TransportStdio, SessionStorage: redis}, false, true},
		{"a stdio server keeps its rate-limit buckets in Redis", MCPServerSpec{Transport: TransportStdio, SessionStorage: redis, RateLimiting: limits}, true, false},
		{"an sse server routes sessions through Redis", MCPServerSpec{Transport: TransportSSE, SessionStorage: redis}, true, false},
		{"memory storage connects to no Redis", MCPServerSpec{Transport: TransportStreamableHTTP}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.spec.ConnectsToRedis(); got != tc.connects {
				t.Errorf("ConnectsToRedis() = %v, want %v", got, tc.connects)
			}
			if got := tc.spec.CheckSessionStorage().RedisUnused; got != tc.redisUnused {
				t.Errorf("CheckSessionStorage().RedisUnused = %v, want %v", got, tc.redisUnused)
			}
		})
	}
}
