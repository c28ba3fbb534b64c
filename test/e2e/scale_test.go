//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
)

// podGateway is the pod bridge's address on this host (hack/cluster-up.sh):
// pods reach a service the host runs there, and nothing else does.
const podGateway = "10.244.0.1"

// startHostRedis runs Debian's redis-server on the pod bridge's gateway,
// for the pods of this test. proxytest.StartRedis refuses a Redis it did not
// start, and stops only its own.
func startHostRedis(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", podGateway+":0")
	if err != nil {
		t.Fatalf("listen on the pod gateway %s (is the local cluster up?): %v", podGateway, err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return proxytest.StartRedis(t, addr).Addr
}

// connectVia opens a session whose client does not re-open a stream that
// ends: a lost backend must show at once.
func connectVia(rt http.RoundTripper, endpoint string) (*mcp.ClientSession, error) {
	return connectRetrying(rt, endpoint, -1)
}

// connectRetrying opens a session whose client re-opens an ended stream up
// to retries times (0: the SDK's default), as clients in the field do.
func connectRetrying(rt http.RoundTripper, endpoint string, retries int) (*mcp.ClientSession, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "switchboard-e2e", Version: "1"}, nil)
	return c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: &http.Client{Transport: rt}, MaxRetries: retries}, nil)
}

func whoami(cs *mcp.ClientSession) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil {
		return "", err
	}
	if len(res.Content) != 1 {
		return "", fmt.Errorf("whoami: %d contents", len(res.Content))
	}
	tc, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		return "", fmt.Errorf("whoami: %T", res.Content[0])
	}
	return tc.Text, nil
}

func scaledManifest(name, redisAddr string) string {
	m := manifest(name, "streamable-http") + "  replicas: 2\n  backendReplicas: 3\n"
	if redisAddr != "" {
		m += "  sessionStorage:\n    provider: redis\n    address: " + redisAddr + "\n    keyPrefix: " + name + "\n"
	}
	return m
}

// The seed's "Horizontal scaling" configuration on a real cluster: two proxy
// pods, three backend pods, Redis session storage. Sessions spread over the
// backend pods and stay on theirs through either proxy; a backend pod
// deleted mid-run costs only its own sessions; SessionStorageWarning fires
// as documented; a proxy rolling update under steady load through the
// Service fails no call.
func TestScaledServerWithRedis(t *testing.T) {
	n := newNamespace(t)
	redisAddr := startHostRedis(t)
	const name = "scaled"
	n.mustApply(scaledManifest(name, redisAddr))
	n.mustApply(scaledManifest("noredis", ""))
	n.waitReady(name)
	n.must("rollout", "status", "deployment/"+naming.ProxyDeploymentName(name), "--timeout=180s")
	n.must("rollout", "status", "statefulset/"+naming.BackendStatefulSetName(name), "--timeout=180s")

	checkStorageWarning(t, n, name)
	sessions := spreadSessions(t, n, name)
	deleteABackendPod(t, n, name, sessions)
	rollProxiesUnderLoad(t, n, name)
}

// scaledSession is a client session and the backend pod that answers it.
type scaledSession struct {
	cs  *mcp.ClientSession
	pod string
	via *proxytest.Alternating
}

// checkStorageWarning: SessionStorageWarning only for replicas > 1 without
// Redis, with a Warning event.
func checkStorageWarning(t *testing.T, n *ns, name string) {
	t.Helper()
	cond := func(server string) string {
		out, _ := n.run("get", "mcpserver/"+server, "-o", `jsonpath={.status.conditions[?(@.type=="SessionStorageWarning")].status}`)
		return out
	}
	eventually(t, 60*time.Second, func() string {
		if got := cond("noredis"); got != "True" {
			return "SessionStorageWarning of noredis: " + got
		}
		if got := cond(name); got != "False" {
			return "SessionStorageWarning of scaled (with Redis): " + got
		}
		return ""
	})
	eventually(t, 30*time.Second, func() string {
		ev := n.must("get", "events", "--field-selector", "involvedObject.kind=MCPServer")
		for _, line := range strings.Split(ev, "\n") {
			if strings.Contains(line, "mcpserver/noredis") && strings.Contains(line, "Warning") && strings.Contains(line, v1beta1.ReasonNoSharedSessions) {
				return ""
			}
			if strings.Contains(line, "mcpserver/"+name+" ") && strings.Contains(line, v1beta1.ReasonNoSharedSessions) {
				return "a session storage warning for the server with Redis: " + line
			}
		}
		return "no " + v1beta1.ReasonNoSharedSessions + " warning event for noredis:\n" + ev
	})
}

