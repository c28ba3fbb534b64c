package main

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
)

// histogram is a Prometheus histogram: cumulative counts at ascending
// upper bounds, the last +Inf.
type histogram struct {
	le, cum []float64
}

func histogramOf(m *dto.Metric) histogram {
	var h histogram
	for _, b := range m.GetHistogram().GetBucket() {
		h.le = append(h.le, b.GetUpperBound())
		h.cum = append(h.cum, float64(b.GetCumulativeCount()))
	}
	if n := len(h.le); n == 0 || !math.IsInf(h.le[n-1], 1) {
		h.le = append(h.le, math.Inf(1))
		h.cum = append(h.cum, float64(m.GetHistogram().GetSampleCount()))
	}
	return h
}

// plus adds o, which has the same bounds (another label set of one
// metric), or is empty.
func (h histogram) plus(o histogram) histogram {
	if len(h.le) == 0 {
		return o
	}
	out := histogram{le: h.le, cum: make([]float64, len(h.cum))}
	for i := range h.cum {
		out.cum[i] = h.cum[i]
		if i < len(o.cum) {
			out.cum[i] += o.cum[i]
		}
	}
	return out
}

// minus is what was observed since before.
func (h histogram) minus(before histogram) histogram {
	out := histogram{le: h.le, cum: make([]float64, len(h.cum))}
	for i := range h.cum {
		out.cum[i] = h.cum[i]
		if i < len(before.cum) {
			out.cum[i] -= before.cum[i]
		}
	}
	return out
}

func (h histogram) count() float64 {
	if len(h.cum) == 0 {
		return 0
	}
	return h.cum[len(h.cum)-1]
}

// share is the fraction of observations at most le, a bucket bound.
func (h histogram) share(le float64) float64 {
	for i, b := range h.le {
		if b == le {
			return h.cum[i] / max(h.count(), 1)
		}
	}
	return math.NaN()
}

// quantile interpolates linearly within the bucket that holds it, as
// PromQL's histogram_quantile does; in the +Inf bucket it is the highest
// finite bound.
func (h histogram) quantile(q float64) float64 {
	n := h.count()
	if n == 0 {
		return math.NaN()
	}
	rank := q * n
	lower, below := 0.0, 0.0
	for i, b := range h.le {
		if h.cum[i] >= rank {
			if math.IsInf(b, 1) {
				return lower
			}
			return lower + (b-lower)*(rank-below)/max(h.cum[i]-below, 1)
		}
		lower, below = b, h.cum[i]
	}
	return lower
}

// bounds lists the finite bucket bounds in milliseconds, for a report.
func (h histogram) bounds() string {
	var parts []string
	for _, b := range h.le {
		if !math.IsInf(b, 1) {
			parts = append(parts, fmt.Sprintf("%.3g", b*1000))
		}
	}
	return strings.Join(parts, "/") + " ms"
}

// parseMetrics parses Prometheus' text format.
func parseMetrics(text string) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(strings.NewReader(text))
}

// histogramsBy sums a histogram family's series by one label.
func histogramsBy(families map[string]*dto.MetricFamily, family, by string) map[string]histogram {
	out := map[string]histogram{}
	for _, m := range families[family].GetMetric() {
		key := label(m, by)
		out[key] = out[key].plus(histogramOf(m))
	}
	return out
}

// apiServerWebhookFamily is the API server's latency of each admission
// webhook call it makes, by webhook name: the time an apply waits on it.
const apiServerWebhookFamily = "apiserver_admission_webhook_admission_duration_seconds"

// apiServerWebhooks reads the API server's webhook latencies, by webhook.
func apiServerWebhooks(ctx context.Context, cs kubernetes.Interface) (map[string]histogram, error) {
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").SetHeader("Accept", "text/plain").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("GET the API server's /metrics: %w", err)
	}
	families, err := parseMetrics(string(raw))
	if err != nil {
		return nil, fmt.Errorf("parse the API server's /metrics: %w", err)
	}
	return histogramsBy(families, apiServerWebhookFamily, "name"), nil
}

// webhookLatency is one webhook's latencies over a stretch of the bench,
// as one side saw them.
type webhookLatency struct {
	seenBy, webhook string
	h               histogram
}

// webhooksSince is what the webhooks took since the readings before: as
// the API server waited for them (network and TLS included) and as the
// manager's handlers took.
func webhooksSince(ctx context.Context, e env, apiBefore map[string]histogram, mgrBefore counters) ([]webhookLatency, error) {
	api, err := apiServerWebhooks(ctx, e.cs)
	if err != nil {
		return nil, err
	}
	mgr, err := e.metrics.read(ctx)
	if err != nil {
		return nil, err
	}
	var out []webhookLatency
	for _, name := range []string{mutatingWebhook, validatingWebhook} {
		out = append(out, webhookLatency{"API server", name, api[name].minus(apiBefore[name])})
	}
	paths := slices.Sorted(maps.Keys(mgr.webhooks))
	for _, path := range paths {
		if h := mgr.webhooks[path].minus(mgrBefore.webhooks[path]); h.count() > 0 {
			out = append(out, webhookLatency{"manager", path, h})
		}
	}
	return out, nil
}
