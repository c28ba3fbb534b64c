package access

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func TestTelemetryExport(t *testing.T) {
	ref := &v1beta1.MCPTelemetryConfigReference{Name: "otel", ServiceName: "mcp-fetch-server"}
	on := func(o v1beta1.MCPTelemetryOTelConfig) *v1beta1.MCPTelemetryConfigSpec {
		o.Enabled = true
		return &v1beta1.MCPTelemetryConfigSpec{OpenTelemetry: &o}
	}
	tests := []struct {
		name string
		spec *v1beta1.MCPTelemetryConfigSpec
		want TelemetryExport
	}{
		{
			name: "ToolHive's fetch example exports traces and metrics over OTLP/HTTP in plain text",
			spec: on(v1beta1.MCPTelemetryOTelConfig{
				Endpoint: "otel-collector-opentelemetry-collector.monitoring.svc.cluster.local:4318", Insecure: true, UseLegacyAttributes: true,
				Tracing: &v1beta1.OpenTelemetryTracingConfig{Enabled: true, SamplingRate: "0.1"},
				Metrics: &v1beta1.OpenTelemetryMetricsConfig{Enabled: true},
			}),
			want: TelemetryExport{Config: proxyconfig.Telemetry{
				Endpoint: "otel-collector-opentelemetry-collector.monitoring.svc.cluster.local:4318", Protocol: "http/protobuf", Insecure: true,
				Tracing: true, Metrics: true, SamplingRate: 0.1, ServiceName: "mcp-fetch-server", LegacyAttributes: true,
			}},
		},
		{
			name: "sensitive headers become environment variables by position and the CA bundle a file",
			spec: on(v1beta1.MCPTelemetryOTelConfig{
				Endpoint: "https://collector.example.com/otel/", Protocol: "http/protobuf",
				Tracing: &v1beta1.OpenTelemetryTracingConfig{Enabled: true},
				Headers: map[string]string{"X-Tenant": "a"}, ResourceAttributes: map[string]string{"deployment.environment": "prod"},
				SensitiveHeaders: []v1beta1.SensitiveHeader{
					{Name: "Authorization", SecretKeyRef: v1beta1.SecretKeyRef{Name: "otel-auth", Key: "bearer"}},
					{Name: "X-API-Key", SecretKeyRef: v1beta1.SecretKeyRef{Name: "otel-auth", Key: "key"}},
				},
				CABundleRef: &v1beta1.CABundleSource{ConfigMapRef: &v1beta1.ConfigMapKeySelector{Name: "otel-ca"}},
			}),
			want: TelemetryExport{
				Config: proxyconfig.Telemetry{
					Endpoint: "collector.example.com:443/otel", Protocol: "http/protobuf", Tracing: true, SamplingRate: 0.05, ServiceName: "mcp-fetch-server",
					Headers:            map[string]string{"X-Tenant": "a"},
					SecretHeaders:      map[string]string{"Authorization": "SWITCHBOARD_OTEL_HEADER_0", "X-API-Key": "SWITCHBOARD_OTEL_HEADER_1"},
					ResourceAttributes: map[string]string{"deployment.environment": "prod"},
					CABundleFile:       "/config/certs/otel/otel-ca/ca.crt",
				},
				SecretEnv: []SecretEnv{
					{Name: "SWITCHBOARD_OTEL_HEADER_0", Secret: v1beta1.SecretKeyRef{Name: "otel-auth", Key: "bearer"}},
					{Name: "SWITCHBOARD_OTEL_HEADER_1", Secret: v1beta1.SecretKeyRef{Name: "otel-auth", Key: "key"}},
				},
				CABundle: &v1beta1.ConfigMapKeySelector{Name: "otel-ca", Key: "ca.crt"},
			},
		},
		{
			name: "gRPC metrics only, to an http URL without a port, which gets port 80",
			spec: on(v1beta1.MCPTelemetryOTelConfig{Endpoint: "http://collector", Protocol: "grpc", Insecure: true,
				Metrics: &v1beta1.OpenTelemetryMetricsConfig{Enabled: true}}),
			want: TelemetryExport{Config: proxyconfig.Telemetry{Endpoint: "collector:80", Protocol: "grpc", Insecure: true, Metrics: true,
				ServiceName: "mcp-fetch-server"}},
		},
		{
			name: "openTelemetry.enabled false exports nothing whatever the signals say (ToolHive's semantics)",
			spec: &v1beta1.MCPTelemetryConfigSpec{OpenTelemetry: &v1beta1.MCPTelemetryOTelConfig{Endpoint: "http://otel-collector:4317",
				Tracing: &v1beta1.OpenTelemetryTracingConfig{Enabled: true}, Metrics: &v1beta1.OpenTelemetryMetricsConfig{Enabled: true}}},
		},
		{
			name: "prometheus alone exports nothing: /metrics is served anyway",
			spec: &v1beta1.MCPTelemetryConfigSpec{Prometheus: &v1beta1.PrometheusConfig{Enabled: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Telemetry(tt.spec, ref)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("export (-want +got):\n%s", d)
			}
		})
	}
}

