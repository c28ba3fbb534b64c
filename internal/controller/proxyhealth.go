package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// ProxyHealth reads a proxy pod's health report: whether the MCP server
// answered MCP through it, and what the server said of itself.
type ProxyHealth interface {
	Check(ctx context.Context, pod *corev1.Pod, port int32) (*proxyconfig.Health, error)
}

// healthTimeout bounds one health request: reconciles must not wait long
// on a pod that does not answer.
const healthTimeout = 2 * time.Second

// maxAsked bounds the proxy pods asked in one reconcile.
const maxAsked = 5

// HTTPProxyHealth asks the pod's /health at its pod IP, which the operator
// reaches when it runs in the cluster.
type HTTPProxyHealth struct {
	Client *http.Client // default: one with healthTimeout
}

// Check reads the pod's /health; a 503 answer is a report too.
func (h HTTPProxyHealth) Check(ctx context.Context, pod *corev1.Pod, port int32) (*proxyconfig.Health, error) {
	c := h.Client
	if c == nil {
		c = &http.Client{Timeout: healthTimeout}
	}
	url := "http://" + net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(int(port))) + proxyconfig.HealthPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	var rep proxyconfig.Health
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rep); err != nil {
		return nil, fmt.Errorf("GET %s: status %d, %w", url, resp.StatusCode, err)
	}
	return &rep, nil
}

// proxyReport is one proxy pod's health report, or why it could not be
// read.
type proxyReport struct {
	pod    string
	ready  bool // the pod's Ready condition
	health *proxyconfig.Health
	err    error
}

// askProxies reads the health of the server's running proxy pods (the
// first maxAsked by name), all at once.
func (r *MCPServerReconciler) askProxies(ctx context.Context, s *v1beta1.MCPServer, pods []corev1.Pod) []proxyReport {
	var running []*corev1.Pod
	for i := range pods {
		p := &pods[i]
		if p.Labels[naming.LabelComponent] == string(naming.ComponentProxy) && p.DeletionTimestamp == nil &&
			p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
			running = append(running, p)
		}
	}
	sort.Slice(running, func(i, j int) bool { return running[i].Name < running[j].Name })
	running = running[:min(len(running), maxAsked)]
	check := r.ProxyHealth
	if check == nil {
		check = HTTPProxyHealth{}
	}
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	reports := make([]proxyReport, len(running))
	var wg sync.WaitGroup
	for i, p := range running {
		wg.Go(func() {
			h, err := check.Check(ctx, p, s.Spec.ProxyPort)
			reports[i] = proxyReport{pod: p.Name, ready: podReady(p), health: h, err: err}
		})
	}
	wg.Wait()
	return reports
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// answered is the verdict once the proxy has ready pods: Ready when a
// proxy pod reports that the server answered MCP through it, with what the
// server said of itself; Pending, in the proxy's words, when one reports
// that it has not.
//
// When no report says either (the operator runs outside the cluster and
// cannot reach pod IPs, the cache shows no running proxy pod yet, or the
// proxy does not probe its backends), the server is Ready from the proxy
// pods' readiness alone: their readiness probe is /health, which fails
// until the server answered MCP, so a ready proxy pod already is that
// check. The reason then says the reports could not be read, and
// status.serverInfo stays empty.
func answered(reports []proxyReport) verdict {
	if _, ok := answeredMCP(reports); ok {
		return verdict{v1beta1.PhaseReady, v1beta1.ReasonReady, readyMessage}
	}
	if why, ok := notAnswering(reports); ok {
		return verdict{v1beta1.PhasePending, v1beta1.ReasonMCPNotAnswered, why}
	}
	reason := v1beta1.ReasonReady
	for _, r := range reports {
		if r.err != nil {
			reason = v1beta1.ReasonProxyHealthUnreachable
		}
	}
	return verdict{v1beta1.PhaseReady, reason, readyMessage}
}

// answeredMCP is the first report (by pod name) of a proxy pod that saw
// the server answer MCP.
func answeredMCP(reports []proxyReport) (*proxyconfig.HealthServer, bool) {
	for _, r := range reports {
		if h := r.health; h != nil && h.Server != nil {
			return h.Server, true
		}
	}
	return nil, false
}

// serverInfo is what the server said of itself, as the first proxy pod
// that saw it answer MCP reports; nil when it said nothing yet (a stdio
// server no client has initialized).
func serverInfo(reports []proxyReport) *v1beta1.MCPServerInfo {
	s, ok := answeredMCP(reports)
	if !ok || *s == (proxyconfig.HealthServer{}) {
		return nil
	}
	info := &v1beta1.MCPServerInfo{Name: s.Name, Version: s.Version, ProtocolVersion: s.ProtocolVersion}
	if s.Tools != nil {
		n := int32(min(*s.Tools, 1<<30)) //nolint:gosec // bounded just above
		info.Tools = &n
	}
	return info
}

// notAnswering is the first report of a proxy pod saying the server has
// not answered MCP, in its words, naming the pod.
func notAnswering(reports []proxyReport) (string, bool) {
	for _, r := range reports {
		if h := r.health; h != nil && h.Server == nil && h.Reason != "" && h.Status == "unhealthy" {
			return fmt.Sprintf("proxy pod %s: %s", r.pod, h.Reason), true
		}
	}
	return "", false
}

// healthRecheck is when to read the proxies' reports again although no
// object changes: soon while the server has not answered MCP, every
// minute while Ready, to keep status.serverInfo current.
func healthRecheck(st v1beta1.MCPServerStatus) time.Duration {
	switch {
	case st.Phase == v1beta1.PhaseReady:
		return time.Minute
	case readyReason(st) == v1beta1.ReasonMCPNotAnswered || readyReason(st) == v1beta1.ReasonProxyNotReady:
		return 10 * time.Second
	}
	return 0
}

// soonest is the earliest of two waits, 0 meaning none.
func soonest(a, b time.Duration) time.Duration {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}
