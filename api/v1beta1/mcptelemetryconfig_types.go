package v1beta1

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OTLP protocols of spec.openTelemetry.protocol.
const (
	OTLPProtocolGRPC = "grpc"
	OTLPProtocolHTTP = "http/protobuf"
)

// DefaultTelemetryCABundleKey is the ConfigMap key read for a telemetry CA
// bundle when caBundleRef.configMapRef names none (ToolHive's default).
const DefaultTelemetryCABundleKey = "ca.crt"

// DefaultSamplingRate is the fraction of new traces recorded when
// tracing.samplingRate is not set (ToolHive's default).
const DefaultSamplingRate = "0.05"

// MCPTelemetryConfigSpec is where the proxies of the MCPServers that
// reference it send OpenTelemetry traces and metrics, and how they offer
// Prometheus metrics.
type MCPTelemetryConfigSpec struct {
	// OpenTelemetry is the OTLP export: collector endpoint, traces, metrics.
	// +optional
	OpenTelemetry *MCPTelemetryOTelConfig `json:"openTelemetry,omitempty"`
	// Prometheus is the /metrics endpoint. The proxy always serves it on
	// its own port; admission warns when enabled is false and refuses
	// metricsOnTransportPort false.
	// +optional
	Prometheus *PrometheusConfig `json:"prometheus,omitempty"`
}

// MCPTelemetryOTelConfig is the OTLP export of an MCPTelemetryConfig. The
// per-server service name is set by each MCPServer's telemetryConfigRef.
// +kubebuilder:validation:XValidation:rule="!has(self.headers) || !has(self.sensitiveHeaders) || self.sensitiveHeaders.all(sh, !(sh.name in self.headers))",message="a header name cannot appear in both headers and sensitiveHeaders"
type MCPTelemetryOTelConfig struct {
	// Enabled turns the OTLP export on. While it is false nothing is
	// exported, whatever tracing and metrics say (as in ToolHive).
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// Endpoint is the OTLP collector: host:port, optionally with a base
	// path (host:port/otel), or an http:// or https:// URL. As in ToolHive
	// the scheme is dropped and insecure alone decides whether TLS is used.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// Protocol is how the proxy speaks to the collector: http/protobuf
	// (OTLP over HTTP, usually port 4318) or grpc (usually port 4317).
	// A Switchboard extension: ToolHive exports over OTLP/HTTP only, which
	// is the default.
	// +kubebuilder:validation:Enum=grpc;http/protobuf
	// +kubebuilder:default="http/protobuf"
	// +optional
	Protocol string `json:"protocol,omitempty"`

	// Insecure exports in plain text, without TLS.
	// +kubebuilder:default=false
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// Headers are sent with every export. Put credentials in
	// sensitiveHeaders instead.
	// +optional
	Headers map[string]string `json:"headers,omitempty"`

	// SensitiveHeaders are sent with every export, their values read from
	// Secrets in the namespace (given to the proxy container as environment
	// variables; a change of a value rolls the proxy).
	// +listType=map
	// +listMapKey=name
	// +optional
	SensitiveHeaders []SensitiveHeader `json:"sensitiveHeaders,omitempty"`

	// ResourceAttributes are added to the resource of every signal, e.g.
	// deployment.environment. service.name is set per server by
	// telemetryConfigRef.serviceName.
	// +optional
	ResourceAttributes map[string]string `json:"resourceAttributes,omitempty"`

	// Metrics pushes metrics to the collector over OTLP.
	// +optional
	Metrics *OpenTelemetryMetricsConfig `json:"metrics,omitempty"`

	// Tracing sends traces to the collector.
	// +optional
	Tracing *OpenTelemetryTracingConfig `json:"tracing,omitempty"`

	// UseLegacyAttributes adds ToolHive's pre-semantic-convention attribute
	// names to spans beside the MCP semantic-convention ones.
	// +kubebuilder:default=true
	// +optional
	UseLegacyAttributes bool `json:"useLegacyAttributes"`

	// CABundleRef is a ConfigMap key (default ca.crt) with PEM certificates
	// the proxy trusts for the collector besides the system roots; it is
	// mounted read-only into the proxy pod. Not with insecure.
	// +optional
	CABundleRef *CABundleSource `json:"caBundleRef,omitempty"`
}

