//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// A manifest written for ToolHive's deprecated v1alpha1 applies and runs,
// reads back through either version, and is stored as v1beta1.
func TestV1alpha1ManifestRuns(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	old := strings.Replace(manifest("alpha", "streamable-http"), "toolhive.stacklok.dev/v1beta1", "toolhive.stacklok.dev/v1alpha1", 1)
	out, err := n.apply(old)
	if err != nil {
		t.Fatalf("kubectl apply a v1alpha1 MCPServer: %v\n%s", err, out)
	}
	if !strings.Contains(out, "v1alpha1 is deprecated") {
		t.Errorf("kubectl apply of v1alpha1 gave no deprecation warning:\n%s", out)
	}
	n.waitReady("alpha")
	for _, resource := range []string{"mcpservers.v1alpha1.toolhive.stacklok.dev", "mcpservers.v1beta1.toolhive.stacklok.dev"} {
		if got := n.must("get", resource, "alpha", "-o", "jsonpath={.apiVersion} {.spec.transport} {.status.phase}"); !strings.HasSuffix(got, "streamable-http Ready") {
			t.Errorf("kubectl get %s alpha: %q; want it Ready over streamable-http", resource, got)
		}
	}
}

// exportedFromToolHive is an MCPServer as `kubectl get -o yaml` prints it on
// a ToolHive v0.63.0 cluster (with resourceVersion and uid removed, as one
// does before applying elsewhere): ToolHive's CRD defaults filled in,
// including proxyMode streamable-http on an sse server, which ToolHive
// ignores, its status and the last-applied annotation.
const exportedFromToolHive = `apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServer
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"toolhive.stacklok.dev/v1beta1","kind":"MCPServer","metadata":{"annotations":{},"name":"exported"},"spec":{"image":"` + testServer + `","transport":"sse","mcpPort":8080,"args":["--transport=sse","--addr=:8080"]}}
  generation: 1
  name: exported
spec:
  args:
  - --transport=sse
  - --addr=:8080
  image: ` + testServer + `
  mcpPort: 8080
  proxyMode: streamable-http
  proxyPort: 8080
  resources: {}
  sessionAffinity: ClientIP
  transport: sse
  trustProxyHeaders: false
status:
  conditions:
  - lastTransitionTime: "2026-11-30T10:00:00Z"
    message: MCP server is running
    reason: Ready
    status: "True"
    type: Ready
  message: MCP server is running
  phase: Ready
  readyReplicas: 1
  url: http://mcp-exported-proxy.default.svc.cluster.local:8080/sse#exported
`

// An object exported from a ToolHive cluster re-applies unchanged: the
// defaults ToolHive's CRD filled in are accepted (an ignored field with a
// warning), and the server runs over its own transport.
func TestToolHiveExportReapplies(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	out, err := n.apply(exportedFromToolHive)
	if err != nil {
		t.Fatalf("kubectl apply of a ToolHive export: %v\n%s", err, out)
	}
	if !strings.Contains(out, "proxyMode") {
		t.Errorf("no warning that proxyMode is ignored on an sse server:\n%s", out)
	}
	n.waitReady("exported")
	if url := n.must("get", "mcpserver", "exported", "-o", "jsonpath={.status.url}"); !strings.HasSuffix(url, "/sse#exported") {
		t.Errorf("status.url %q: an sse server is offered over sse whatever proxyMode says", url)
	}
	// Applying the same export again is accepted and changes no spec (kubectl
	// says "configured": the file's status differs, and the API server
	// drops it, status being a subresource).
	generation := n.must("get", "mcpserver", "exported", "-o", "jsonpath={.metadata.generation}")
	if out, err := n.apply(exportedFromToolHive); err != nil {
		t.Errorf("second apply of the export: %v\n%s", err, out)
	}
	if again := n.must("get", "mcpserver", "exported", "-o", "jsonpath={.metadata.generation}"); again != generation {
		t.Errorf("re-applying the export changed the spec: generation %s -> %s", generation, again)
	}
}

