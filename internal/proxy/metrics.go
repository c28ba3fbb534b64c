package proxy

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the proxy's Prometheus series, on a registry of its own.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	sessions prometheus.Gauge
	backend  prometheus.GaugeFunc
	storage  prometheus.GaugeFunc
}

func newMetrics(backendUp, storageUp func() float64) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_proxy_http_requests_total", Help: "HTTP requests by endpoint, method and status code.",
		}, []string{"endpoint", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_proxy_http_request_duration_seconds", Help: "Time to the end of the response, streams included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"endpoint", "method"}),
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_proxy_active_sessions", Help: "Open MCP sessions.",
		}),
		backend: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "switchboard_proxy_backend_up", Help: "1 while the backend can take messages, 0 otherwise.",
		}, backendUp),
		storage: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "switchboard_proxy_session_storage_up", Help: "1 while the session store (memory, or Redis) answers, 0 while Redis is unreachable.",
		}, storageUp),
	}
	m.registry.MustRegister(m.requests, m.latency, m.sessions, m.backend, m.storage,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// instrument counts and times every request to an endpoint.
func (m *metrics) instrument(endpoint string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		m.requests.WithLabelValues(endpoint, r.Method, strconv.Itoa(rec.status)).Inc()
		m.latency.WithLabelValues(endpoint, r.Method).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

// Flush keeps streaming responses unbuffered through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
