// Package telemetry is the proxy's OpenTelemetry: the providers that export
// traces and metrics (OTLP over gRPC or HTTP, and metrics always to the
// proxy's Prometheus registry), and the instrumentation of the request's
// journey: a span per HTTP request (Middleware), a span per MCP message
// named and described as the semantic conventions for MCP say (Step), and
// a span per attempt to reach an HTTP backend (Transport). With tracing
// off, each of those is the identity and costs nothing.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// instrumentation names the tracer and meter of this package.
const instrumentation = "github.com/switchboard-mcp/switchboard/internal/proxy/telemetry"

// DefaultServicePrefix makes the default service.name of a server's proxy,
// "thv-" + its name, as ToolHive names it.
const DefaultServicePrefix = "thv-"

// OperationDurationBuckets are the bucket bounds (seconds) the semantic
// conventions for MCP give mcp.server.operation.duration.
var OperationDurationBuckets = []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300}

// Telemetry is the proxy's tracer and meter providers and what
// instruments the request path with them.
type Telemetry struct {
	tracing bool
	tp      trace.TracerProvider
	tracer  trace.Tracer
	mp      metric.MeterProvider
	// prop reads and writes W3C trace context (traceparent, tracestate).
	prop      propagation.TextMapPropagator
	server    string
	transport string
	legacy    bool
	shutdown  []func(context.Context) error
}

// New builds the providers of the proxy of server (an MCP server's name)
// whose backend speaks transport (stdio, sse or streamable-http). Metrics
// always reach reg, the registry the proxy serves at /metrics; with
// cfg.Metrics they are also pushed over OTLP, and with cfg.Tracing spans
// are. Shutdown flushes both.
func New(ctx context.Context, cfg proxyconfig.Telemetry, server, transport string, reg prometheus.Registerer, log *slog.Logger) (*Telemetry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	var spans sdktrace.SpanProcessor
	var push sdkmetric.Reader
	if cfg.Tracing || cfg.Metrics {
		c, err := newCollector(cfg)
		if err != nil {
			return nil, err
		}
		if cfg.Tracing {
			exp, err := c.spanExporter(ctx)
			if err != nil {
				return nil, fmt.Errorf("OTLP trace exporter for %s: %w", cfg.Endpoint, err)
			}
			spans = sdktrace.NewBatchSpanProcessor(exp)
		}
		if cfg.Metrics {
			exp, err := c.metricExporter(ctx)
			if err != nil {
				return nil, fmt.Errorf("OTLP metric exporter for %s: %w", cfg.Endpoint, err)
			}
			push = sdkmetric.NewPeriodicReader(exp)
		}
		// Export failures come through OpenTelemetry's global error
		// handler; they belong in the proxy's log.
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn("telemetry export failed", "endpoint", cfg.Endpoint, "error", err)
		}))
		log.Info("exporting telemetry", "endpoint", cfg.Endpoint, "protocol", protocol(cfg),
			"tracing", cfg.Tracing, "metrics", cfg.Metrics, "samplingRate", cfg.SamplingRate)
	}
	return assemble(ctx, cfg, server, transport, reg, spans, push)
}

func protocol(cfg proxyconfig.Telemetry) string {
	if cfg.Protocol == "" {
		return proxyconfig.OTLPHTTP
	}
	return cfg.Protocol
}

// assemble builds the providers around spans (nil: tracing off) and push
// (nil: no OTLP metrics). Tests give it an in-memory span processor.
func assemble(ctx context.Context, cfg proxyconfig.Telemetry, server, transport string, reg prometheus.Registerer,
	spans sdktrace.SpanProcessor, push sdkmetric.Reader) (*Telemetry, error) {
	if reg == nil {
		return nil, errors.New("telemetry needs the proxy's Prometheus registry")
	}
	res, err := newResource(ctx, cfg, server)
	if err != nil {
		return nil, err
	}
	t := &Telemetry{
		tracing: spans != nil, tp: tracenoop.NewTracerProvider(),
		prop:   propagation.TraceContext{},
		server: server, transport: transport, legacy: cfg.LegacyAttributes,
	}
	// ToolHive's names: the exporter's defaults, spelled out so that a
	// change of default cannot rename the series (a counter gains _total,
	// a histogram its unit: mcp_server_operation_duration_seconds).
	scrape, err := otelprom.New(otelprom.WithRegisterer(reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes))
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	opts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(scrape)}
	if push != nil {
		opts = append(opts, sdkmetric.WithReader(push))
	}
	mp := sdkmetric.NewMeterProvider(opts...)
	t.mp = mp
	t.shutdown = append(t.shutdown, mp.Shutdown)
	if spans != nil {
		tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(spans),
			sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SamplingRate))))
		t.tp = tp
		t.shutdown = append(t.shutdown, tp.Shutdown)
	}
	t.tracer = t.tp.Tracer(instrumentation)
	return t, nil
}

// newResource describes the proxy: service.name (cfg.ServiceName, else
// "thv-" + server) and the configured attributes, over what the host and
// OTEL_RESOURCE_ATTRIBUTES say.
func newResource(ctx context.Context, cfg proxyconfig.Telemetry, server string) (*resource.Resource, error) {
	name := cfg.ServiceName
	if name == "" {
		name = DefaultServicePrefix + server
	}
	attrs := []attribute.KeyValue{attribute.String(keyServiceName, name)}
	for k, v := range cfg.ResourceAttributes {
		attrs = append(attrs, attribute.String(k, v))
	}
	// Later options win: the flags over the environment.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithHost(), resource.WithFromEnv(),
		resource.WithAttributes(attrs...))
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("telemetry resource of %s: %w", name, err)
	}
	return res, nil
}

// Tracing reports whether spans are recorded.
func (t *Telemetry) Tracing() bool { return t != nil && t.tracing }

// TracerProvider is the provider of the proxy's spans: a no-op one when
// tracing is off.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tp }

// MeterProvider is the provider of the proxy's metrics, which reach the
// Prometheus registry given to New and, with metrics on, the collector.
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.mp }

// Shutdown exports what is still buffered and stops the exporters.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	var errs []error
	for _, f := range t.shutdown {
		errs = append(errs, f(ctx))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("flush telemetry: %w", err)
	}
	return nil
}
