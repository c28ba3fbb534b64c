//go:build e2e

package e2e

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// blockedWithin is how long a policy engine may take to enforce a
// NetworkPolicy, or to lift it, before a test concludes it does not.
const blockedWithin = 30 * time.Second

// probePod starts a pod of the test server image in n, serving streamable
// HTTP on 8080 (a destination) and running `/mcpserver --dial` on demand
// (a client: the image has no shell), and returns its IP once it runs.
func probePod(n *ns, name string) string {
	n.t.Helper()
	n.mustApply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels: {e2e-probe: %s}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: probe
    image: %s
    args: ["--transport=streamable-http", "--addr=:8080"]
    ports: [{containerPort: 8080}]
`, name, name, testServer))
	n.must("wait", "pod/"+name, "--for=condition=Ready", "--timeout=120s")
	return n.must("get", "pod/"+name, "-o", "jsonpath={.status.podIP}")
}

// dial tries one TCP connection from container c of pod in n to addr:
// "" when it connects, else what the probe said.
func dial(n *ns, pod, c, addr string) string {
	out, err := n.run("exec", pod, "-c", c, "--", "/mcpserver", "--dial="+addr, "--dial-timeout=3s")
	if err == nil && strings.Contains(out, "connected") && !strings.Contains(out, "not connected") {
		return ""
	}
	return fmt.Sprintf("%s → %s: %s (%v)", pod, addr, strings.TrimSpace(out), err)
}

// reaches waits until pod reaches addr; blocked until it cannot (a
// timeout, not a failed name lookup: DNS stays allowed).
func reaches(t *testing.T, n *ns, pod, c, addr string) {
	t.Helper()
	eventually(t, blockedWithin, func() string { return dial(n, pod, c, addr) })
}

func blocked(t *testing.T, n *ns, pod, c, addr string) {
	t.Helper()
	eventually(t, blockedWithin, func() string {
		out := dial(n, pod, c, addr)
		switch {
		case out == "":
			return pod + " still reaches " + addr
		case strings.Contains(out, "lookup "):
			return "name lookup failed, which a NetworkPolicy must not cause: " + out
		}
		return ""
	})
}

// requireEnforcement skips the test unless the cluster enforces
// NetworkPolicies: in a scratch namespace, a client that reaches a pod
// must lose it once a deny-all ingress policy selects that pod. The API
// server stores NetworkPolicies whether or not anything enforces them;
// only the network plugin (or a policy engine beside it) does.
func requireEnforcement(t *testing.T) {
	t.Helper()
	n := newNamespace(t)
	ip := probePod(n, "target")
	probePod(n, "client")
	reaches(t, n, "client", "probe", ip+":8080")
	n.mustApply(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all}
spec:
  podSelector: {matchLabels: {e2e-probe: target}}
  policyTypes: [Ingress]
`)
	deadline := time.Now().Add(blockedWithin)
	for dial(n, "client", "probe", ip+":8080") == "" {
		if time.Now().After(deadline) {
			t.Skipf("this cluster does not enforce NetworkPolicies: a deny-all ingress policy did not block a connection within %s, "+
				"so no network plugin or policy engine enforces them%s", blockedWithin, kernelHint())
		}
		time.Sleep(time.Second)
	}
}

// kernelHint says why the local cluster has no policy engine when the
// kernel of this host (the local cluster's node) lacks nftables' queue
// statement: kube-network-policies v0.8.0 hands each new connection to
// user space with nftables `queue` rules (expr.Queue, in
// pkg/networkpolicy/controller.go syncNFTablesRules), which need
// CONFIG_NFT_QUEUE (module nft_queue).
func kernelHint() string {
	f, err := os.Open("/proc/config.gz")
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	z, err := gzip.NewReader(f)
	if err != nil {
		return ""
	}
	config, err := io.ReadAll(z)
	if err != nil || !strings.Contains(string(config), "# CONFIG_NFT_QUEUE is not set") {
		return ""
	}
	return " (this host's kernel is built without CONFIG_NFT_QUEUE, the nftables queue statement that " +
		"sigs.k8s.io/kube-network-policies v0.8.0 sends new connections to user space with, so that engine cannot run here)"
}

// A server with spec.networkPolicy, on a cluster that enforces it: the
// proxy takes clients from the namespace listed only, the MCP server's
// port takes only the proxy, the MCP server connects only to DNS and the
// address allowed; kubectl describe says so; turning it off lifts it all.
func TestNetworkPolicyIsEnforced(t *testing.T) {
	requireEnforcement(t)

	allowed, other, n := newNamespace(t), newNamespace(t), newNamespace(t)
	probePod(allowed, "client")
	probePod(other, "client")
	allowedIP := probePod(other, "allowed-target")
	refusedIP := probePod(other, "refused-target")

	const name = "guarded"
	n.mustApply(manifest(name, "streamable-http") + fmt.Sprintf(`  networkPolicy:
    ingress:
      from:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: %s}}
    egress:
      allow:
      - to: [{ipBlock: {cidr: %s/32}}]
        ports: [{protocol: TCP, port: 8080}]
`, allowed.name, allowedIP))
	n.waitReady(name) // the proxy reached the MCP server through its policy
	if out := n.must("describe", "mcpserver", name); !strings.Contains(out, "NetworkPolicyApplied") ||
		!strings.Contains(out, naming.ProxyNetworkPolicyName(name)) {
		t.Errorf("kubectl describe mcpserver does not show the NetworkPolicies:\n%s", out)
	}
	proxy := fmt.Sprintf("%s.%s.svc.cluster.local:8080", naming.ProxyServiceName(name), n.name)
	backend := n.must("get", "pod", name+"-0", "-o", "jsonpath={.status.podIP}") + ":8080"
	probePod(n, "neighbour")

	t.Run("the listed namespace reaches the proxy", func(t *testing.T) { reaches(t, allowed.in(t), "client", "probe", proxy) })
	t.Run("another namespace does not", func(t *testing.T) { blocked(t, other.in(t), "client", "probe", proxy) })
	t.Run("only the proxy reaches the MCP server", func(t *testing.T) {
		blocked(t, n.in(t), "neighbour", "probe", backend)
		blocked(t, allowed.in(t), "client", "probe", backend)
	})
	t.Run("the MCP server reaches the allowed address only", func(t *testing.T) {
		reaches(t, n.in(t), name+"-0", naming.MCPContainer, allowedIP+":8080")
		blocked(t, n.in(t), name+"-0", naming.MCPContainer, refusedIP+":8080")
		// A name is resolved (DNS is always allowed), then refused.
		blocked(t, n.in(t), name+"-0", naming.MCPContainer, proxy)
	})

	n.must("patch", "mcpserver", name, "--type=merge", "-p", `{"spec":{"networkPolicy":{"enabled":false}}}`)
	eventually(t, time.Minute, func() string {
		if out, err := n.run("get", "networkpolicies", "-o", "name"); err != nil || strings.TrimSpace(out) != "" {
			return fmt.Sprintf("NetworkPolicies still there: %s %v", out, err)
		}
		return ""
	})
	t.Run("turned off, every connection is back", func(t *testing.T) {
		reaches(t, other.in(t), "client", "probe", proxy)
		reaches(t, n.in(t), "neighbour", "probe", backend)
		reaches(t, n.in(t), name+"-0", naming.MCPContainer, refusedIP+":8080")
	})
}
