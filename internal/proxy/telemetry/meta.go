package telemetry

import (
	"bytes"
	"context"
	"encoding/json"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// W3C trace context keys, which MCP carries unprefixed in params._meta
// (SEP-414).
const (
	metaTraceParent = "traceparent"
	metaTraceState  = "tracestate"
)

// params is what the spans read of a message's params. A field of another
// type than expected is left empty.
type params struct {
	Name       string `json:"name"`
	URI        string `json:"uri"`
	ClientInfo struct {
		Name string `json:"name"`
	} `json:"clientInfo"`
	Meta struct {
		TraceParent     string `json:"traceparent"`
		TraceState      string `json:"tracestate"`
		ProtocolVersion string `json:"io.modelcontextprotocol/protocolVersion"`
		ClientInfo      struct {
			Name string `json:"name"`
		} `json:"io.modelcontextprotocol/clientInfo"`
	} `json:"_meta"`
}

func readParams(raw json.RawMessage) params {
	var p params
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &p) // best effort: the span describes what it can
	}
	return p
}

// target is the low-cardinality part of a span name: the tool or the
// prompt. Resource URIs stay out of names, as the conventions advise.
func (p *params) target(method string) string {
	switch method {
	case "tools/call", "prompts/get":
		return p.Name
	}
	return ""
}

// resourceID is ToolHive's legacy mcp.resource.id: the tool, prompt or
// resource a request names, or the client's name in initialize.
func (p *params) resourceID(method string) string {
	if method == "initialize" {
		return p.ClientInfo.Name
	}
	if p.Name != "" {
		return p.Name
	}
	return p.URI
}

// clientName is the client's name from initialize or, without a session
// (2026-07-28), from each request's _meta.
func (p *params) clientName() string {
	if p.ClientInfo.Name != "" {
		return p.ClientInfo.Name
	}
	return p.Meta.ClientInfo.Name
}

// metaParent is the span context the client wrote in params._meta; the
// zero (invalid) one when there is none or it does not parse.
func (t *Telemetry) metaParent(p *params) trace.SpanContext {
	if p.Meta.TraceParent == "" {
		return trace.SpanContext{}
	}
	c := propagation.MapCarrier{metaTraceParent: p.Meta.TraceParent}
	if p.Meta.TraceState != "" {
		c[metaTraceState] = p.Meta.TraceState
	}
	return trace.SpanContextFromContext(t.prop.Extract(context.Background(), c))
}

// traceContext is span's context as W3C keys and values.
func (t *Telemetry) traceContext(span trace.Span) propagation.MapCarrier {
	c := propagation.MapCarrier{}
	t.prop.Inject(trace.ContextWithSpan(context.Background(), span), c)
	return c
}

// withTraceMeta is raw (a message's params) with tc written into its
// _meta: every other param and every other _meta key (progressToken)
// keeps its value. It declines (false) params or a _meta that is not an
// object, rather than lose what they hold.
func withTraceMeta(raw json.RawMessage, tc propagation.MapCarrier) (json.RawMessage, bool) {
	if len(tc) == 0 {
		return nil, false
	}
	p := map[string]json.RawMessage{}
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && string(trimmed) != "null" {
		if trimmed[0] != '{' || json.Unmarshal(trimmed, &p) != nil {
			return nil, false
		}
	}
	meta := map[string]json.RawMessage{}
	if m := bytes.TrimSpace(p["_meta"]); len(m) > 0 && string(m) != "null" {
		if m[0] != '{' || json.Unmarshal(m, &meta) != nil {
			return nil, false
		}
	}
	// A tracestate belongs to its traceparent: the client's goes unless
	// the span carries it on.
	delete(meta, metaTraceState)
	for k, v := range tc {
		meta[k] = quote(v)
	}
	encoded, err := wire.Marshal(meta)
	if err != nil {
		return nil, false
	}
	p["_meta"] = encoded
	if encoded, err = wire.Marshal(p); err != nil {
		return nil, false
	}
	return encoded, true
}

func quote(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
