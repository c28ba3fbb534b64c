package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The standard OpenTelemetry environment the server's tracing reads (the
// exporters read the rest themselves: headers, certificates, timeouts).
const (
	envEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
)

// tracing exports the server's spans when the environment names an OTLP
// endpoint: a span per HTTP request and a span per MCP message, which
// continues the trace the client wrote in params._meta, else the HTTP
// request's. A nil *tracing (no endpoint) changes nothing.
type tracing struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

// startTracing is nil without OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. The service is named by
// OTEL_SERVICE_NAME, "mcpserver" by default.
func startTracing(ctx context.Context) (*tracing, error) {
	if os.Getenv(envEndpoint) == "" && os.Getenv(envTracesEndpoint) == "" {
		return nil, nil
	}
	protocol := firstSet(os.Getenv(envTracesProtocol), os.Getenv(envProtocol), "http/protobuf")
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("%s=%q: use grpc or http/protobuf", envProtocol, protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	// The environment (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) over
	// the default name.
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", "mcpserver")), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}
	// A stdio server may be killed rather than stopped: spans leave within
	// a fifth of a second of ending.
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res),
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(200*time.Millisecond)))
	return &tracing{tp: tp, tracer: tp.Tracer("github.com/switchboard-mcp/switchboard/test/mcpserver"), prop: propagation.TraceContext{}}, nil
}

func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// shutdown exports what is left.
func (t *tracing) shutdown(log *slog.Logger) {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.tp.Shutdown(ctx); err != nil {
		log.Warn("flushing spans", "error", err)
	}
}

// handler gives each HTTP request a server span that continues the
// client's traceparent header, and hands the span on to the MCP spans
// through the request's headers (the SDK passes headers, not contexts, to
// its middleware).
func (t *tracing) handler(next http.Handler) http.Handler {
	if t == nil {
		return next
	}
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.prop.Inject(r.Context(), propagation.HeaderCarrier(r.Header))
		next.ServeHTTP(w, r)
	})
	return otelhttp.NewHandler(inner, "",
		otelhttp.WithTracerProvider(t.tp), otelhttp.WithPropagators(t.prop),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }))
}

// instrument gives each MCP message the server receives a span named
// "{method} {tool or prompt}".
func (t *tracing) instrument(s *mcp.Server) {
	if t == nil {
		return
	}
	s.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			name, target := method, ""
			switch p := req.GetParams().(type) {
			case *mcp.CallToolParamsRaw:
				target = p.Name
			case *mcp.GetPromptParams:
				target = p.Name
			}
			if target != "" {
				name += " " + target
			}
			ctx, span := t.tracer.Start(t.parent(ctx, req), name, trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("mcp.method.name", method)))
			defer span.End()
			if method == "tools/call" {
				span.SetAttributes(attribute.String("gen_ai.tool.name", target), attribute.String("gen_ai.operation.name", "execute_tool"))
			}
			if id := req.GetSession().ID(); id != "" {
				span.SetAttributes(attribute.String("mcp.session.id", id))
			}
			res, err := next(ctx, method, req)
			var wireErr *jsonrpc.Error
			switch {
			case errors.As(err, &wireErr):
				code := strconv.FormatInt(wireErr.Code, 10)
				span.SetAttributes(attribute.String("error.type", code), attribute.String("rpc.response.status_code", code))
				span.SetStatus(codes.Error, wireErr.Message)
			case err != nil:
				span.SetAttributes(attribute.String("error.type", "_OTHER"))
				span.SetStatus(codes.Error, err.Error())
			default:
				if r, ok := res.(*mcp.CallToolResult); ok && r.IsError {
					span.SetAttributes(attribute.String("error.type", "tool_error"))
					span.SetStatus(codes.Error, "")
				}
			}
			return res, err
		}
	})
}

// parent is the trace context of params._meta, else of the HTTP request
// the message came in (see handler), else ctx's.
func (t *tracing) parent(ctx context.Context, req mcp.Request) context.Context {
	var carriers []propagation.TextMapCarrier
	// A request without params (a ping) gives a nil pointer in a non-nil
	// interface.
	if p := req.GetParams(); p != nil && !reflect.ValueOf(p).IsNil() && p.GetMeta() != nil {
		carriers = append(carriers, metaCarrier(p.GetMeta()))
	}
	if extra := req.GetExtra(); extra != nil && extra.Header != nil {
		carriers = append(carriers, propagation.HeaderCarrier(extra.Header))
	}
	for _, c := range carriers {
		if sc := trace.SpanContextFromContext(t.prop.Extract(context.Background(), c)); sc.IsValid() {
			return trace.ContextWithRemoteSpanContext(ctx, sc)
		}
	}
	return ctx
}

// metaCarrier reads W3C trace context from params._meta.
type metaCarrier map[string]any

func (m metaCarrier) Get(key string) string {
	s, _ := m[key].(string)
	return s
}

func (m metaCarrier) Set(key, value string) { m[key] = value }

func (m metaCarrier) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}
