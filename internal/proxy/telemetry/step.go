package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// Step traces each client request and notification: a span named
// "{mcp.method.name} {target}" ("tools/call add") from the moment the
// proxy takes the message until its answer, its refusal by a later step,
// or its loss. Its parent is the trace context the client wrote in
// params._meta (MCP's own propagation), else the HTTP request's span,
// which it then links. With injectMeta (for a stdio backend, which sees no
// HTTP headers) the message goes on with the span's context in
// params._meta, so that the server's spans join the trace. Nil when
// tracing is off: leave it out of the path.
//
// Put it before the steps that refuse (the access gate): their refusals
// reach only the steps before them.
func (t *Telemetry) Step(injectMeta bool) pipeline.Step {
	if !t.Tracing() {
		return nil
	}
	return func(ctx context.Context, req *pipeline.Request) *pipeline.Refusal {
		m := req.Msg
		if m.Method == "" { // the client's answer to a server request
			return nil
		}
		p := readParams(m.Params)
		span := t.start(ctx, req, &p)
		noteMessageSpan(ctx, span.SpanContext())
		if injectMeta {
			if params, ok := withTraceMeta(m.Params, t.traceContext(span)); ok {
				out := *m
				out.Params = params
				req.Msg, req.Changed = &out, true
			}
		}
		req.OnDone(func(o pipeline.Outcome) { finish(span, m.Method, o) })
		return nil
	}
}

// start opens the message's span; attributes are worked out only for a
// span that records.
func (t *Telemetry) start(ctx context.Context, req *pipeline.Request, p *params) trace.Span {
	m := req.Msg
	name := m.Method
	if target := p.target(m.Method); target != "" {
		name += " " + target
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String(keyMethod, m.Method))}
	if remote := t.metaParent(p); remote.IsValid() {
		// MCP's context is the parent; the transport's is linked.
		if ambient := trace.SpanContextFromContext(ctx); ambient.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: ambient}))
		}
		ctx = trace.ContextWithRemoteSpanContext(ctx, remote)
	}
	_, span := t.tracer.Start(ctx, name, opts...)
	if span.IsRecording() {
		span.SetAttributes(t.attributes(req, p)...)
	}
	return span
}

// attributes describe a message as the semantic conventions for MCP do,
// plus ToolHive's legacy names when asked.
func (t *Telemetry) attributes(req *pipeline.Request, p *params) []attribute.KeyValue {
	m := req.Msg
	a := make([]attribute.KeyValue, 0, 16)
	add := func(key, value string) {
		if value != "" {
			a = append(a, attribute.String(key, value))
		}
	}
	add(keyRPCSystem, "jsonrpc")
	add(keyJSONRPCVersion, m.JSONRPC)
	add(keyServerName, t.server)
	// The client's session with the proxy is streamable HTTP or SSE.
	add(keyNetTransport, "tcp")
	add(keyNetProtocol, "http")
	var id string
	if m.IsRequest() {
		id = wire.Unquote(m.ID)
		add(keyRequestID, id)
	}
	switch m.Method {
	case "tools/call":
		add(keyToolName, p.Name)
		add(keyOperation, "execute_tool")
	case "prompts/get":
		add(keyPromptName, p.Name)
	case "resources/read", "resources/subscribe", "resources/unsubscribe", "notifications/resources/updated":
		add(keyResourceURI, p.URI)
	}
	add(keyClientName, p.clientName())
	add(keySession, req.Session)
	addr := ""
	if req.Caller != nil {
		addr = req.Caller.Addr
	}
	if r := req.HTTP; r != nil {
		add(keyProtocolVersion, r.Header.Get(wire.HeaderProtocolVersion))
		add(keyNetProtocolVersion, httpVersion(r))
		if addr == "" {
			addr = r.RemoteAddr
		}
	}
	add(keyProtocolVersion, p.Meta.ProtocolVersion) // the stateless era's
	if host, port, err := net.SplitHostPort(addr); err == nil {
		add(keyClientAddress, host)
		if n, err := strconv.Atoi(port); err == nil {
			a = append(a, attribute.Int(keyClientPort, n))
		}
	}
	if t.legacy {
		add(legacyMethod, m.Method)
		add(legacyRPCSystem, "jsonrpc")
		add(legacyRPCService, "mcp")
		add(legacyRequestID, id)
		add(legacyResourceID, p.resourceID(m.Method))
		add(legacyTransport, t.transport)
		switch m.Method {
		case "tools/call":
			add(legacyToolName, p.Name)
		case "prompts/get":
			add(legacyPromptName, p.Name)
		}
	}
	return dedupe(a)
}

// dedupe keeps the first of two values of one key (the protocol version
// header over the _meta one).
func dedupe(a []attribute.KeyValue) []attribute.KeyValue {
	seen := make(map[attribute.Key]bool, len(a))
	out := a[:0]
	for _, kv := range a {
		if !seen[kv.Key] {
			seen[kv.Key] = true
			out = append(out, kv)
		}
	}
	return out
}

// httpVersion is network.protocol.version: "1.1", "2".
func httpVersion(r *http.Request) string {
	switch {
	case r.ProtoMajor == 0:
		return ""
	case r.ProtoMajor >= 2:
		return strconv.Itoa(r.ProtoMajor)
	}
	return fmt.Sprintf("%d.%d", r.ProtoMajor, r.ProtoMinor)
}

// finish records how the message ended and ends its span. error.type is
// the JSON-RPC error code of an error answer or a refusal, tool_error for a
// tool's result with isError, _OTHER when no answer came.
func finish(span trace.Span, method string, o pipeline.Outcome) {
	defer span.End()
	if !span.IsRecording() {
		return
	}
	switch {
	case o.Answer != nil && len(o.Answer.Error) > 0:
		var e struct {
			Code    *int   `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(o.Answer.Error, &e) != nil || e.Code == nil {
			failed(span, errorOther, "", e.Message)
			return
		}
		code := strconv.Itoa(*e.Code)
		failed(span, code, code, e.Message)
	case o.Answer != nil:
		if method == "tools/call" && isToolError(o.Answer.Result) {
			failed(span, errorTool, "", "")
		}
	case o.Refusal != nil:
		code, msg := strconv.Itoa(wire.CodeInternalError), ""
		if e := o.Refusal.Err; e != nil {
			code, msg = strconv.Itoa(e.Code), e.Message
		}
		failed(span, code, code, msg)
	case o.Failure != "":
		failed(span, errorOther, "", o.Failure)
	}
}

func failed(span trace.Span, errorType, rpcStatus, description string) {
	span.SetAttributes(attribute.String(keyErrorType, errorType))
	if rpcStatus != "" {
		span.SetAttributes(attribute.String(keyRPCStatus, rpcStatus))
	}
	span.SetStatus(codes.Error, description)
}

// isToolError reports a tools/call result that says the tool failed.
func isToolError(result json.RawMessage) bool {
	var r struct {
		IsError bool `json:"isError"`
	}
	return json.Unmarshal(result, &r) == nil && r.IsError
}