func TestTelemetryRefusals(t *testing.T) {
	otel := func(o v1beta1.MCPTelemetryOTelConfig) *v1beta1.MCPTelemetryConfigSpec {
		o.Enabled = true
		if o.Tracing == nil {
			o.Tracing = &v1beta1.OpenTelemetryTracingConfig{Enabled: true}
		}
		return &v1beta1.MCPTelemetryConfigSpec{OpenTelemetry: &o}
	}
	tests := []struct {
		name string
		spec *v1beta1.MCPTelemetryConfigSpec
		want string
	}{
		{"an endpoint without a signal", &v1beta1.MCPTelemetryConfigSpec{OpenTelemetry: &v1beta1.MCPTelemetryOTelConfig{Endpoint: "c:4318"}},
			"spec.openTelemetry.endpoint: needs tracing.enabled or metrics.enabled"},
		{"a signal without an endpoint", otel(v1beta1.MCPTelemetryOTelConfig{}), "spec.openTelemetry.endpoint: required to send traces or metrics"},
		{"a bare host without a port", otel(v1beta1.MCPTelemetryOTelConfig{Endpoint: "collector"}), `"collector" has no port`},
		{"another scheme", otel(v1beta1.MCPTelemetryOTelConfig{Endpoint: "grpc://collector:4317"}), `the scheme "grpc" is not http or https`},
		{"a query", otel(v1beta1.MCPTelemetryOTelConfig{Endpoint: "https://c:4318/v1?x=1"}), "a query or a fragment"},
		{"a port out of range", otel(v1beta1.MCPTelemetryOTelConfig{Endpoint: "c:70000"}), "port 70000 is not between 1 and 65535"},
		{"https with insecure", otel(v1beta1.MCPTelemetryOTelConfig{Endpoint: "https://c:4318", Insecure: true}), "spec.openTelemetry.insecure: true exports in plain text"},
		{"a gRPC endpoint with a path", otel(v1beta1.MCPTelemetryOTelConfig{Endpoint: "c:4317/otel", Protocol: "grpc"}), "remove /otel"},
		{"a sampling rate above 1", otel(v1beta1.MCPTelemetryOTelConfig{Endpoint: "c:4318", Tracing: &v1beta1.OpenTelemetryTracingConfig{Enabled: true, SamplingRate: "1.5"}}),
			`spec.openTelemetry.tracing.samplingRate: "1.5" is not a fraction from 0 to 1`},
		{"a header name with a colon", otel(v1beta1.MCPTelemetryOTelConfig{Endpoint: "c:4318", Headers: map[string]string{"X-A:": "v"}}),
			`spec.openTelemetry.headers: "X-A:" is not an HTTP header name`},
		{"a header value with a line break", otel(v1beta1.MCPTelemetryOTelConfig{Endpoint: "c:4318", Headers: map[string]string{"X-A": "v\r\nX-B: w"}}),
			"line break"},
		{"one header in both lists, in other cases", otel(v1beta1.MCPTelemetryOTelConfig{Endpoint: "c:4318", Headers: map[string]string{"authorization": "x"},
			SensitiveHeaders: []v1beta1.SensitiveHeader{{Name: "Authorization", SecretKeyRef: v1beta1.SecretKeyRef{Name: "s", Key: "k"}}}}),
			`spec.openTelemetry.sensitiveHeaders[0].name: "Authorization" is already set by headers`},
		{"service.name as a resource attribute", otel(v1beta1.MCPTelemetryOTelConfig{Endpoint: "c:4318", ResourceAttributes: map[string]string{"service.name": "x"}}),
			"telemetryConfigRef.serviceName"},
		{"a CA bundle with insecure", otel(v1beta1.MCPTelemetryOTelConfig{Endpoint: "c:4318", Insecure: true,
			CABundleRef: &v1beta1.CABundleSource{ConfigMapRef: &v1beta1.ConfigMapKeySelector{Name: "ca"}}}), "spec.openTelemetry.caBundleRef: not with insecure: true"},
		{"a CA bundle ConfigMap whose name makes too long a volume name", otel(v1beta1.MCPTelemetryOTelConfig{Endpoint: "c:4318",
			CABundleRef: &v1beta1.CABundleSource{ConfigMapRef: &v1beta1.ConfigMapKeySelector{Name: strings.Repeat("a", 49)}}}),
			"at most 48 characters"},
		{"metrics off the transport port", &v1beta1.MCPTelemetryConfigSpec{Prometheus: &v1beta1.PrometheusConfig{MetricsOnTransportPort: ptr.To(false)}},
			"spec.prometheus.metricsOnTransportPort: false is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTelemetry(tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestTelemetryWarnings(t *testing.T) {
	tests := []struct {
		name string
		spec v1beta1.MCPTelemetryConfigSpec
		want []string
	}{
		{"ToolHive's fetch example warns about nothing", v1beta1.MCPTelemetryConfigSpec{
			OpenTelemetry: &v1beta1.MCPTelemetryOTelConfig{Enabled: true, Endpoint: "c:4318", Insecure: true,
				Tracing: &v1beta1.OpenTelemetryTracingConfig{Enabled: true}},
			Prometheus: &v1beta1.PrometheusConfig{Enabled: true}}, nil},
		{"an http URL over TLS, on the gRPC port", v1beta1.MCPTelemetryConfigSpec{
			OpenTelemetry: &v1beta1.MCPTelemetryOTelConfig{Enabled: true, Endpoint: "http://otel-collector:4317",
				Tracing: &v1beta1.OpenTelemetryTracingConfig{Enabled: true}}}, []string{
			"spec.openTelemetry.endpoint: the http:// scheme does not turn TLS off (ToolHive drops it, and so does Switchboard): " +
				"insecure is false, so the proxy exports to otel-collector:4317 over TLS; set insecure: true to export in plain text",
			"spec.openTelemetry.endpoint: port 4317 is where collectors take OTLP over gRPC, but protocol is http/protobuf " +
				"(the default, and ToolHive's only protocol), usually on port 4318: use port 4318, or set protocol: grpc",
		}},
		{"credentials in plain text", v1beta1.MCPTelemetryConfigSpec{
			OpenTelemetry: &v1beta1.MCPTelemetryOTelConfig{Enabled: true, Endpoint: "c:4317", Protocol: "grpc", Insecure: true,
				Metrics:          &v1beta1.OpenTelemetryMetricsConfig{Enabled: true},
				SensitiveHeaders: []v1beta1.SensitiveHeader{{Name: "Authorization", SecretKeyRef: v1beta1.SecretKeyRef{Name: "s", Key: "k"}}}}},
			[]string{"spec.openTelemetry.sensitiveHeaders are sent in plain text, because insecure is true: anyone on the path to the collector can read them"}},
		{"disabled export says only that", v1beta1.MCPTelemetryConfigSpec{
			OpenTelemetry: &v1beta1.MCPTelemetryOTelConfig{Endpoint: "http://otel-collector:4317", Tracing: &v1beta1.OpenTelemetryTracingConfig{Enabled: true}},
			Prometheus:    &v1beta1.PrometheusConfig{}}, []string{
			"spec.prometheus.enabled: false does not turn /metrics off: the Switchboard proxy always serves it on its port (counters and latencies, no request data)",
			"spec.openTelemetry.enabled is false, so nothing is exported, whatever endpoint, tracing and metrics say (as in ToolHive): set enabled: true to export",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, TelemetryWarnings(&tt.spec)); d != "" {
				t.Errorf("warnings (-want +got):\n%s", d)
			}
		})
	}
}
