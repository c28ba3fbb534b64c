package telemetry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// Middleware gives each HTTP request a server span ("POST /mcp", with the
// HTTP semantic-convention attributes) that continues the trace of the
// client's traceparent and tracestate headers. Identity when tracing is
// off. Attributes are worked out only for a span that records: most
// requests are not sampled, and for them the span costs an id.
//
// Put it outside authentication, so that refused requests are traced too.
func (t *Telemetry) Middleware(next http.Handler) http.Handler {
	if !t.Tracing() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := t.tracer.Start(ctx, r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		r = r.WithContext(context.WithValue(ctx, exchangeKey{}, &exchange{}))
		if !span.IsRecording() {
			next.ServeHTTP(w, r)
			return
		}
		span.SetAttributes(serverRequest(r)...)
		if t.legacy {
			span.SetAttributes(legacyHTTP(r)...)
		}
		rec := wire.NewRecorder(w)
		defer func() { responded(span, rec.Status) }() // an aborted stream (panic) too
		next.ServeHTTP(rec, r)
	})
}

// Transport gives each attempt to reach an HTTP backend a client span, and
// the backend the span's context in its traceparent header. The span's
// parent is the span of the request's first MCP message (Step), else the
// HTTP request's; it ends when the backend's answer begins. Identity when
// tracing is off.
func (t *Telemetry) Transport(rt http.RoundTripper) http.RoundTripper {
	if !t.Tracing() {
		return rt
	}
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		ctx := r.Context()
		if sc := messageSpan(ctx); sc.IsValid() {
			ctx = trace.ContextWithSpanContext(ctx, sc)
		}
		ctx, span := t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindClient))
		defer span.End()
		r = r.Clone(ctx) // a RoundTripper must not change the request it is given
		t.prop.Inject(ctx, propagation.HeaderCarrier(r.Header))
		recording := span.IsRecording()
		if recording {
			span.SetAttributes(clientRequest(r)...)
		}
		resp, err := rt.RoundTrip(r)
		switch {
		case err != nil:
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			span.SetAttributes(attribute.String(keyErrorType, fmt.Sprintf("%T", err)))
		case recording:
			responded(span, resp.StatusCode)
		}
		return resp, err
	})
}

// serverRequest and clientRequest are the HTTP semantic conventions'
// attributes of a request the proxy takes, and of one it sends.
func serverRequest(r *http.Request) []attribute.KeyValue {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	a := []attribute.KeyValue{
		attribute.String("http.request.method", r.Method),
		attribute.String("url.path", r.URL.Path),
		attribute.String("url.scheme", scheme),
		attribute.String("network.protocol.version", fmt.Sprintf("%d.%d", r.ProtoMajor, r.ProtoMinor)),
	}
	if host, port, err := net.SplitHostPort(r.Host); err == nil {
		a = append(a, attribute.String("server.address", host), attribute.String("server.port", port))
	} else if r.Host != "" {
		a = append(a, attribute.String("server.address", r.Host))
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		a = append(a, attribute.String("client.address", host), attribute.String("network.peer.address", host))
	}
	if ua := r.UserAgent(); ua != "" {
		a = append(a, attribute.String("user_agent.original", ua))
	}
	return a
}

func clientRequest(r *http.Request) []attribute.KeyValue {
	a := []attribute.KeyValue{
		attribute.String("http.request.method", r.Method),
		attribute.String("url.full", r.URL.String()),
	}
	if host, port, err := net.SplitHostPort(r.URL.Host); err == nil {
		a = append(a, attribute.String("server.address", host), attribute.String("server.port", port))
	} else {
		a = append(a, attribute.String("server.address", r.URL.Host))
	}
	return a
}

// responded notes the answer's status on span; a 5xx is an error (a 4xx
// is the client's, and leaves a server span's status unset).
func responded(span trace.Span, status int) {
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= http.StatusInternalServerError {
		span.SetStatus(codes.Error, http.StatusText(status))
		span.SetAttributes(attribute.String(keyErrorType, strconv.Itoa(status)))
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// exchange carries the span of an HTTP request's first MCP message from
// the request path (Step) to the backend's transport, which sees only the
// HTTP request's context.
type exchange struct {
	first atomic.Pointer[trace.SpanContext]
}

type exchangeKey struct{}

func noteMessageSpan(ctx context.Context, sc trace.SpanContext) {
	if x, ok := ctx.Value(exchangeKey{}).(*exchange); ok {
		x.first.CompareAndSwap(nil, &sc)
	}
}

func messageSpan(ctx context.Context) trace.SpanContext {
	if x, ok := ctx.Value(exchangeKey{}).(*exchange); ok {
		if sc := x.first.Load(); sc != nil {
			return *sc
		}
	}
	return trace.SpanContext{}
}

// legacyHTTP are ToolHive's pre-convention names of the request's HTTP
// attributes.
func legacyHTTP(r *http.Request) []attribute.KeyValue {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return []attribute.KeyValue{
		attribute.String(legacyHTTPMethod, r.Method),
		attribute.String(legacyHTTPURL, r.URL.String()),
		attribute.String(legacyHTTPScheme, scheme),
		attribute.String(legacyHTTPHost, r.Host),
		attribute.String(legacyHTTPTarget, r.URL.Path),
		attribute.String(legacyHTTPUserAgent, r.UserAgent()),
	}
}
