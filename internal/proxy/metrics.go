package proxy

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-mcp/switchboard/internal/proxy/audit"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcpmetrics"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// metrics are the proxy's Prometheus series, on a registry of its own. The
// gauges and counters of state read atomics when scraped: a scrape never
// waits on a backend.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// mcp are ToolHive's MCP series, made on the telemetry's meter.
	mcp *mcpmetrics.Metrics
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_proxy_http_requests_total", Help: "HTTP requests by endpoint, method and status code.",
		}, []string{"endpoint", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_proxy_http_request_duration_seconds", Help: "Time to the end of the response, streams included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"endpoint", "method"}),
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	counter := func(name, help string, f func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f()) })
	}
	st := s.stats
	m.registry.MustRegister(m.requests, m.latency,
		gauge("switchboard_proxy_active_sessions", "Open MCP sessions and streams, counted toward --max-sessions.",
			func() float64 { return float64(s.sessions.Count()) }),
		gauge("switchboard_proxy_max_sessions", "The session cap (--max-sessions).",
			func() float64 { return float64(s.sessions.Max()) }),
		gauge("switchboard_proxy_backend_up", "1 while the backend can take messages, 0 otherwise.",
			func() float64 { return boolGauge(s.attached()) }),
		gauge("switchboard_proxy_session_storage_up", "1 while the session store (memory, or Redis) answers, 0 while Redis is unreachable.",
			func() float64 { return boolGauge(!s.storageDegraded()) }),
		counter("switchboard_proxy_backend_stderr_lines_total", "stdio server stderr lines logged.", st.StderrLines.Load),
		counter("switchboard_proxy_backend_stderr_suppressed_lines_total", "stdio server stderr lines over the log rate, not logged.", st.StderrSuppressed.Load),
		counter("switchboard_proxy_backend_oversized_lines_total", "stdio server output lines over the proxy's limit, skipped.", st.OversizedLines.Load),
		counter("switchboard_proxy_backend_stdin_stalls_total", "Writes to a stdio server's input that passed the write timeout.", st.Stalls.Load),
		counter("switchboard_proxy_backend_queue_full_total", "Messages refused because the stdio server's input queue was full.", st.QueueFull.Load),
		counter("switchboard_proxy_backend_unresponsive_total", "Pings a stdio server did not answer in time.", st.Unresponsive.Load),
		counter("switchboard_proxy_unroutable_notifications_total", "stdio server notifications that concerned no single client, dropped.", st.Unroutable.Load),
		counter("switchboard_proxy_slow_client_drops_total", "Messages dropped, or streams ended, for clients that did not read.", st.Dropped.Load),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watchAudit counts the audit events that could not be written.
func (m *metrics) watchAudit(a *audit.Auditor) {
	m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "switchboard_proxy_audit_events_dropped_total",
		Help: "Audit events dropped because the log stream did not keep up.",
	}, func() float64 { return float64(a.Dropped()) }))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// instrument counts and times every request to an endpoint.
func (m *metrics) instrument(endpoint string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := wire.NewRecorder(w)
		// Deferred: a relayed stream the client leaves early ends in
		// ReverseProxy's http.ErrAbortHandler panic, and still counts.
		defer func() {
			m.requests.WithLabelValues(endpoint, r.Method, strconv.Itoa(rec.Status)).Inc()
			m.latency.WithLabelValues(endpoint, r.Method).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r)
	})
}
