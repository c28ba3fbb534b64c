package mcpmetrics_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/switchboard-mcp/switchboard/internal/proxy/mcpmetrics"
	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// proxy is the middleware around an endpoint that runs the request path
// over the body, as the proxy's front ends do, then answers status.
func proxy(t *testing.T, transport string, status int) (http.Handler, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t.Cleanup(func() { _ = mp.Shutdown(t.Context()) })
	m, err := mcpmetrics.New(mp, "osv", transport)
	if err != nil {
		t.Fatal(err)
	}
	path := pipeline.New(pipeline.Limits())
	endpoint := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status == http.StatusUnauthorized { // refused before the path, as authentication does
			w.WriteHeader(status)
			return
		}
		body, _ := io.ReadAll(r.Body)
		msgs, _, err := wire.Parse(body, 10)
		if err != nil {
			t.Errorf("parse %s: %v", body, err)
		}
		path.CheckAll(r, "", msgs)
		w.WriteHeader(status)
	})
	mw := m.Middleware(endpoint)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, _ := pipeline.WithExchange(r.Context())
		mw.ServeHTTP(w, r.WithContext(ctx))
	}), reg
}

func call(h http.Handler, tool string) {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":{"secret":"s3"}}}`, tool)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body)))
}

// series is each sample of family name as "label=value,…" → value.
func series(t *testing.T, reg *prometheus.Registry, name string, labels ...string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var key []string
			for _, want := range labels {
				for _, l := range m.GetLabel() {
					if l.GetName() == want {
						key = append(key, want+"="+l.GetValue())
					}
				}
			}
			out[strings.Join(key, ",")] += value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func TestToolCallsCountUnderToolHiveNames(t *testing.T) {
	h, reg := proxy(t, "stdio", http.StatusOK)
	call(h, "echo")
	call(h, "echo")
	call(h, "add")
	for _, tc := range []struct {
		name   string
		labels []string
		want   map[string]float64
	}{
		{"toolhive_mcp_requests_total", []string{"mcp_method", "mcp_resource_id", "status", "status_code", "server", "transport"}, map[string]float64{
			"mcp_method=tools/call,mcp_resource_id=echo,status=success,status_code=200,server=osv,transport=stdio": 2,
			"mcp_method=tools/call,mcp_resource_id=add,status=success,status_code=200,server=osv,transport=stdio":  1,
		}},
		{"toolhive_mcp_tool_calls_total", []string{"server", "tool", "status"}, map[string]float64{
			"server=osv,tool=echo,status=success": 2, "server=osv,tool=add,status=success": 1,
		}},
		{"toolhive_mcp_request_duration_seconds", []string{"mcp_method"}, map[string]float64{"mcp_method=tools/call": 3}},
		{"mcp_server_operation_duration_seconds", []string{"mcp_method_name", "gen_ai_tool_name", "gen_ai_operation_name", "network_transport"}, map[string]float64{
			"mcp_method_name=tools/call,gen_ai_tool_name=echo,gen_ai_operation_name=execute_tool,network_transport=pipe": 2,
			"mcp_method_name=tools/call,gen_ai_tool_name=add,gen_ai_operation_name=execute_tool,network_transport=pipe":  1,
		}},
		{"toolhive_mcp_active_connections", []string{"server", "transport"}, map[string]float64{"server=osv,transport=stdio": 0}},
	} {
		if d := cmp.Diff(tc.want, series(t, reg, tc.name, tc.labels...)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	// Arguments are never labels.
	families, _ := reg.Gather()
	for _, f := range families {
		if strings.Contains(f.String(), "s3") {
			t.Errorf("an argument value is in %s", f.GetName())
		}
	}
}

func TestTheExpositionPassesPrometheusLint(t *testing.T) {
	h, reg := proxy(t, "streamable-http", http.StatusOK)
	call(h, "echo")
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestARefusedRequestCountsAsAnErrorWithNoMethod(t *testing.T) {
	h, reg := proxy(t, "streamable-http", http.StatusUnauthorized)
	call(h, "echo")
	want := map[string]float64{"mcp_method=unknown,status=error,status_code=401": 1}
	if d := cmp.Diff(want, series(t, reg, "toolhive_mcp_requests_total", "mcp_method", "status", "status_code")); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
	if got := series(t, reg, "toolhive_mcp_tool_calls_total"); len(got) != 0 {
		t.Errorf("a refused call counted as a tool call: %v", got)
	}
}

func TestClientChosenNamesStayBounded(t *testing.T) {
	h, reg := proxy(t, "stdio", http.StatusOK)
	for i := range 300 {
		call(h, fmt.Sprintf("tool-%d", i))
	}
	call(h, strings.Repeat("x", 1000))
	got := series(t, reg, "toolhive_mcp_tool_calls_total", "tool")
	if len(got) > 257 {
		t.Errorf("%d tool label values; want at most 256 and other", len(got))
	}
	if got["tool=other"] != 45 {
		t.Errorf("tool=other counted %v calls, want the 45 past the first 256", got["tool=other"])
	}
	for k := range got {
		if len(k) > len("tool=")+128 {
			t.Errorf("a label value of %d bytes passed", len(k)-len("tool="))
		}
	}
}

func TestALegacyStreamIsActiveWhileItLasts(t *testing.T) {
	reg := prometheus.NewRegistry()
	exp, _ := otelprom.New(otelprom.WithRegisterer(reg))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	m, err := mcpmetrics.New(mp, "osv", "sse")
	if err != nil {
		t.Fatal(err)
	}
	var during map[string]float64
	h := m.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		during = series(t, reg, "toolhive_mcp_active_connections", "connection_type")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/sse", nil))
	if during["connection_type=sse"] != 1 {
		t.Errorf("active sse connections during the stream = %v, want 1", during)
	}
	if got := series(t, reg, "toolhive_mcp_active_connections", "connection_type")["connection_type=sse"]; got != 0 {
		t.Errorf("active sse connections after the stream = %v, want 0", got)
	}
	want := map[string]float64{"mcp_method=sse_connection": 1}
	if d := cmp.Diff(want, series(t, reg, "toolhive_mcp_requests_total", "mcp_method")); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
}

// A relayed stream the client leaves early ends in ReverseProxy's
// http.ErrAbortHandler panic: the exchange still counts, and the panic goes
// on to net/http, which expects it.
func TestAnAbortedExchangeStillCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	exp, _ := otelprom.New(otelprom.WithRegisterer(reg))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	m, err := mcpmetrics.New(mp, "osv", "streamable-http")
	if err != nil {
		t.Fatal(err)
	}
	path := pipeline.New(pipeline.Limits())
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msgs, _, _ := wire.Parse([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`), 1)
		path.CheckAll(r, "", msgs)
		w.WriteHeader(http.StatusOK)
		panic(http.ErrAbortHandler)
	}))
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	ctx, _ := pipeline.WithExchange(r.Context())
	func() {
		defer func() {
			if err, _ := recover().(error); !errors.Is(err, http.ErrAbortHandler) {
				t.Errorf("recovered %v, want http.ErrAbortHandler passed on", err)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), r.WithContext(ctx))
	}()
	want := map[string]float64{"server=osv,tool=echo,status=success": 1}
	if d := cmp.Diff(want, series(t, reg, "toolhive_mcp_tool_calls_total", "server", "tool", "status")); d != "" {
		t.Errorf("tool calls (-want +got):\n%s", d)
	}
}
