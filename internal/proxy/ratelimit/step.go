package ratelimit

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// CodeRateLimited is the JSON-RPC error code of a refused call: ToolHive's
// (429, as the HTTP status), so its users' clients read it alike.
const CodeRateLimited = 429

// Metrics count what the limiter did.
type Metrics struct {
	// Refused counts refused calls by the scope of the bucket that
	// refused them.
	Refused *prometheus.CounterVec
	// Unchecked counts calls let through unchecked because Redis did not
	// answer.
	Unchecked prometheus.Counter
}

// NewMetrics registers the limiter's series with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_proxy_rate_limited_total", Help: "Tool calls refused by a rate limit, by the scope of the bucket that refused them.",
		}, []string{"scope"}),
		Unchecked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_proxy_rate_limit_unchecked_total", Help: "Tool calls let through unchecked because the rate limit store (Redis) did not answer.",
		}),
	}
	reg.MustRegister(m.Refused, m.Unchecked)
	return m
}

// Step checks each tools/call against the buckets; it needs the caller,
// so it runs after the gate. m may be nil.
func (l *Limiter) Step(m *Metrics) pipeline.Step {
	return func(ctx context.Context, r *pipeline.Request) *pipeline.Refusal {
		if !r.Msg.IsRequest() || r.Msg.Method != "tools/call" {
			return nil
		}
		subject := ""
		if r.Caller != nil {
			subject = r.Caller.Subject
		}
		sent := r.Sent // the tool by the name the client called
		if sent == nil {
			sent = r.Msg
		}
		d, checked := l.check(ctx, wire.Target(sent.Params), subject)
		if !checked && m != nil {
			m.Unchecked.Inc()
		}
		if d.Allowed {
			return nil
		}
		if m != nil {
			m.Refused.WithLabelValues(d.Scope).Inc()
		}
		return &pipeline.Refusal{Status: http.StatusTooManyRequests, RetryAfter: d.RetryAfter,
			Err: wire.Errorf(CodeRateLimited, "rate limit exceeded %s: retry after %ds", d.bucket(), pipeline.RetrySeconds(d.RetryAfter))}
	}
}

// bucket names the bucket that refused, for the client.
func (d Decision) bucket() string {
	switch d.Scope {
	case ScopeShared:
		return "for this server"
	case ScopePerUser:
		return "for this server (per user)"
	case ScopeTool:
		return fmt.Sprintf("for tool %s", d.Tool)
	}
	return fmt.Sprintf("for tool %s (per user)", d.Tool)
}
