// Package mcpmetrics records the proxy's MCP traffic under ToolHive's metric
// names (toolhive_mcp_requests_total, toolhive_mcp_request_duration_seconds,
// toolhive_mcp_active_connections, toolhive_mcp_tool_calls_total) and the
// OpenTelemetry MCP histogram (mcp.server.operation.duration), so that
// dashboards built for ToolHive work unchanged. Like ToolHive it measures
// HTTP exchanges: the MCP method and target come from the request path's
// Exchange, never from reading answers.
//
// Label values a client chooses (methods, tool names, resource URIs) are
// bounded: cut at maxLabelBytes, and past maxDistinct values per label
// they are counted as "other", so no client can grow the series without
// end. Session ids and arguments are never labels.
package mcpmetrics

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// InstrumentationName is the meter's name (the otel_scope_name label).
const InstrumentationName = "github.com/switchboard-mcp/switchboard/internal/proxy/mcpmetrics"

// Buckets are the MCP semantic conventions' boundaries for operation
// durations (seconds), which ToolHive uses for both histograms.
var Buckets = []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300}

const (
	maxLabelBytes = 128
	maxDistinct   = 256
	other         = "other"
	unknown       = "unknown"
)

// Metrics are the instruments of one proxy.
type Metrics struct {
	server, transport string
	// common are the attributes every series of this proxy carries.
	common attribute.Set

	requests   metric.Int64Counter
	duration   metric.Float64Histogram
	active     metric.Int64UpDownCounter
	toolCalls  metric.Int64Counter
	operations metric.Float64Histogram

	methods, targets bounded
}

// New makes the instruments on mp for the proxy of server, whose backend
// speaks transport (stdio, sse or streamable-http).
func New(mp metric.MeterProvider, server, transport string) (*Metrics, error) {
	meter := mp.Meter(InstrumentationName)
	m := &Metrics{server: server, transport: transport}
	var err error
	// The Prometheus exporter adds _total to counters and the unit to
	// histograms: these come out under ToolHive's names.
	if m.requests, err = meter.Int64Counter("toolhive_mcp_requests", metric.WithDescription("Total number of MCP requests")); err != nil {
		return nil, fmt.Errorf("toolhive_mcp_requests: %w", err)
	}
	if m.duration, err = meter.Float64Histogram("toolhive_mcp_request_duration", metric.WithDescription("Duration of MCP requests in seconds"),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(Buckets...)); err != nil {
		return nil, fmt.Errorf("toolhive_mcp_request_duration: %w", err)
	}
	if m.active, err = meter.Int64UpDownCounter("toolhive_mcp_active_connections", metric.WithDescription("Number of active MCP connections")); err != nil {
		return nil, fmt.Errorf("toolhive_mcp_active_connections: %w", err)
	}
	if m.toolCalls, err = meter.Int64Counter("toolhive_mcp_tool_calls", metric.WithDescription("Total number of MCP tool calls")); err != nil {
		return nil, fmt.Errorf("toolhive_mcp_tool_calls: %w", err)
	}
	if m.operations, err = meter.Float64Histogram("mcp.server.operation.duration", metric.WithDescription("Duration of MCP server operations"),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(Buckets...)); err != nil {
		return nil, fmt.Errorf("mcp.server.operation.duration: %w", err)
	}
	m.common = attribute.NewSet(attribute.String("server", server), attribute.String("transport", transport))
	return m, nil
}

// Middleware measures each exchange with an MCP endpoint. It needs the
// request's pipeline.Exchange (pipeline.WithExchange, outside it) to know
// the MCP method; it sits outside authentication, so refusals count too.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/sse") {
			// A legacy SSE stream: counted when it opens, and active while
			// it lasts, as ToolHive does.
			m.requests.Add(ctx, 1, metric.WithAttributes(
				attribute.String("method", r.Method), attribute.String("status_code", "200"), attribute.String("status", "success"),
				attribute.String("mcp_method", "sse_connection"), attribute.String("server", m.server), attribute.String("transport", m.transport)))
			sse := metric.WithAttributes(attribute.String("server", m.server), attribute.String("transport", m.transport), attribute.String("connection_type", "sse"))
			m.active.Add(ctx, 1, sse)
			defer m.active.Add(ctx, -1, sse)
			next.ServeHTTP(w, r)
			return
		}
		m.active.Add(ctx, 1, metric.WithAttributeSet(m.common))
		defer m.active.Add(ctx, -1, metric.WithAttributeSet(m.common))
		start := time.Now()
		rec := wire.NewRecorder(w)
		// Deferred: a relayed stream the client leaves early ends in
		// ReverseProxy's http.ErrAbortHandler panic, and still counts.
		defer func() { m.record(r, rec.Status, time.Since(start)) }()
		next.ServeHTTP(rec, r)
	})
}

