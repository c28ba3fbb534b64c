package access

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// TelemetryExport is what a proxy needs to export telemetry: its flags,
// and the Secret keys and CA bundle its pod must be given for them.
type TelemetryExport struct {
	// Config is rendered as the proxy's --otel-* flags.
	Config proxyconfig.Telemetry
	// SecretEnv are the environment variables Config.SecretHeaders names,
	// one per sensitive header, in spec order.
	SecretEnv []SecretEnv
	// CABundle is the ConfigMap key (defaulted) mounted at
	// Config.CABundleFile; nil without one.
	CABundle *v1beta1.ConfigMapKeySelector
}

// SecretEnv is an environment variable of the proxy set from a Secret key.
type SecretEnv struct {
	Name   string
	Secret v1beta1.SecretKeyRef
}

// Telemetry is what the proxy of a server exports for the MCPTelemetryConfig
// spec it references through ref, checked. It is the zero value when the
// config exports nothing: openTelemetry disabled (ToolHive's semantics), or
// no endpoint or signal.
func Telemetry(spec *v1beta1.MCPTelemetryConfigSpec, ref *v1beta1.MCPTelemetryConfigReference) (TelemetryExport, error) {
	if err := ValidateTelemetry(spec); err != nil {
		return TelemetryExport{}, err
	}
	o := spec.OpenTelemetry
	if o == nil || !o.Enabled {
		return TelemetryExport{}, nil
	}
	endpoint, _, _ := otlpEndpoint(o.Endpoint) // validated above
	t := proxyconfig.Telemetry{
		Endpoint:           endpoint,
		Protocol:           or(o.Protocol, proxyconfig.OTLPHTTP),
		Insecure:           o.Insecure,
		Tracing:            o.Tracing != nil && o.Tracing.Enabled,
		Metrics:            o.Metrics != nil && o.Metrics.Enabled,
		ServiceName:        ref.ServiceName,
		Headers:            o.Headers,
		ResourceAttributes: o.ResourceAttributes,
		LegacyAttributes:   o.UseLegacyAttributes,
	}
	if !t.Enabled() {
		return TelemetryExport{}, nil
	}
	if t.Tracing {
		t.SamplingRate, _ = samplingRate(o.Tracing.SamplingRate) // validated above
	}
	x := TelemetryExport{}
	for i, h := range o.SensitiveHeaders {
		env := proxyconfig.EnvOTelHeader(i)
		if t.SecretHeaders == nil {
			t.SecretHeaders = map[string]string{}
		}
		t.SecretHeaders[h.Name] = env
		x.SecretEnv = append(x.SecretEnv, SecretEnv{Name: env, Secret: h.SecretKeyRef})
	}
	if ca := o.CABundleRef; ca != nil {
		sel := *ca.ConfigMapRef
		sel.Key = or(sel.Key, v1beta1.DefaultTelemetryCABundleKey)
		x.CABundle = &sel
		t.CABundleFile = path.Join(naming.TelemetryCABundleDir(sel.Name), sel.Key)
	}
	x.Config = t
	return x, nil
}

// ValidateTelemetry reports what the proxy could not honour, naming the
// field: ToolHive's own checks (an endpoint needs a signal; insecure and a
// CA bundle exclude each other; the CA bundle's volume name), what the
// proxy's flags cannot carry, and what Switchboard does not do.
func ValidateTelemetry(spec *v1beta1.MCPTelemetryConfigSpec) error {
	if p := spec.Prometheus; p != nil && p.MetricsOnTransportPort != nil && !*p.MetricsOnTransportPort {
		return fmt.Errorf("spec.prometheus.metricsOnTransportPort: false is not supported: the Switchboard proxy has no separate diagnostics port " +
			"and serves /metrics only on its transport port; remove the field or set it to true")
	}
	o := spec.OpenTelemetry
	if o == nil {
		return nil
	}
	for _, check := range []func(*v1beta1.MCPTelemetryOTelConfig) error{checkSignals, checkEndpoint, checkHeaders, checkResourceAttributes, checkCABundle} {
		if err := check(o); err != nil {
			return err
		}
	}
	return nil
}