// spreadSessions opens 30 sessions, each called through both proxy pods:
// they spread over the three backend pods and stay on theirs.
func spreadSessions(t *testing.T, n *ns, name string) []*scaledSession {
	t.Helper()
	// The host is the node: it reaches pod IPs on the bridge and Service
	// IPs through kube-proxy, as a client in the cluster would.
	proxyPods := strings.Fields(n.must("get", "pods", "-l", naming.LabelInstance+"="+name+","+naming.LabelComponent+"="+string(naming.ComponentProxy),
		"-o", "jsonpath={.items[*].status.podIP}"))
	if len(proxyPods) != 2 {
		t.Fatalf("proxy pod IPs %v, want 2", proxyPods)
	}
	hosts := []string{proxyPods[0] + ":8080", proxyPods[1] + ":8080"}
	alt := &proxytest.Alternating{Hosts: hosts}
	endpoint := "http://" + hosts[0] + "/mcp"

	sessions := make([]*scaledSession, 30)
	perPod := map[string]int{}
	for i := range sessions {
		cs, err := connectVia(alt, endpoint)
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		t.Cleanup(func() { _ = cs.Close() })
		pod, err := whoami(cs)
		if err != nil {
			t.Fatalf("session %d whoami: %v", i, err)
		}
		for range 3 { // through both proxies
			if again, err := whoami(cs); again != pod {
				t.Fatalf("session %d answered by %s, then %q (%v)", i, pod, again, err)
			}
		}
		sessions[i] = &scaledSession{cs: cs, pod: pod, via: alt}
		perPod[pod]++
	}
	t.Logf("sessions per backend pod: %v", perPod)
	for i := range 3 {
		if pod := fmt.Sprintf("%s-%d", name, i); perPod[pod] < 5 {
			t.Errorf("backend pod %s holds %d of 30 sessions: %v", pod, perPod[pod], perPod)
		}
	}
	return sessions
}

// deleteABackendPod: its sessions get "session not found" and start again;
// the others go on.
func deleteABackendPod(t *testing.T, n *ns, name string, sessions []*scaledSession) {
	t.Helper()
	alt := sessions[0].via
	endpoint := "http://" + alt.Hosts[0] + "/mcp"
	gone := name + "-1"
	n.must("delete", "pod", gone, "--wait=false")
	eventually(t, 60*time.Second, func() string {
		for _, s := range sessions {
			if s.pod != gone {
				continue
			}
			_, err := whoami(s.cs)
			if err == nil {
				return "a session of the deleted pod still answers"
			}
			// The client learns it either from a call ("session not found")
			// or from its stream to the pod ending first; either way the
			// session is over at once, not hanging.
			if !errors.Is(err, mcp.ErrSessionMissing) && !errors.Is(err, mcp.ErrConnectionClosed) &&
				!strings.Contains(err.Error(), "session not found") && !strings.Contains(err.Error(), "client is closing") {
				return "a session of the deleted pod got " + err.Error() + ", want session not found"
			}
		}
		return ""
	})
	for i, s := range sessions {
		if s.pod == gone {
			continue
		}
		if got, err := whoami(s.cs); got != s.pod {
			t.Errorf("session %d on %s got %q (%v) after %s was deleted", i, s.pod, got, err, gone)
		}
	}
	eventually(t, 60*time.Second, func() string {
		cs, err := connectVia(alt, endpoint)
		if err != nil {
			return "re-initialize: " + err.Error()
		}
		defer func() { _ = cs.Close() }()
		if _, err := whoami(cs); err != nil {
			return "call in a new session: " + err.Error()
		}
		return ""
	})
}

// rollProxiesUnderLoad: a rolling update of the proxy under steady load
// through the Service's cluster IP (kube-proxy) fails no call.
func rollProxiesUnderLoad(t *testing.T, n *ns, name string) {
	t.Helper()
	clusterIP := strings.TrimSpace(n.must("get", "service/"+naming.ProxyServiceName(name), "-o", "jsonpath={.spec.clusterIP}"))
	viaService := "http://" + clusterIP + ":8080/mcp"
	var calls, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs, err := connectRetrying(http.DefaultTransport, viaService, 0)
			if err != nil {
				t.Errorf("worker %d: %v", w, err)
				return
			}
			defer func() { _ = cs.Close() }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := whoami(cs); err != nil {
					failed.Add(1)
					t.Errorf("worker %d: a call failed during the rolling update: %v", w, err)
				}
				calls.Add(1)
			}
		}()
	}
	time.Sleep(time.Second)
	n.must("rollout", "restart", "deployment/"+naming.ProxyDeploymentName(name))
	n.must("rollout", "status", "deployment/"+naming.ProxyDeploymentName(name), "--timeout=300s")
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("%d calls through the Service during the rolling update, %d failed", calls.Load(), failed.Load())
	if calls.Load() < 20 {
		t.Errorf("only %d calls during the rolling update", calls.Load())
	}
}
