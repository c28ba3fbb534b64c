//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// A stdio server's backend pod is deleted while a client talks to it
// through `kubectl port-forward service/mcp-<name>-proxy`: the proxy says
// so at once (/health not healthy, a call answered with an error instead
// of hanging), attaches to the pod the StatefulSet makes in its place
// within seconds, and the same session and new ones work again. The proxy
// pod itself never restarts: nothing is left half attached.
func TestStdioBackendPodReplaced(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	const name = "attach"
	pod := name + "-0"
	base := n.readyStdioServer(name)
	endpoint := base + "/mcp"
	eventually(t, 30*time.Second, func() string {
		if h := proxyHealth(base); h.Status != "healthy" || h.Backend != "attached" {
			return "before the delete: " + h.String()
		}
		return ""
	})
	proxyBefore := n.proxyPods(name)
	oldUID := n.uidOf("pod/" + pod)
	session, err := openRawSession(endpoint, 10*time.Second)
	if err != nil {
		t.Fatalf("open a session through the proxy: %v", err)
	}
	if who, rpcErr, err := session.callTool("whoami", nil); err != nil || rpcErr != "" || who != pod {
		t.Fatalf("whoami before the delete: %q %s %v; want %s", who, rpcErr, err, pod)
	}

	n.must("delete", "pod", pod, "--wait=false")
	deleted := time.Now()
	waitDetached(t, base, pod, deleted)
	callWhileDetached(t, session, base)
	n.waitReattached(pod, oldUID, base, deleted)
	if who, rpcErr, err := session.callTool("whoami", nil); err != nil || rpcErr != "" || who != pod {
		t.Errorf("whoami in the session opened before the delete: %q %s %v; want %s", who, rpcErr, err, pod)
	}

	// No zombie: the same proxy pods, never restarted, attached.
	if after := n.proxyPods(name); after != proxyBefore {
		t.Errorf("proxy pods (uid restarts) before the delete:\n%s\nafter:\n%s", proxyBefore, after)
	}
	if h := proxyHealth(base); h.Code != http.StatusOK || h.Status != "healthy" || h.Backend != "attached" {
		t.Errorf("/health at the end: %s", h)
	}
	n.waitReady(name)
}

