package proxyconfig

import (
	"flag"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Audit is what the proxy records of each MCP operation (spec.audit): one
// JSON event per operation on its standard output.
type Audit struct {
	// Enabled turns the events on.
	Enabled bool
	// IncludeRequestData adds the request's arguments to each event, cut at
	// MaxDataSize bytes.
	IncludeRequestData bool
	// MaxDataSize bounds the request data of one event (bytes); 0: the
	// default, DefaultAuditMaxDataSize.
	MaxDataSize int
}

// DefaultAuditMaxDataSize is the most request data one audit event carries
// unless told otherwise (ToolHive's default).
const DefaultAuditMaxDataSize = 1024

// DefaultSamplingRate is the fraction of new traces a proxy run by hand
// records (ToolHive's default).
const DefaultSamplingRate = 0.05

// OTLP protocols (Telemetry.Protocol), as OTEL_EXPORTER_OTLP_PROTOCOL names them.
const (
	OTLPGRPC = "grpc"
	OTLPHTTP = "http/protobuf"
)

// Telemetry is where the proxy sends OpenTelemetry traces and metrics
// (MCPTelemetryConfig, spec.telemetryConfigRef). The zero value sends
// nothing; Prometheus /metrics is served either way.
type Telemetry struct {
	// Endpoint is the OTLP collector: host:port, optionally with a base
	// path (host:port/otel) or an http:// or https:// scheme.
	Endpoint string
	// Protocol is OTLPGRPC or OTLPHTTP (the default).
	Protocol string
	// Insecure sends in plain text (no TLS).
	Insecure bool
	// Tracing and Metrics turn the two signals on.
	Tracing, Metrics bool
	// SamplingRate is the fraction of new traces recorded (0 to 1); a
	// client's sampled decision is followed (parent-based).
	SamplingRate float64
	// ServiceName is the service.name resource attribute.
	ServiceName string
	// Headers are sent with every export.
	Headers map[string]string
	// SecretHeaders are sent with every export, their values read from
	// environment variables (secretKeyRef): header name → variable name.
	SecretHeaders map[string]string
	// ResourceAttributes are added to every signal's resource.
	ResourceAttributes map[string]string
	// CABundleFile is PEM the exporters trust besides the system roots.
	CABundleFile string
	// LegacyAttributes adds ToolHive's pre-semconv attribute names to spans
	// alongside the semantic-convention ones (useLegacyAttributes).
	LegacyAttributes bool
}

// EnvOTelHeaderPrefix starts the environment variables the operator sets
// from sensitive header Secrets (secretKeyRef); SecretHeaders maps each
// header to one of them.
const EnvOTelHeaderPrefix = "SWITCHBOARD_OTEL_HEADER_"

// EnvOTelHeader is the environment variable of the i-th sensitive header.
func EnvOTelHeader(i int) string { return EnvOTelHeaderPrefix + strconv.Itoa(i) }

// Enabled reports whether anything is exported.
func (t Telemetry) Enabled() bool { return t.Endpoint != "" && (t.Tracing || t.Metrics) }

// Validate refuses a configuration the exporters could not honour.
func (t Telemetry) Validate() error {
	switch {
	case t.Protocol != "" && t.Protocol != OTLPGRPC && t.Protocol != OTLPHTTP:
		return fmt.Errorf("--%s=%q: use %s or %s", flagOTelProtocol, t.Protocol, OTLPGRPC, OTLPHTTP)
	case t.SamplingRate < 0 || t.SamplingRate > 1:
		return fmt.Errorf("--%s=%v: give a fraction from 0 to 1", flagOTelSampling, t.SamplingRate)
	case (t.Tracing || t.Metrics) && t.Endpoint == "":
		return fmt.Errorf("--%s or --%s without --%s: say where to send them", flagOTelTracing, flagOTelMetrics, flagOTelEndpoint)
	case t.Insecure && t.CABundleFile != "":
		return fmt.Errorf("--%s and --%s: a CA bundle is for TLS, which --%s turns off", flagOTelInsecure, flagOTelCABundle, flagOTelInsecure)
	}
	return nil
}

const (
	flagAudit            = "audit"
	flagAuditRequestData = "audit-request-data"
	flagAuditMaxData     = "audit-max-data-size"
	flagOTelEndpoint     = "otel-endpoint"
	flagOTelProtocol     = "otel-protocol"
	flagOTelInsecure     = "otel-insecure"
	flagOTelTracing      = "otel-tracing"
	flagOTelMetrics      = "otel-metrics"
	flagOTelSampling     = "otel-sampling-rate"
	flagOTelService      = "otel-service-name"
	flagOTelHeader       = "otel-header"
	flagOTelSecretHeader = "otel-secret-header"
	flagOTelResource     = "otel-resource-attribute"
	flagOTelCABundle     = "otel-ca-bundle"
	flagOTelLegacy       = "otel-legacy-attributes"
)

// args renders a and t as proxy arguments, in a fixed order.
func observeArgs(a Audit, t Telemetry) []string {
	var args []string
	add := func(name, value string) {
		if value != "" {
			args = append(args, fmt.Sprintf("--%s=%s", name, value))
		}
	}
	flagIf := func(name string, on bool) {
		if on {
			add(name, "true")
		}
	}
	flagIf(flagAudit, a.Enabled)
	flagIf(flagAuditRequestData, a.IncludeRequestData)
	if a.MaxDataSize != 0 {
		add(flagAuditMaxData, strconv.Itoa(a.MaxDataSize))
	}
	add(flagOTelEndpoint, t.Endpoint)
	add(flagOTelProtocol, t.Protocol)
	flagIf(flagOTelInsecure, t.Insecure)
	flagIf(flagOTelTracing, t.Tracing)
	flagIf(flagOTelMetrics, t.Metrics)
	if t.Tracing {
		// Always written: 0 is a rate, and the flag's default is not.
		add(flagOTelSampling, strconv.FormatFloat(t.SamplingRate, 'g', -1, 64))
	}
	add(flagOTelService, t.ServiceName)
	for _, pairs := range []struct {
		flag string
		m    map[string]string
	}{{flagOTelHeader, t.Headers}, {flagOTelSecretHeader, t.SecretHeaders}, {flagOTelResource, t.ResourceAttributes}} {
		for _, k := range slices.Sorted(maps.Keys(pairs.m)) {
			add(pairs.flag, k+"="+pairs.m[k])
		}
	}
	add(flagOTelCABundle, t.CABundleFile)
	flagIf(flagOTelLegacy, t.LegacyAttributes)
	return args
}

// registerObserveFlags binds a's and t's fields to fs.
func registerObserveFlags(fs *flag.FlagSet, a *Audit, t *Telemetry) {
	fs.BoolVar(&a.Enabled, flagAudit, false, "write one JSON audit event per MCP operation to standard output")
	fs.BoolVar(&a.IncludeRequestData, flagAuditRequestData, false, "include the request's arguments in audit events (cut at --"+flagAuditMaxData+")")
	fs.IntVar(&a.MaxDataSize, flagAuditMaxData, 0, fmt.Sprintf("most bytes of request data in one audit event (0: %d)", DefaultAuditMaxDataSize))
	fs.StringVar(&t.Endpoint, flagOTelEndpoint, "", "OTLP collector host:port[/base-path] (or an http:// or https:// URL)")
	fs.StringVar(&t.Protocol, flagOTelProtocol, "", "OTLP protocol: grpc or http/protobuf (default http/protobuf)")
	fs.BoolVar(&t.Insecure, flagOTelInsecure, false, "export without TLS")
	fs.BoolVar(&t.Tracing, flagOTelTracing, false, "export traces")
	fs.BoolVar(&t.Metrics, flagOTelMetrics, false, "export metrics over OTLP (Prometheus /metrics is served either way)")
	fs.Float64Var(&t.SamplingRate, flagOTelSampling, DefaultSamplingRate, "fraction of new traces recorded, 0 to 1")
	fs.StringVar(&t.ServiceName, flagOTelService, "", "service.name of the proxy's telemetry")
	pairVar(fs, &t.Headers, flagOTelHeader, "a header sent with every export, name=value (repeat for more)")
	pairVar(fs, &t.SecretHeaders, flagOTelSecretHeader, "a header sent with every export whose value is in an environment variable, name=VARIABLE (repeat for more)")
	pairVar(fs, &t.ResourceAttributes, flagOTelResource, "a resource attribute of every signal, key=value (repeat for more)")
	fs.StringVar(&t.CABundleFile, flagOTelCABundle, "", "PEM file of CAs the exporters trust besides the system roots")
	fs.BoolVar(&t.LegacyAttributes, flagOTelLegacy, false, "add ToolHive's legacy attribute names to spans")
}

// pairVar is a repeatable key=value flag collected into *m.
func pairVar(fs *flag.FlagSet, m *map[string]string, name, usage string) {
	fs.Func(name, usage, func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("--%s=%q: give key=value", name, s)
		}
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[k] = v
		return nil
	})
}
