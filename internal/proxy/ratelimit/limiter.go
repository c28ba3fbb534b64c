// Package ratelimit bounds the tool calls clients make (spec.rateLimiting,
// proxyconfig.RateLimit) with token buckets kept in Redis, so that every
// proxy replica draws from the same buckets.
//
// As in ToolHive, only tools/call requests count: listing, pings,
// notifications and answers pass untouched. A call takes one token from
// each bucket that applies to it (the server's shared and per-user
// buckets, its tool's, by the name the client called) in one Lua script,
// which takes from none of them when one is empty: a call refused by its
// tool's bucket has not spent the server's. Per-user buckets are keyed by
// a hash of the authenticated subject; unauthenticated calls pass them.
//
// A refused call is answered 429 with Retry-After (when the bucket that
// refused it holds a token again) and the JSON-RPC error CodeRateLimited,
// ToolHive's code.
//
// When Redis does not answer, calls pass (fail open, as in ToolHive): rate
// limiting protects the server's capacity, not who may use it, which the
// gate decides before it. The outage is logged once, and its end; during
// it Redis is asked again at most once a second, so that calls do not wait
// out a timeout each.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// Scopes of the buckets, as refusals and the metric name them.
const (
	ScopeShared      = "shared"
	ScopePerUser     = "per_user"
	ScopeTool        = "tool_shared"
	ScopeToolPerUser = "tool_per_user"
)

// bucket is one bucket that applies to a call.
type bucket struct {
	key   string
	spec  proxyconfig.Bucket
	scope string
	tool  string // "" for the server's buckets
}

// Decision is the outcome of one call's check.
type Decision struct {
	// Allowed is true when every bucket gave a token.
	Allowed bool
	// Scope and Tool name the bucket that refused.
	Scope, Tool string
	// RetryAfter is how long until that bucket holds a token again.
	RetryAfter time.Duration
}

// Limiter checks calls against the configured buckets.
type Limiter struct {
	client redis.Scripter
	cfg    *proxyconfig.RateLimit
	tools  map[string]proxyconfig.ToolRateLimit
	prefix string
	log    *slog.Logger
	// down is set while Redis does not answer; retryAt is when to ask it
	// again (unix nanoseconds).
	down    atomic.Bool
	retryAt atomic.Int64
}

// New is a limiter of the calls to server under cfg, its buckets in the
// Redis of client under keys that start with prefix.
func New(client redis.Scripter, cfg *proxyconfig.RateLimit, prefix, server string, log *slog.Logger) *Limiter {
	if log == nil {
		log = slog.Default()
	}
	tools := map[string]proxyconfig.ToolRateLimit{}
	for _, t := range cfg.Tools {
		tools[t.Name] = t
	}
	// The braces are a Redis Cluster hash tag: one script call touches
	// several keys, which must share a slot.
	return &Limiter{client: client, cfg: cfg, tools: tools, prefix: fmt.Sprintf("%sratelimit:{%s}:", prefix, server), log: log}
}

// buckets are those that apply to a call of tool by subject ("" for an
// unauthenticated caller).
func (l *Limiter) buckets(tool, subject string) []bucket {
	var out []bucket
	add := func(spec *proxyconfig.Bucket, scope, tool, key string) {
		if spec != nil {
			out = append(out, bucket{key: l.prefix + key, spec: *spec, scope: scope, tool: tool})
		}
	}
	user := ""
	if subject != "" {
		sum := sha256.Sum256([]byte(subject))
		user = hex.EncodeToString(sum[:16])
	}
	add(l.cfg.Shared, ScopeShared, "", "shared")
	if user != "" {
		add(l.cfg.PerUser, ScopePerUser, "", "user:"+user)
	}
	if t, ok := l.tools[tool]; ok {
		add(t.Shared, ScopeTool, tool, "tool:"+tool)
		if user != "" {
			// The user's hash, of fixed length, ends the key: no tool
			// name can make it another's.
			add(t.PerUser, ScopeToolPerUser, tool, "user-tool:"+tool+":"+user)
		}
	}
	return out
}

// Allow takes a token from every bucket that applies to a call of tool
// by subject, or from none. It errs only when Redis does not answer.
func (l *Limiter) Allow(ctx context.Context, tool, subject string) (Decision, error) {
	bs := l.buckets(tool, subject)
	if len(bs) == 0 {
		return Decision{Allowed: true}, nil
	}
	keys := make([]string, len(bs))
	args := make([]any, 0, 3*len(bs))
	for i, b := range bs {
		keys[i] = b.key
		period := time.Duration(b.spec.RefillPeriod)
		args = append(args, b.spec.MaxTokens, period.Microseconds(), (2 * period).Milliseconds())
	}
	res, err := takeAll.Run(ctx, l.client, keys, args...).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit check in redis: %w", err)
	}
	if len(res) != 2 || res[0] < 0 || int(res[0]) > len(bs) {
		return Decision{}, fmt.Errorf("rate limit check in redis: unexpected answer %v", res)
	}
	if res[0] == 0 {
		return Decision{Allowed: true}, nil
	}
	b := bs[res[0]-1]
	return Decision{Scope: b.scope, Tool: b.tool, RetryAfter: time.Duration(res[1]) * time.Microsecond}, nil
}

// check is Allow, failing open when Redis does not answer.
func (l *Limiter) check(ctx context.Context, tool, subject string) (d Decision, checked bool) {
	if l.down.Load() && time.Now().UnixNano() < l.retryAt.Load() {
		return Decision{Allowed: true}, false
	}
	d, err := l.Allow(ctx, tool, subject)
	switch {
	case err == nil:
		if l.down.CompareAndSwap(true, false) {
			l.log.Info("rate limit store reachable again: calls are limited again")
		}
		return d, true
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// The client left: nothing to say about Redis.
		return Decision{Allowed: true}, false
	}
	l.retryAt.Store(time.Now().Add(time.Second).UnixNano())
	if l.down.CompareAndSwap(false, true) {
		l.log.Warn("rate limit store unreachable: calls pass unlimited until it answers (fail open)", "error", err)
	}
	return Decision{Allowed: true}, false
}

// takeAll refills each bucket (KEYS[i]) for the time since it was last
// used, then takes a token from every one, or, when one is empty, from
// none. ARGV holds three values a bucket: its capacity, its refill period
// (µs) and how long its key outlives its last use (ms). It answers
// {0, 0} when the call may go on, or {i, µs until bucket i holds a token}.
// The clock is Redis's, the same for every replica.
var takeAll = redis.NewScript(`
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local tokens = {}
local refused = 0
for i, key in ipairs(KEYS) do
  local cap, period = tonumber(ARGV[3*i-2]), tonumber(ARGV[3*i-1])
  local held = redis.call('HMGET', key, 'tokens', 'at')
  local t, at = tonumber(held[1]), tonumber(held[2])
  if t == nil or at == nil then
    t = cap
  else
    t = math.min(cap, t + math.max(0, now - at) * cap / period)
  end
  tokens[i] = t
  if t < 1 and refused == 0 then refused = i end
end
if refused ~= 0 then
  local cap, period = tonumber(ARGV[3*refused-2]), tonumber(ARGV[3*refused-1])
  return {refused, math.ceil((1 - tokens[refused]) * period / cap)}
end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'tokens', tostring(tokens[i] - 1), 'at', now)
  redis.call('PEXPIRE', key, ARGV[3*i])
end
return {0, 0}
`)
