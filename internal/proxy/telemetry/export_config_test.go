package telemetry

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// destination is what the exporters make of an endpoint.
type destination struct {
	GRPC     bool
	HostPort string
	BasePath string
	Insecure bool
}

func TestEndpointForms(t *testing.T) {
	cases := []struct {
		name     string
		endpoint string
		protocol string
		insecure bool
		want     destination
	}{
		{"host:port is TLS unless told otherwise", "otel-collector:4318", "", false,
			destination{HostPort: "otel-collector:4318"}},
		{"host:port with --otel-insecure is plain text", "otel-collector:4318", "", true,
			destination{HostPort: "otel-collector:4318", Insecure: true}},
		{"a base path goes before /v1/traces", "collector.example.com:443/otlp/", "", false,
			destination{HostPort: "collector.example.com:443", BasePath: "/otlp"}},
		{"http:// means plain text", "http://collector:4318", "", false,
			destination{HostPort: "collector:4318", Insecure: true}},
		{"https:// keeps its path and may omit the port", "https://ingest.example.com/v1/otlp", "", false,
			destination{HostPort: "ingest.example.com", BasePath: "/v1/otlp"}},
		{"gRPC takes host:port", "collector:4317", proxyconfig.OTLPGRPC, true,
			destination{GRPC: true, HostPort: "collector:4317", Insecure: true}},
		{"an IPv6 address", "[::1]:4318", "", true,
			destination{HostPort: "[::1]:4318", Insecure: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			col, err := newCollector(proxyconfig.Telemetry{Endpoint: c.endpoint, Protocol: c.protocol, Insecure: c.insecure, Tracing: true})
			if err != nil {
				t.Fatal(err)
			}
			got := destination{GRPC: col.grpc, HostPort: col.hostPort, BasePath: col.basePath, Insecure: col.insecure}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfigurationsTheExportersCannotHonourAreRefusedNamingTheFlag(t *testing.T) {
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OTEL_EMPTY_TOKEN", "")
	cases := []struct {
		name string
		cfg  proxyconfig.Telemetry
		want string
	}{
		{"no port", proxyconfig.Telemetry{Endpoint: "collector"},
			`--otel-endpoint="collector": give host:port`},
		{"another scheme", proxyconfig.Telemetry{Endpoint: "grpc://collector:4317"},
			`--otel-endpoint="grpc://collector:4317": use an http:// or https:// URL`},
		{"credentials in the URL", proxyconfig.Telemetry{Endpoint: "https://user:pw@collector"},
			"pass them with --otel-header or --otel-secret-header"},
		{"a query", proxyconfig.Telemetry{Endpoint: "https://collector/otlp?x=1"},
			"a query or fragment is not sent"},
		{"https:// told to send in plain text", proxyconfig.Telemetry{Endpoint: "https://collector", Insecure: true},
			"use http:// to send in plain text"},
		{"a path over gRPC", proxyconfig.Telemetry{Endpoint: "collector:4317/otlp", Protocol: proxyconfig.OTLPGRPC},
			"a base path is for --otel-protocol=http/protobuf"},
		{"a CA bundle for plain text", proxyconfig.Telemetry{Endpoint: "http://collector:4318", CABundleFile: bundle},
			"--otel-ca-bundle=" + bundle + " with a plain-text endpoint"},
		{"a CA bundle without PEM", proxyconfig.Telemetry{Endpoint: "collector:4318", CABundleFile: bundle},
			"--otel-ca-bundle=" + bundle + ": no PEM certificate"},
		{"a CA bundle that is not there", proxyconfig.Telemetry{Endpoint: "collector:4318", CABundleFile: bundle + ".missing"},
			"--otel-ca-bundle=" + bundle + ".missing: open"},
		{"a secret header whose variable is unset", proxyconfig.Telemetry{Endpoint: "collector:4318",
			SecretHeaders: map[string]string{"Authorization": "OTEL_UNSET_TOKEN"}},
			"--otel-secret-header=Authorization=OTEL_UNSET_TOKEN: environment variable OTEL_UNSET_TOKEN is unset or empty"},
		{"a secret header whose variable is empty", proxyconfig.Telemetry{Endpoint: "collector:4318",
			SecretHeaders: map[string]string{"X-Key": "OTEL_EMPTY_TOKEN"}},
			"environment variable OTEL_EMPTY_TOKEN is unset or empty"},
		{"a sampling rate over 1 (proxyconfig's own check)", proxyconfig.Telemetry{Endpoint: "collector:4318", SamplingRate: 2},
			"--otel-sampling-rate=2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Tracing = true
			_, err := New(context.Background(), c.cfg, "github", proxyconfig.TransportStdio, prometheus.NewRegistry(), quiet)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}

func TestSecretHeadersAreReadFromTheEnvironment(t *testing.T) {
	t.Setenv("OTEL_TOKEN", "Bearer s3cret")
	got, err := exportHeaders(map[string]string{"X-Tenant": "acme"}, map[string]string{"Authorization": "OTEL_TOKEN"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"X-Tenant": "acme", "Authorization": "Bearer s3cret"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