// A user's own Service written against ToolHive's pod labels selects the
// proxy pods, and its Ready condition says what ToolHive's does.
func TestToolHiveLabelsAndReadyWording(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	n.mustApply(manifest("labelled", "streamable-http"))
	n.waitReady("labelled")
	if msg := n.must("get", "mcpserver", "labelled", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].message}`); msg != "MCP server is running" {
		t.Errorf("Ready message %q; want ToolHive's %q", msg, "MCP server is running")
	}
	n.mustApply(`apiVersion: v1
kind: Service
metadata:
  name: users-own
spec:
  selector:
    app: mcpserver
    toolhive-name: labelled
  ports:
  - port: 8080
    targetPort: 8080
`)
	proxyPod := strings.TrimSpace(n.must("get", "pods", "-l", naming.LabelInstance+"=labelled,"+naming.LabelComponent+"="+string(naming.ComponentProxy),
		"-o", "jsonpath={.items[0].status.podIP}"))
	eventually(t, 60*time.Second, func() string {
		got, _ := n.run("get", "endpointslices", "-l", "kubernetes.io/service-name=users-own", "-o", "jsonpath={.items[*].endpoints[*].addresses[*]}")
		if strings.TrimSpace(got) != proxyPod {
			return "the user's Service selects " + got + "; want the proxy pod " + proxyPod
		}
		return ""
	})
	base := n.portForward("service/users-own", 8080)
	eventually(t, 30*time.Second, func() string {
		if h := health(base); h != "healthy" {
			return "/health through the user's Service: " + h
		}
		return ""
	})
}

// ToolHive's restart annotation restarts the proxy and the MCP server:
// every pod of the server is replaced, and it is Ready again.
func TestRestartAnnotationReplacesThePods(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	n.mustApply(manifest("restarted", "streamable-http"))
	n.waitReady("restarted")
	pods := func() []string {
		out := n.must("get", "pods", "-l", naming.LabelInstance+"=restarted", "-o", "jsonpath={.items[*].metadata.uid}")
		return strings.Fields(out)
	}
	before := pods()
	n.must("annotate", "mcpserver", "restarted", "--overwrite",
		"mcpserver.toolhive.stacklok.dev/restarted-at="+time.Now().UTC().Format(time.RFC3339))
	eventually(t, 150*time.Second, func() string {
		now := pods()
		for _, uid := range now {
			for _, old := range before {
				if uid == old {
					return "pod " + uid + " is still there"
				}
			}
		}
		if len(now) != len(before) {
			return "pods: " + strings.Join(now, " ")
		}
		return ""
	})
	n.waitReady("restarted")
}

// A server that runs but speaks another transport than the one configured
// (an HTTP server declared stdio, the common mistake) is not Ready, and its
// status says what to change.
func TestTransportMismatchIsToldInWords(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	m := strings.Replace(manifest("mismatch", "stdio"), "args: []", `args: ["--transport=streamable-http", "--addr=:8080"]`, 1)
	n.mustApply(m)
	eventually(t, 120*time.Second, func() string {
		msg := n.must("get", "mcpserver", "mismatch", "-o", "jsonpath={.status.message}")
		if !strings.Contains(msg, "set spec.transport to sse or streamable-http") {
			return "status.message: " + msg
		}
		return ""
	})
	if ready := n.must("get", "mcpserver", "mismatch", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`); ready == "True" {
		t.Errorf("a server answering another transport is Ready")
	}
}

// Ready shows what the server said of itself: kubectl get lists its tools.
func TestReadyShowsTheServersHandshake(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	n.mustApply(manifest("described", "sse"))
	n.waitReady("described")
	eventually(t, 30*time.Second, func() string {
		info := n.must("get", "mcpserver", "described", "-o", "jsonpath={.status.serverInfo.name} {.status.serverInfo.protocolVersion} {.status.serverInfo.tools}")
		if f := strings.Fields(info); len(f) != 3 || f[2] == "0" {
			return "status.serverInfo: " + info
		}
		return ""
	})
	if list := n.must("get", "mcpservers"); !strings.Contains(list, "TOOLS") {
		t.Errorf("kubectl get mcpservers has no TOOLS column:\n%s", list)
	}
}
