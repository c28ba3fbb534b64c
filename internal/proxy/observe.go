package proxy

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/audit"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcpmetrics"
	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/telemetry"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// flushTimeout bounds the last export of traces and the last audit writes
// when the proxy stops.
const flushTimeout = 5 * time.Second

// startObserving sets up what records the proxy's traffic: OpenTelemetry
// (Prometheus always, OTLP when configured), ToolHive's MCP metrics, and
// the audit events when on. It returns the steps the request path needs.
func (s *Server) startObserving(ctx context.Context) ([]pipeline.Step, error) {
	o := s.opts
	t, err := telemetry.New(ctx, o.Telemetry, o.Server, o.Transport, s.metrics.registry, o.Log)
	if err != nil {
		return nil, fmt.Errorf("set up telemetry: %w", err)
	}
	s.telemetry = t
	if s.metrics.mcp, err = mcpmetrics.New(t.MeterProvider(), o.Server, o.Transport); err != nil {
		s.stopObserving(ctx)
		return nil, fmt.Errorf("set up the MCP metrics: %w", err)
	}
	var steps []pipeline.Step
	if o.Audit.Enabled {
		s.audit = audit.New(audit.Options{Server: o.Server, Transport: o.Transport, Config: o.Audit, Out: o.AuditOut, Log: o.Log})
		s.metrics.watchAudit(s.audit)
		steps = append(steps, s.audit.Step())
	}
	if step := t.Step(o.Transport == proxyconfig.TransportStdio); step != nil {
		// A stdio server learns the trace from params._meta; an HTTP
		// server from the headers of the relay's request (Transport).
		steps = append(steps, step)
	}
	return steps, nil
}

// observed wraps the MCP endpoints: the trace of each HTTP request, then
// its Exchange (what the request path learns of it), measured and audited
// outside authentication so that refusals count too.
func (s *Server) observed(next http.Handler) http.Handler {
	h := next
	if s.audit != nil {
		h = s.audit.Middleware(h)
	}
	h = s.metrics.mcp.Middleware(h)
	exchanging := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, _ := pipeline.WithExchange(r.Context())
		h.ServeHTTP(w, r.WithContext(ctx))
	})
	return s.telemetry.Middleware(exchanging)
}

// stopObserving flushes the last traces, metrics and audit events.
func (s *Server) stopObserving(ctx context.Context) {
	flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if s.audit != nil {
		if err := s.audit.Close(flush); err != nil {
			s.opts.Log.Warn("audit events were lost at shutdown", "dropped", s.audit.Dropped(), "error", err)
		}
	}
	if s.telemetry != nil {
		if err := s.telemetry.Shutdown(flush); err != nil {
			s.opts.Log.Warn("the last telemetry was not exported", "error", err)
		}
	}
}