// waitDetached polls /health right after the backend pod's delete until
// it is no longer healthy.
func waitDetached(t *testing.T, base, pod string, deleted time.Time) {
	t.Helper()
	var detached healthSnapshot
	for h := proxyHealth(base); ; h = proxyHealth(base) {
		if h.Status != "healthy" {
			detached = h
			break
		}
		if time.Since(deleted) > 15*time.Second {
			t.Fatalf("/health still says %s 15 s after %s was deleted: the proxy stays attached to a pod that is going away", h, pod)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%s after the delete /health says %s", time.Since(deleted).Round(time.Millisecond), detached)
	if detached.Code != http.StatusServiceUnavailable || detached.Status != "unhealthy" || detached.Backend != "detached" {
		t.Errorf("/health while the backend pod is gone: %s; want HTTP 503, unhealthy, backend detached", detached)
	}
}

// callWhileDetached checks that a call is answered at once, with an error.
func callWhileDetached(t *testing.T, session *rawSession, base string) {
	t.Helper()
	start := time.Now()
	who, rpcErr, err := session.callTool("whoami", nil)
	took := time.Since(start)
	switch {
	case err != nil && strings.Contains(err.Error(), "Client.Timeout"):
		t.Errorf("a call while detached hung for %s: %v", took.Round(time.Millisecond), err)
	case err == nil && rpcErr == "":
		t.Errorf("a call while detached answered %q (health then: %s); want an error", who, proxyHealth(base))
	case took > 3*time.Second:
		t.Errorf("a call while detached took %s to fail; want an error at once", took.Round(time.Millisecond))
	case err != nil:
		t.Logf("a call while detached failed in %s: %v", took.Round(time.Millisecond), err)
	default:
		t.Logf("a call while detached was answered in %s: %s", took.Round(time.Millisecond), rpcErr)
	}
}

// waitReattached waits for the StatefulSet's new pod and for the proxy to
// serve a new session from it, within seconds of the pod running.
func (n *ns) waitReattached(pod, oldUID, base string, deleted time.Time) {
	n.t.Helper()
	var running time.Time // when the new pod's mcp container was first seen running
	eventually(n.t, 2*time.Minute, func() string {
		uid := n.uidOf("pod/" + pod)
		if uid == "" || uid == oldUID {
			return pod + " not replaced yet"
		}
		if running.IsZero() {
			if state, _ := n.run("get", "pod", pod, "-o", `jsonpath={.status.containerStatuses[?(@.name=="`+naming.MCPContainer+`")].state.running.startedAt}`); state == "" {
				return "the new " + pod + " is not running yet"
			}
			running = time.Now()
		}
		if h := proxyHealth(base); h.Status != "healthy" || h.Backend != "attached" {
			return "after the new pod started: " + h.String()
		}
		if who, err := switchboard("mcp", "call-tool", "--server", base+"/mcp", "--tool", "whoami"); err != nil || strings.TrimSpace(who) != pod {
			return fmt.Sprintf("whoami through a new session: %q %v", who, err)
		}
		return ""
	})
	reattached := time.Since(running)
	n.t.Logf("calls work again %s after the delete, %s after the new pod ran", time.Since(deleted).Round(time.Millisecond), reattached.Round(time.Millisecond))
	if reattached > 15*time.Second {
		n.t.Errorf("the proxy took %s to serve calls after the new %s ran; want seconds", reattached.Round(time.Second), pod)
	}
}

// healthSnapshot is the proxy's /health answer.
type healthSnapshot struct {
	Code    int
	Status  string `json:"status"`
	Backend string `json:"backend"`
	Err     error
}

func (h healthSnapshot) String() string {
	if h.Err != nil {
		return h.Err.Error()
	}
	return fmt.Sprintf("HTTP %d status %q backend %q", h.Code, h.Status, h.Backend)
}

func proxyHealth(base string) healthSnapshot {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/health")
	if err != nil {
		return healthSnapshot{Err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	h := healthSnapshot{Code: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		h.Err = fmt.Errorf("/health HTTP %d: %w", resp.StatusCode, err)
	}
	return h
}

// proxyPods lists the server's proxy pods as "uid restarts" lines.
// readyStdioServer applies a stdio test server, waits for Ready and
// port-forwards its proxy Service; it returns the forward's base URL.
func (n *ns) readyStdioServer(name string) string {
	n.t.Helper()
	n.mustApply(manifest(name, "stdio"))
	n.waitReady(name)
	return n.portForward("service/"+naming.ProxyServiceName(name), 8080)
}

func (n *ns) proxyPods(server string) string {
	n.t.Helper()
	labels := naming.SelectorLabels(server, naming.ComponentProxy)
	sel := make([]string, 0, len(labels))
	for k, v := range labels {
		sel = append(sel, k+"="+v)
	}
	sort.Strings(sel)
	return n.must("get", "pods", "-l", strings.Join(sel, ","), "-o",
		`jsonpath={range .items[*]}{.metadata.uid} {.status.containerStatuses[?(@.name=="`+naming.ProxyContainer+`")].restartCount}{"\n"}{end}`)
}

// The other way round: the proxy is replaced (a rolling update, an operator
// upgrade) while the stdio server keeps running. The new proxy attaches to
// a server another proxy initialized, and the Go SDK server refuses a
// second initialize; new clients still get through, answered with what the
// server first said about itself (from its log), and the server is the
// same process (not restarted to make it work). Clients of both protocol
// eras share the server.
func TestProxyReplacedInFrontOfARunningStdioServer(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	const name = "reproxy"
	pod := name + "-0"
	// Clients of the initialize era (2025-06-18): the switchboard CLI speaks
	// the stateless 2026-07-28 era, which has no initialize.
	whoami := func(endpoint string) string {
		s, err := openRawSession(endpoint, 10*time.Second)
		if err != nil {
			return "open a session: " + err.Error()
		}
		if who, rpcErr, err := s.callTool("whoami", nil); err != nil || rpcErr != "" || who != pod {
			return fmt.Sprintf("whoami: %q %s %v; want %s", who, rpcErr, err, pod)
		}
		return ""
	}
	endpoint := n.readyStdioServer(name) + "/mcp"
	// A stateless-era client first (the CLI): the Go SDK server counts its
	// server/discover as initialization, and refuses initialize from then on.
	waitWhoami(t, endpoint, pod)
	if msg := whoami(endpoint); msg != "" {
		t.Fatalf("through the first proxy: %s", msg)
	}
	backend := func() string {
		return n.must("get", "pod", pod, "-o", `jsonpath={.metadata.uid} {.status.containerStatuses[?(@.name=="mcp")].restartCount}`)
	}
	before := backend()

	deployment := "deployment/" + naming.ProxyDeploymentName(name)
	n.must("rollout", "restart", deployment)
	n.must("rollout", "status", deployment, "--timeout=180s")
	eventually(t, 2*time.Minute, func() string { // the old proxy pod gone
		if pods := strings.Fields(n.proxyPods(name)); len(pods) != 2 { // one "uid restarts" pair
			return "proxy pods: " + strings.Join(pods, " ")
		}
		return ""
	})
	endpoint = n.portForward("service/"+naming.ProxyServiceName(name), 8080) + "/mcp"
	eventually(t, time.Minute, func() string { return whoami(endpoint) })
	if after := backend(); after != before {
		t.Errorf("the stdio server was replaced or restarted (uid restarts %s, before %s)", after, before)
	}
}

// Two proxy replicas attached to one stdio server (spec.replicas 2): each
// one's clients get through initialize, though the server takes only the
// first and refuses the other replica's, and calls through either pod reach
// the same server.
func TestTwoProxyReplicasShareOneStdioServer(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	const name = "twoproxies"
	pod := name + "-0"
	n.mustApply(strings.Replace(manifest(name, "stdio"), "  transport: stdio", "  transport: stdio\n  replicas: 2", 1))
	n.waitReady(name)
	n.must("rollout", "status", "deployment/"+naming.ProxyDeploymentName(name), "--timeout=180s")
	sel := naming.LabelInstance + "=" + name + "," + naming.LabelComponent + "=" + string(naming.ComponentProxy)
	pods := strings.Fields(n.must("get", "pods", "-l", sel, "-o", "jsonpath={.items[*].metadata.name}"))
	if len(pods) != 2 {
		t.Fatalf("proxy pods %v; want 2", pods)
	}
	for _, p := range pods {
		endpoint := n.portForward("pod/"+p, 8080) + "/mcp"
		eventually(t, time.Minute, func() string {
			s, err := openRawSession(endpoint, 10*time.Second)
			if err != nil {
				return fmt.Sprintf("through proxy pod %s: open a session: %v", p, err)
			}
			if who, rpcErr, err := s.callTool("whoami", nil); err != nil || rpcErr != "" || who != pod {
				return fmt.Sprintf("through proxy pod %s: whoami %q %s %v; want %s", p, who, rpcErr, err, pod)
			}
			return ""
		})
	}
}
