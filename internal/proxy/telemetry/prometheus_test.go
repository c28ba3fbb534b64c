package telemetry

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// Metrics made from the MeterProvider are served at the proxy's /metrics
// under ToolHive's names, whether or not anything is exported.
func TestMetricsAppearInTheProxysRegistryUnderToolHivesNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	tel, err := New(context.Background(), proxyconfig.Telemetry{}, "github", proxyconfig.TransportStdio, reg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tel.Shutdown(context.Background()) }()
	meter := tel.MeterProvider().Meter(instrumentation)
	requests, err := meter.Int64Counter("toolhive_mcp_requests", metric.WithDescription("Total number of MCP requests"))
	if err != nil {
		t.Fatal(err)
	}
	duration, err := meter.Float64Histogram("mcp.server.operation.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of MCP server operations"), metric.WithExplicitBucketBoundaries(OperationDurationBuckets...))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	requests.Add(ctx, 1, metric.WithAttributes(attribute.String("mcp_method", "tools/call"), attribute.String("server", "github")))
	duration.Record(ctx, 0.03, metric.WithAttributes(attribute.String("mcp.method.name", "tools/call")))

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var bounds []float64
	for _, f := range families {
		names = append(names, f.GetName())
		if f.GetName() == "mcp_server_operation_duration_seconds" {
			for _, b := range f.GetMetric()[0].GetHistogram().GetBucket() {
				bounds = append(bounds, b.GetUpperBound())
			}
		}
	}
	for _, want := range []string{"toolhive_mcp_requests_total", "mcp_server_operation_duration_seconds"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s among %q", want, names)
		}
	}
	// The semantic conventions' buckets for MCP operations.
	wantBounds := []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300}
	if diff := cmp.Diff(wantBounds, bounds); diff != "" {
		t.Errorf("histogram buckets (-want +got):\n%s", diff)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("lint problems: %+v", problems)
	}
	const want = `
# HELP toolhive_mcp_requests_total Total number of MCP requests
# TYPE toolhive_mcp_requests_total counter
toolhive_mcp_requests_total{mcp_method="tools/call",otel_scope_name="` + instrumentation + `",otel_scope_schema_url="",otel_scope_version="",server="github"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "toolhive_mcp_requests_total"); err != nil {
		t.Error(err)
	}
}