// checkSignals refuses an endpoint with nothing to send, signals with
// nowhere to go, and a rate that is not a fraction.
func checkSignals(o *v1beta1.MCPTelemetryOTelConfig) error {
	tracing := o.Tracing != nil && o.Tracing.Enabled
	metrics := o.Metrics != nil && o.Metrics.Enabled
	switch {
	case o.Endpoint != "" && !tracing && !metrics:
		return fmt.Errorf("spec.openTelemetry.endpoint: needs tracing.enabled or metrics.enabled: with neither there is nothing to send (ToolHive refuses this too)")
	case o.Enabled && o.Endpoint == "" && (tracing || metrics):
		return fmt.Errorf("spec.openTelemetry.endpoint: required to send traces or metrics: the collector's host:port, e.g. otel-collector.monitoring:4318")
	case o.Protocol != "" && o.Protocol != v1beta1.OTLPProtocolGRPC && o.Protocol != v1beta1.OTLPProtocolHTTP:
		return fmt.Errorf("spec.openTelemetry.protocol: %q is not %s or %s", o.Protocol, v1beta1.OTLPProtocolHTTP, v1beta1.OTLPProtocolGRPC)
	}
	if o.Tracing != nil && o.Tracing.SamplingRate != "" {
		if _, err := samplingRate(o.Tracing.SamplingRate); err != nil {
			return fmt.Errorf("spec.openTelemetry.tracing.samplingRate: %w", err)
		}
	}
	return nil
}

// checkResourceAttributes refuses keys the proxy's key=value flags cannot
// carry, and service.name, which each server sets for itself.
func checkResourceAttributes(o *v1beta1.MCPTelemetryOTelConfig) error {
	for k := range o.ResourceAttributes {
		switch {
		case k == "" || strings.Contains(k, "="):
			return fmt.Errorf("spec.openTelemetry.resourceAttributes: %q is not an attribute key: give a non-empty key without '='", k)
		case k == "service.name":
			return fmt.Errorf("spec.openTelemetry.resourceAttributes: service.name is set per server: remove it here and set telemetryConfigRef.serviceName in each MCPServer")
		}
	}
	return nil
}

// checkEndpoint refuses an endpoint the exporters cannot reach as written.
func checkEndpoint(o *v1beta1.MCPTelemetryOTelConfig) error {
	if o.Endpoint == "" {
		return nil
	}
	endpoint, scheme, err := otlpEndpoint(o.Endpoint)
	if err != nil {
		return fmt.Errorf("spec.openTelemetry.endpoint: %w", err)
	}
	if scheme == "https" && o.Insecure {
		return fmt.Errorf("spec.openTelemetry.insecure: true exports in plain text, but the endpoint says https://: remove insecure, or the scheme")
	}
	if o.Protocol == v1beta1.OTLPProtocolGRPC {
		if _, p, ok := strings.Cut(endpoint, "/"); ok {
			return fmt.Errorf("spec.openTelemetry.endpoint: a gRPC collector is host:port, without a path: remove /%s, or set protocol to %s", p, v1beta1.OTLPProtocolHTTP)
		}
	}
	return nil
}