// record adds one finished exchange to every series it belongs to.
func (m *Metrics) record(r *http.Request, status int, took time.Duration) {
	ctx := r.Context()
	method, target := unknown, ""
	if x := pipeline.ExchangeOf(r); x != nil && x.Method != "" {
		method = m.methods.value(x.Method)
		if hasTarget(x.Method) {
			target = m.targets.value(x.Target)
		}
	}
	outcome := "success"
	if status >= 400 {
		outcome = "error"
	}
	code := strconv.Itoa(status)
	attrs := metric.WithAttributes(
		attribute.String("method", r.Method), attribute.String("status_code", code), attribute.String("status", outcome),
		attribute.String("mcp_method", method), attribute.String("mcp_resource_id", target),
		attribute.String("server", m.server), attribute.String("transport", m.transport))
	m.requests.Add(ctx, 1, attrs)
	m.duration.Record(ctx, took.Seconds(), attrs)
	if method == unknown {
		// GET streams and DELETEs carry no MCP method; ToolHive leaves
		// them out of the semantic-convention histogram too.
		return
	}
	m.operations.Record(ctx, took.Seconds(), metric.WithAttributes(m.operationAttrs(r, method, target, status)...))
	if method == "tools/call" && target != "" {
		m.toolCalls.Add(ctx, 1, metric.WithAttributes(attribute.String("server", m.server), attribute.String("tool", target), attribute.String("status", outcome)))
	}
}

// operationAttrs are the MCP semantic conventions' attributes of one
// operation, as ToolHive records them.
func (m *Metrics) operationAttrs(r *http.Request, method, target string, status int) []attribute.KeyValue {
	network, protocol := "tcp", "http"
	if m.transport == "stdio" {
		network, protocol = "pipe", ""
	}
	attrs := []attribute.KeyValue{
		attribute.String("mcp.method.name", method),
		attribute.String("jsonrpc.protocol.version", "2.0"),
		attribute.String("network.transport", network),
	}
	if protocol != "" {
		attrs = append(attrs, attribute.String("network.protocol.name", protocol),
			attribute.String("network.protocol.version", fmt.Sprintf("%d.%d", r.ProtoMajor, r.ProtoMinor)))
	}
	if status >= 500 {
		attrs = append(attrs, attribute.String("error.type", strconv.Itoa(status)))
	}
	switch method {
	case "tools/call":
		attrs = append(attrs, attribute.String("gen_ai.operation.name", "execute_tool"))
		if target != "" {
			attrs = append(attrs, attribute.String("gen_ai.tool.name", target))
		}
	case "prompts/get":
		if target != "" {
			attrs = append(attrs, attribute.String("gen_ai.prompt.name", target))
		}
	}
	return attrs
}

// hasTarget reports the methods whose target (a tool, prompt or resource)
// is a label, as ToolHive's mcp_resource_id.
func hasTarget(method string) bool {
	switch method {
	case "tools/call", "prompts/get", "resources/read":
		return true
	}
	return false
}

// bounded keeps the distinct values of one label under maxDistinct: the
// first ones seen pass, later new ones become "other".
type bounded struct {
	seen  sync.Map // string → struct{}
	count atomic.Int64
}

func (b *bounded) value(v string) string {
	v = truncate(v)
	if _, ok := b.seen.Load(v); ok {
		return v
	}
	if b.count.Load() >= maxDistinct {
		return other
	}
	if _, loaded := b.seen.LoadOrStore(v, struct{}{}); !loaded {
		b.count.Add(1)
	}
	return v
}

// truncate cuts v to maxLabelBytes on a rune boundary, marking the cut.
func truncate(v string) string {
	if len(v) <= maxLabelBytes {
		return v
	}
	limit := maxLabelBytes - len("...")
	for limit > 0 && !utf8.RuneStart(v[limit]) {
		limit--
	}
	return v[:limit] + "..."
}