// SensitiveHeader is an export header whose value is a Secret key.
type SensitiveHeader struct {
	// Name of the header, e.g. Authorization or X-API-Key.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// SecretKeyRef is the Secret key holding the header's value.
	// +required
	SecretKeyRef SecretKeyRef `json:"secretKeyRef"`
}

// OpenTelemetryTracingConfig is the trace export.
type OpenTelemetryTracingConfig struct {
	// Enabled sends traces.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// SamplingRate is the fraction of new traces recorded, from 0 to 1; a
	// client's own sampling decision is followed.
	// +kubebuilder:default="0.05"
	// +kubebuilder:validation:Pattern=`^(0(\.\d+)?|1(\.0+)?)$`
	// +optional
	SamplingRate string `json:"samplingRate,omitempty"`
}

// OpenTelemetryMetricsConfig is the OTLP metrics push.
type OpenTelemetryMetricsConfig struct {
	// Enabled pushes metrics over OTLP.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`
}

// PrometheusConfig is the Prometheus /metrics endpoint.
type PrometheusConfig struct {
	// Enabled exposes /metrics. The Switchboard proxy serves /metrics on
	// its port whatever this says; admission warns when it is false.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// MetricsOnTransportPort: /metrics on the MCP port as well as on a
	// separate diagnostics port (ToolHive). The Switchboard proxy has one
	// port and serves /metrics there, so false is refused at admission.
	// +optional
	MetricsOnTransportPort *bool `json:"metricsOnTransportPort,omitempty"`
}

// MCPTelemetryConfig is a telemetry setup that MCPServers in its namespace
// reference through spec.telemetryConfigRef.
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=mcpotel,categories=toolhive
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.spec.openTelemetry.endpoint`
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=='Valid')].status`
// +kubebuilder:printcolumn:name="Tracing",type=boolean,JSONPath=`.spec.openTelemetry.tracing.enabled`
// +kubebuilder:printcolumn:name="Metrics",type=boolean,JSONPath=`.spec.openTelemetry.metrics.enabled`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MCPTelemetryConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   MCPTelemetryConfigSpec `json:"spec,omitempty"`
	Status ConfigStatus           `json:"status,omitempty"`
}

// MCPTelemetryConfigList is a list of MCPTelemetryConfigs.
// +kubebuilder:object:root=true
type MCPTelemetryConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MCPTelemetryConfig `json:"items"`
}

// References lists the Secrets and ConfigMaps the config reads besides
// itself: the sensitive headers' Secrets and the CA bundle. The servers that
// reference the config are requeued when one of them changes.
func (c *MCPTelemetryConfig) References() []Reference {
	o := c.Spec.OpenTelemetry
	if o == nil {
		return nil
	}
	var refs []Reference
	for i, h := range o.SensitiveHeaders {
		refs = append(refs, Reference{Path: fmt.Sprintf("spec.openTelemetry.sensitiveHeaders[%d].secretKeyRef", i), Kind: ReferenceSecret,
			Name: h.SecretKeyRef.Name, Key: h.SecretKeyRef.Key, Consumer: ConsumerProxy})
	}
	if o.CABundleRef != nil && o.CABundleRef.ConfigMapRef != nil {
		sel := o.CABundleRef.ConfigMapRef
		r := Reference{Path: "spec.openTelemetry.caBundleRef.configMapRef", Kind: ReferenceConfigMap,
			Name: sel.Name, Key: sel.Key, Consumer: ConsumerProxy}
		if r.Key == "" {
			r.Key, r.KeyDefaulted = DefaultTelemetryCABundleKey, true
		}
		refs = append(refs, r)
	}
	return refs
}

func init() {
	SchemeBuilder.Register(&MCPTelemetryConfig{}, &MCPTelemetryConfigList{})
}