// checkHeaders refuses header names and values the exporters cannot send,
// and one header set twice: HTTP header names are case-insensitive, so
// the CEL rule's exact comparison misses Authorization and authorization.
func checkHeaders(o *v1beta1.MCPTelemetryOTelConfig) error {
	seen := map[string]string{}
	for name, value := range o.Headers {
		if err := checkHeader(name, value); err != nil {
			return fmt.Errorf("spec.openTelemetry.headers: %w", err)
		}
		seen[strings.ToLower(name)] = "headers"
	}
	for i, h := range o.SensitiveHeaders {
		field := fmt.Sprintf("spec.openTelemetry.sensitiveHeaders[%d]", i)
		if err := checkHeader(h.Name, ""); err != nil {
			return fmt.Errorf("%s.name: %w", field, err)
		}
		if h.SecretKeyRef.Name == "" || h.SecretKeyRef.Key == "" {
			return fmt.Errorf("%s.secretKeyRef: name and key are required: the Secret key holding the header's value", field)
		}
		if first, dup := seen[strings.ToLower(h.Name)]; dup {
			return fmt.Errorf("%s.name: %q is already set by %s (header names are case-insensitive): keep one", field, h.Name, first)
		}
		seen[strings.ToLower(h.Name)] = field
	}
	return nil
}

func checkHeader(name, value string) error {
	if msgs := validation.IsHTTPHeaderName(name); len(msgs) > 0 {
		return fmt.Errorf("%q is not an HTTP header name: %s", name, strings.Join(msgs, "; "))
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return fmt.Errorf("the value of %q has a line break or NUL, which no HTTP header can carry", name)
	}
	return nil
}

// checkCABundle is ToolHive's CA bundle check, with the volume name the
// bundle gets in the proxy pod checked as the API server will.
func checkCABundle(o *v1beta1.MCPTelemetryOTelConfig) error {
	ca := o.CABundleRef
	if ca == nil {
		return nil
	}
	if o.Insecure {
		return fmt.Errorf("spec.openTelemetry.caBundleRef: not with insecure: true: a CA bundle is for TLS, which insecure turns off; remove one of them")
	}
	sel := ca.ConfigMapRef
	if sel == nil || sel.Name == "" {
		return fmt.Errorf("spec.openTelemetry.caBundleRef.configMapRef: required: name the ConfigMap with the PEM bundle")
	}
	volume := naming.TelemetryCABundleVolume(sel.Name)
	if msgs := validation.IsDNS1123Label(volume); len(msgs) > 0 {
		return fmt.Errorf("spec.openTelemetry.caBundleRef.configMapRef.name: %q cannot name the proxy pod's volume %s (%s): the name can have at most %d characters",
			sel.Name, volume, strings.Join(msgs, "; "), validation.DNS1123LabelMaxLength-len(naming.TelemetryCABundleVolume("")))
	}
	if msgs := validation.IsConfigMapKey(sel.Key); sel.Key != "" && len(msgs) > 0 {
		return fmt.Errorf("spec.openTelemetry.caBundleRef.configMapRef.key: %q is not a ConfigMap key: %s", sel.Key, strings.Join(msgs, "; "))
	}
	return nil
}

// otlpEndpoint is raw as host:port[/path], and the scheme it was written
// with ("" for none). As in ToolHive the scheme is dropped; a URL without a
// port gets its scheme's, so that no exporter has to guess it.
func otlpEndpoint(raw string) (endpoint, scheme string, err error) {
	const form = "give host:port[/path] or an http:// or https:// URL, e.g. otel-collector.monitoring:4318"
	scheme, rest, hasScheme := strings.Cut(raw, "://")
	if !hasScheme {
		scheme, rest = "", raw
	}
	u, perr := url.Parse("//" + rest)
	switch {
	case strings.ContainsAny(raw, " \t\r\n"):
		return "", "", fmt.Errorf("%q has white space: %s", raw, form)
	case hasScheme && scheme != "http" && scheme != "https":
		return "", "", fmt.Errorf("%q: the scheme %q is not http or https: %s", raw, scheme, form)
	case perr != nil:
		return "", "", fmt.Errorf("%q: %s", raw, form)
	case u.Host == "" || u.Hostname() == "":
		return "", "", fmt.Errorf("%q has no host: %s", raw, form)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Contains(rest, "?") || strings.Contains(rest, "#"):
		return "", "", fmt.Errorf("%q: user information, a query or a fragment cannot be sent to a collector: %s", raw, form)
	}
	port, err := endpointPort(raw, u.Port(), scheme)
	if err != nil {
		return "", "", fmt.Errorf("%w: %s", err, form)
	}
	return net.JoinHostPort(u.Hostname(), port) + strings.TrimSuffix(u.EscapedPath(), "/"), scheme, nil
}

