//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// cliImage is the switchboard CLI's image (make images): an MCP client
// that runs in a pod.
const cliImage = "switchboard/switchboard:dev"

// An in-cluster client reaches an MCPServer by the URL its status
// publishes, as design §1 promises: the cluster DNS (CoreDNS, which
// hack/cluster-up.sh installs) resolves
// mcp-<name>-proxy.<namespace>.svc.cluster.local, and the CLI in a pod of
// another namespace calls a tool through it. In the server's own namespace
// the short Service name works too (the pod's DNS search path).
func TestInClusterClientReachesServerByStatusURL(t *testing.T) {
	if out, err := kubectl("-n", "kube-system", "get", "service", "kube-dns", "-o", "jsonpath={.spec.clusterIP}"); err != nil {
		t.Fatalf("the cluster has no DNS (service kube-system/kube-dns): %v\n%s\nhack/cluster-up.sh installs CoreDNS", err, out)
	}
	for _, transport := range []string{"streamable-http", "sse"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			n := newNamespace(t)
			// Made now, so that its default ServiceAccount is there when
			// the client pod is created.
			clients := newNamespace(t)
			name := "dns-" + strings.ReplaceAll(transport, "-", "")
			n.mustApply(manifest(name, transport))
			n.waitReady(name)

			url := n.must("get", "mcpserver", name, "-o", "jsonpath={.status.url}")
			host := naming.ProxyServiceName(name) + "." + n.name + ".svc.cluster.local"
			if !strings.HasPrefix(url, "http://"+host+":8080/") {
				t.Fatalf("status.url is %q; want http://%s:8080/…", url, host)
			}
			if out := clients.runClient(t, "by-status-url", url, "add", `{"a":2,"b":3}`); out != "5" {
				t.Errorf("add 2 3 through %s from namespace %s answered %q; want 5", url, clients.name, out)
			}
			if transport != "streamable-http" {
				return
			}
			short := "http://" + naming.ProxyServiceName(name) + ":8080/mcp"
			if out := n.runClient(t, "by-service-name", short, "whoami", "{}"); out != name+"-0" {
				t.Errorf("whoami through %s answered %q; want the backend pod %s-0", short, out, name)
			}
		})
	}
}

// runClient runs `switchboard mcp call-tool` against server in a pod of
// this namespace and returns what it printed once the pod has succeeded.
func (n *ns) runClient(t *testing.T, pod, server, tool, args string) string {
	t.Helper()
	n = n.in(t)
	n.mustApply(clientPod(pod, server, tool, args))
	var phase string
	eventually(t, 2*time.Minute, func() string {
		phase, _ = n.run("get", "pod", pod, "-o", "jsonpath={.status.phase}")
		if phase == "Succeeded" || phase == "Failed" {
			return ""
		}
		return "pod " + pod + " is " + phase
	})
	logs, err := n.run("logs", pod)
	if phase != "Succeeded" || err != nil {
		describe, _ := n.run("describe", "pod", pod)
		t.Fatalf("client pod %s %s (%v); its output:\n%s\n%s", pod, phase, err, logs, describe)
	}
	return strings.TrimSpace(logs)
}

// clientPod is a pod that calls tool once with the CLI and exits,
// restricted as a pod security admission "restricted" namespace wants.
func clientPod(name, server, tool, args string) string {
	argv, _ := json.Marshal([]string{"mcp", "call-tool", "--server", server, "--tool", tool, "--args", args})
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  restartPolicy: Never
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: client
    image: %s
    args: %s
    resources:
      limits: {cpu: '100m', memory: '64Mi'}
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
`, name, cliImage, argv)
}
