package proxy_test

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
)

// Guards the names and help of every series on /metrics, for both kinds of
// backend, against Prometheus' own linter: dashboards and alerts are
// written against these names, so they must be right before anyone uses
// them.
func TestMetricsPassPrometheusLint(t *testing.T) {
	for _, tt := range []struct {
		name  string
		tweak func(*proxy.Options)
	}{
		{"a stdio server", func(*proxy.Options) {}},
		{"a streamable-http server", func(o *proxy.Options) {
			o.Transport, o.BackendURL = "streamable-http", httpServer(t, "streamable-http", false)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := startProxy(t, tt.tweak)
			initialize(t, r) // the request series exist once a request was served
			resp, err := http.Get(r.base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			problems, err := promlint.New(resp.Body).Lint()
			if err != nil {
				t.Fatalf("lint /metrics: %v", err)
			}
			for _, p := range problems {
				t.Errorf("%s: %s", p.Metric, p.Text)
			}
		})
	}
}