// endpointPort is the endpoint's port, its scheme's when it names none.
func endpointPort(raw, port, scheme string) (string, error) {
	switch {
	case port == "" && scheme == "":
		return "", fmt.Errorf("%q has no port", raw)
	case port == "" && scheme == "https":
		return "443", nil
	case port == "":
		return "80", nil
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q: port %s is not between 1 and 65535", raw, port)
	}
	return port, nil
}

func samplingRate(s string) (float64, error) {
	if s == "" {
		s = v1beta1.DefaultSamplingRate
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || r < 0 || r > 1 {
		return 0, fmt.Errorf("%q is not a fraction from 0 to 1", s)
	}
	return r, nil
}

// TelemetryWarnings are what in an MCPTelemetryConfig applies but does not
// do what it seems to.
func TelemetryWarnings(spec *v1beta1.MCPTelemetryConfigSpec) []string {
	var out []string
	if p := spec.Prometheus; p != nil && !p.Enabled {
		out = append(out, "spec.prometheus.enabled: false does not turn /metrics off: the Switchboard proxy always serves it on its port (counters and latencies, no request data)")
	}
	o := spec.OpenTelemetry
	if o == nil {
		return out
	}
	tracing := o.Tracing != nil && o.Tracing.Enabled
	metrics := o.Metrics != nil && o.Metrics.Enabled
	switch {
	case !o.Enabled && (o.Endpoint != "" || tracing || metrics):
		return append(out, "spec.openTelemetry.enabled is false, so nothing is exported, whatever endpoint, tracing and metrics say (as in ToolHive): set enabled: true to export")
	case !o.Enabled:
		return out
	case o.Endpoint == "":
		return append(out, "spec.openTelemetry.enabled is true but no endpoint, tracing or metrics is set: nothing is exported")
	}
	out = append(out, endpointWarnings(o)...)
	if o.Insecure && len(o.SensitiveHeaders) > 0 {
		out = append(out, "spec.openTelemetry.sensitiveHeaders are sent in plain text, because insecure is true: anyone on the path to the collector can read them")
	}
	return out
}

// endpointWarnings: an http:// scheme that does not mean plain text, and a
// port that is another protocol's.
func endpointWarnings(o *v1beta1.MCPTelemetryOTelConfig) []string {
	var out []string
	endpoint, scheme, _ := otlpEndpoint(o.Endpoint)
	if scheme == "http" && !o.Insecure {
		out = append(out, fmt.Sprintf("spec.openTelemetry.endpoint: the http:// scheme does not turn TLS off (ToolHive drops it, and so does Switchboard): "+
			"insecure is false, so the proxy exports to %s over TLS; set insecure: true to export in plain text", endpoint))
	}
	protocol := or(o.Protocol, v1beta1.OTLPProtocolHTTP)
	if _, port, err := net.SplitHostPort(strings.SplitN(endpoint, "/", 2)[0]); err == nil {
		switch {
		case port == "4317" && protocol == v1beta1.OTLPProtocolHTTP:
			out = append(out, "spec.openTelemetry.endpoint: port 4317 is where collectors take OTLP over gRPC, but protocol is http/protobuf "+
				"(the default, and ToolHive's only protocol), usually on port 4318: use port 4318, or set protocol: grpc")
		case port == "4318" && protocol == v1beta1.OTLPProtocolGRPC:
			out = append(out, "spec.openTelemetry.endpoint: port 4318 is where collectors take OTLP over HTTP, but protocol is grpc, usually on port 4317: use port 4317, or set protocol: http/protobuf")
		}
	}
	return out
}
