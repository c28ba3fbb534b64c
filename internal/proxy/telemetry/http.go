package telemetry

import (
	"context"
	"net/http"
	"sync/atomic"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
)

// Middleware gives each HTTP request a server span ("POST /mcp", with the
// HTTP semantic-convention attributes) that continues the trace of the
// client's traceparent and tracestate headers. Identity when tracing is
// off.
//
// Put it outside authentication, so that refused requests are traced too.
func (t *Telemetry) Middleware(next http.Handler) http.Handler {
	if !t.Tracing() {
		return next
	}
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t.legacy {
			trace.SpanFromContext(r.Context()).SetAttributes(legacyHTTP(r)...)
		}
		ctx := context.WithValue(r.Context(), exchangeKey{}, &exchange{})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
	return otelhttp.NewHandler(inner, "",
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(t.prop),
		// The proxy counts its HTTP requests itself; no second series.
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }))
}

// Transport gives each attempt to reach an HTTP backend a client span, and
// the backend the span's context in its traceparent header. The span's
// parent is the span of the request's first MCP message (Step), else the
// HTTP request's. Identity when tracing is off.
func (t *Telemetry) Transport(rt http.RoundTripper) http.RoundTripper {
	if !t.Tracing() {
		return rt
	}
	traced := otelhttp.NewTransport(rt,
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(t.prop),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }))
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		if sc := messageSpan(r.Context()); sc.IsValid() {
			r = r.WithContext(trace.ContextWithSpanContext(r.Context(), sc))
		}
		return traced.RoundTrip(r)
	})
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
