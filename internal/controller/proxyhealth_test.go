package controller

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// Ready means the MCP server answered MCP through the proxy: the status
// follows what the proxy pods' health reports say.
func TestReadyMeansTheServerAnsweredMCP(t *testing.T) {
	osv := &proxyconfig.HealthServer{Name: "osv-mcp", Version: "0.3.1", ProtocolVersion: "2025-06-18", Tools: ptr.To(3)}
	answeredMCP := &proxyconfig.Health{Status: "healthy", Backend: "attached", Server: osv}
	mismatch := &proxyconfig.Health{Status: "unhealthy", Backend: "detached",
		Reason: "no backend takes MCP messages now: backend 10.0.0.7:8080: POST /mcp: status 404, no MCP answer: it speaks sse on /sse: set spec.transport: sse"}
	type want struct {
		Phase      v1beta1.MCPServerPhase
		Reason     string
		Message    string
		ServerInfo *v1beta1.MCPServerInfo
	}
	tests := []struct {
		name    string
		proxies []proxyReport
		ready   int32 // the proxy Deployment's ready pods
		want    want
	}{
		{"ready with what the server said of itself", []proxyReport{{pod: "osv-a", ready: true, health: answeredMCP}}, 1,
			want{v1beta1.PhaseReady, "Ready", "MCP server is running",
				&v1beta1.MCPServerInfo{Name: "osv-mcp", Version: "0.3.1", ProtocolVersion: "2025-06-18", Tools: ptr.To[int32](3)}}},
		{"ready with the tools not listed yet", []proxyReport{{pod: "osv-a", health: &proxyconfig.Health{Status: "healthy",
			Server: &proxyconfig.HealthServer{Name: "osv-mcp", Version: "0.3.1", ProtocolVersion: "2025-06-18"}}}}, 1,
			want{v1beta1.PhaseReady, "Ready", "MCP server is running",
				&v1beta1.MCPServerInfo{Name: "osv-mcp", Version: "0.3.1", ProtocolVersion: "2025-06-18"}}},
		{"ready with no server info when a stdio server answered MCP and no client initialized it yet",
			[]proxyReport{{pod: "osv-a", ready: true, health: &proxyconfig.Health{Status: "healthy", Server: &proxyconfig.HealthServer{}}}}, 1,
			want{v1beta1.PhaseReady, "Ready", "MCP server is running", nil}},
		{"ready when one of two proxy pods saw the server answer", []proxyReport{
			{pod: "osv-a", err: errors.New("connection refused")}, {pod: "osv-b", ready: true, health: answeredMCP}}, 1,
			want{v1beta1.PhaseReady, "Ready", "MCP server is running",
				&v1beta1.MCPServerInfo{Name: "osv-mcp", Version: "0.3.1", ProtocolVersion: "2025-06-18", Tools: ptr.To[int32](3)}}},
		{"pending on a transport mismatch, in the proxy's words, naming the pod", []proxyReport{{pod: "osv-a", health: mismatch}}, 0,
			want{v1beta1.PhasePending, "MCPNotAnswered",
				"waiting for proxy Deployment osv: 0 of 1 pods ready; proxy pod osv-a: no backend takes MCP messages now: " +
					"backend 10.0.0.7:8080: POST /mcp: status 404, no MCP answer: it speaks sse on /sse: set spec.transport: sse", nil}},
		{"pending while a proxy pod, still counted ready, says the server stopped answering", []proxyReport{{pod: "osv-a", health: &proxyconfig.Health{
			Status: "unhealthy", Reason: "the MCP server has not answered MCP: the stdio server does not answer MCP on stdin"}}}, 1,
			want{v1beta1.PhasePending, "MCPNotAnswered", "proxy pod osv-a: the MCP server has not answered MCP: the stdio server does not answer MCP on stdin", nil}},
		{"pending on the proxy's readiness when no pod reports yet", nil, 0,
			want{v1beta1.PhasePending, "ProxyNotReady", "waiting for proxy Deployment osv: 0 of 1 pods ready", nil}},
		{"ready from the pods' readiness, which is the proxy's MCP check, when their reports cannot be read", []proxyReport{
			{pod: "osv-a", ready: true, err: errors.New("dial tcp 10.0.0.9:8080: i/o timeout")}}, 1,
			want{v1beta1.PhaseReady, "ProxyHealthUnreachable", "MCP server is running", nil}},
		{"ready from the pods' readiness when no running pod is seen yet", nil, 1,
			want{v1beta1.PhaseReady, "Ready", "MCP server is running", nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := readyWorkloads()
			o.proxy.Status.ReadyReplicas = tt.ready
			o.proxies = tt.proxies
			st := computeStatus(newServer(), o)
			ready := conditionOf(st, v1beta1.ConditionReady)
			got := want{st.Phase, ready.Reason, ready.Message, st.ServerInfo}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			if st.Message != ready.Message {
				t.Errorf("status.message %q, Ready's message %q", st.Message, ready.Message)
			}
			if (ready.Status == metav1.ConditionTrue) != (tt.want.Phase == v1beta1.PhaseReady) {
				t.Errorf("Ready condition %s in phase %s", ready.Status, st.Phase)
			}
		})
	}
}

func TestHealthIsReadAgainWhileWaitingAndWhileReady(t *testing.T) {
	st := func(phase v1beta1.MCPServerPhase, reason string) v1beta1.MCPServerStatus {
		return v1beta1.MCPServerStatus{Phase: phase, Conditions: []metav1.Condition{{Type: v1beta1.ConditionReady, Reason: reason}}}
	}
	tests := []struct {
		name string
		st   v1beta1.MCPServerStatus
		want time.Duration
	}{
		{"every minute while ready, for the server info", st(v1beta1.PhaseReady, v1beta1.ReasonReady), time.Minute},
		{"soon while the server does not answer MCP", st(v1beta1.PhasePending, v1beta1.ReasonMCPNotAnswered), 10 * time.Second},
		{"soon while the proxy is not ready", st(v1beta1.PhasePending, v1beta1.ReasonProxyNotReady), 10 * time.Second},
		{"not for a missing secret, which a watch tells", st(v1beta1.PhasePending, v1beta1.ReasonSecretMissing), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := healthRecheck(tt.st); got != tt.want {
				t.Errorf("healthRecheck = %v, want %v", got, tt.want)
			}
		})
	}
}

// The default reader asks the pod IP, and takes a 503 answer as a report.
func TestHTTPProxyHealthReadsA503Report(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"unhealthy","backend":"attached","reason":"the MCP server has not answered MCP: waiting"}`))
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	pod := &corev1.Pod{Status: corev1.PodStatus{PodIP: u.Hostname()}}
	got, err := HTTPProxyHealth{}.Check(context.Background(), pod, int32(port)) //nolint:gosec // a port
	want := &proxyconfig.Health{Status: "unhealthy", Backend: "attached", Reason: "the MCP server has not answered MCP: waiting"}
	if diff := cmp.Diff(want, got); diff != "" || err != nil {
		t.Errorf("Check: %v (-want +got):\n%s", err, diff)
	}
}
