package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// metricsReader is the ClusterRole the chart gives readers of the
// operator's /metrics, which it serves over HTTPS to callers with a token
// the API server authenticates and authorizes.
const metricsReader = "toolhive-operator-metrics-reader"

// scraper reads the manager's /metrics at its pod IP with a token of a
// ServiceAccount of the bench that may get /metrics.
type scraper struct {
	url, token string
	http       *http.Client
}

// newScraper makes the ServiceAccount (in ns, removed with it) and its
// ClusterRoleBinding (removed by the returned function), and a token.
func newScraper(ctx context.Context, c client.Client, cs kubernetes.Interface, ns, podIP string, port int) (*scraper, func(), error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bench-metrics"}}
	if err := c.Create(ctx, sa); err != nil {
		return nil, nil, fmt.Errorf("create ServiceAccount for /metrics: %w", err)
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-metrics"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: metricsReader},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: sa.Name}},
	}
	if err := c.Create(ctx, crb); err != nil {
		return nil, nil, fmt.Errorf("bind %s: %w", metricsReader, err)
	}
	unbind := func() { _ = c.Delete(context.Background(), crb) }
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		unbind()
		return nil, nil, fmt.Errorf("token for /metrics: %w", err)
	}
	return &scraper{
		url:   "https://" + net.JoinHostPort(podIP, strconv.Itoa(port)) + "/metrics",
		token: tr.Status.Token,
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the manager's self-signed certificate; a bench on the host
		}},
	}, unbind, nil
}

// counters are the manager's counters the bench reads: API requests by
// method, and reconciles of the MCPServer controller.
type counters struct {
	requests   map[string]float64 // by HTTP method, and code when not 2xx
	reconciles float64
	webhooks   map[string]histogram // the handlers' latencies, by path
}

func (s *scraper) read(ctx context.Context) (counters, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return counters{}, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.http.Do(req)
	if err != nil {
		return counters{}, fmt.Errorf("GET %s: %w", s.url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return counters{}, fmt.Errorf("GET %s: %s", s.url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return counters{}, fmt.Errorf("parse %s: %w", s.url, err)
	}
	out := counters{requests: map[string]float64{}, webhooks: histogramsBy(families, managerWebhookFamily, "webhook")}
	for _, m := range families["rest_client_requests_total"].GetMetric() {
		key := label(m, "method")
		if !strings.HasPrefix(label(m, "code"), "2") {
			key += " " + label(m, "code") // a refused write changed nothing, but was still sent
		}
		out.requests[key] += m.GetCounter().GetValue()
	}
	for _, m := range families["controller_runtime_reconcile_total"].GetMetric() {
		if label(m, "controller") == "mcpserver" {
			out.reconciles += m.GetCounter().GetValue()
		}
	}
	return out, nil
}

// managerWebhookFamily is controller-runtime's latency of each webhook
// handler, by path: the review's own time, from its body read to its
// answer written.
const managerWebhookFamily = "controller_runtime_webhook_latency_seconds"

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// writeMethods are the methods of requests that change something.
var writeMethods = []string{"POST", "PUT", "PATCH", "DELETE"}

// steady is what the reconciles of a quiet period cost in API requests.
type steady struct {
	window     time.Duration
	reconciles float64
	requests   map[string]float64
	// leaseRenewals are the leader election's PUTs of its Lease in the
	// window, counted by the bench: they are in rest_client_requests_total
	// (which has no resource label) but belong to no reconcile.
	leaseRenewals int
}

func (s steady) writesPerReconcile() float64 {
	var w float64
	for key, n := range s.requests {
		method, _, _ := strings.Cut(key, " ")
		if slices.Contains(writeMethods, method) {
			w += n
		}
	}
	return (w - float64(s.leaseRenewals)) / max(s.reconciles, 1)
}

func (s steady) readsPerReconcile() float64 {
	return s.requests["GET"] / max(s.reconciles, 1)
}

func delta(before, after counters, window time.Duration) steady {
	d := steady{window: window, reconciles: after.reconciles - before.reconciles, requests: map[string]float64{}}
	for m, v := range after.requests {
		d.requests[m] = v - before.requests[m]
	}
	return d
}

func (s steady) String() string {
	var parts []string
	for m, v := range s.requests {
		if v > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f", m, v))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// vmRSS reads a process's resident set (and its peak) in MiB from the host.
func vmRSS(pid int) (rss, peak float64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak, nil
}
