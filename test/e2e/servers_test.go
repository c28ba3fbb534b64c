//go:build e2e

package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// testServer is the project's Go SDK test server image (make images).
const testServer = "switchboard/mcpserver:dev"

// manifest is an MCPServer of the test server over transport.
func manifest(name, transport string) string {
	args := `["--transport=` + transport + `", "--addr=:8080"]`
	ports := "\n  mcpPort: 8080\n  proxyPort: 8080"
	if transport == "stdio" {
		args, ports = "[]", "\n  proxyPort: 8080"
	}
	return fmt.Sprintf(`apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServer
metadata:
  name: %s
spec:
  image: %s
  args: %s
  transport: %s%s
  resources:
    limits: {cpu: '200m', memory: '128Mi'}
    requests: {cpu: '50m', memory: '64Mi'}
`, name, testServer, args, transport, ports)
}

// Each transport, as the seed's examples and troubleshooting section use
// it: the documented objects exist with their names, labels and
// containers, the server reaches Ready, and through
// `kubectl port-forward service/mcp-<name>-proxy` the proxy is healthy and
// the CLI lists the tools and calls one.
func TestEveryTransportEndToEnd(t *testing.T) {
	for _, transport := range []string{"streamable-http", "sse", "stdio"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			n := newNamespace(t)
			name := "srv-" + strings.ReplaceAll(transport, "-", "")
			n.mustApply(manifest(name, transport))
			n.waitReady(name)
			checkObjects(t, n, name, transport)
			checkTroubleshooting(t, n, name)
			checkMCP(t, n, name, transport)
		})
	}
}

// checkObjects finds the objects the seed documents, with its selectors.
func checkObjects(t *testing.T, n *ns, name, transport string) {
	t.Helper()
	sel := naming.LabelInstance + "=" + name
	pods := n.must("get", "pods", "-l", sel, "-o", `jsonpath={range .items[*]}{.metadata.name}:{range .spec.containers[*]}{.name},{end};{end}`)
	if !strings.Contains(pods, naming.ProxyContainer+",") || !strings.Contains(pods, naming.MCPContainer+",") {
		t.Errorf("pods of %s: %s; want containers %q and %q", name, pods, naming.ProxyContainer, naming.MCPContainer)
	}
	objects := ownedObjects(name, transport)
	if _, err := n.run("get", "service/"+naming.HeadlessServiceName(name)); transport == "stdio" && err == nil {
		t.Errorf("a stdio server got a headless Service")
	}
	for _, obj := range objects {
		if out, err := n.run("get", obj, "-o", "jsonpath={.metadata.labels."+strings.ReplaceAll(naming.LabelInstance, ".", `\.`)+"}"); err != nil || out != name {
			t.Errorf("%s: %q %v; want it labelled %s", obj, out, err, sel)
		}
	}
	for _, kind := range []string{"services", "endpoints"} {
		if out := n.must("get", kind, "-l", sel); !strings.Contains(out, naming.ProxyServiceName(name)) {
			t.Errorf("kubectl get %s -l %s:\n%s", kind, sel, out)
		}
	}
}

// ownedObjects are the objects the operator makes for an MCPServer, as
// kind/name; a stdio server has no port, so no headless Service.
func ownedObjects(name, transport string) []string {
	objects := []string{
		"deployment/" + naming.ProxyDeploymentName(name),
		"service/" + naming.ProxyServiceName(name),
		"role/" + naming.ProxyServiceAccountName(name),
		"rolebinding/" + naming.ProxyServiceAccountName(name),
		"serviceaccount/" + naming.ProxyServiceAccountName(name),
		"statefulset/" + naming.BackendStatefulSetName(name),
		"serviceaccount/" + naming.MCPServiceAccountName(name),
	}
	if transport != "stdio" {
		objects = append(objects, "service/"+naming.HeadlessServiceName(name))
	}
	return objects
}

// checkTroubleshooting runs the seed's troubleshooting commands.
func checkTroubleshooting(t *testing.T, n *ns, name string) {
	t.Helper()
	list := n.must("get", "mcpservers")
	for _, want := range []string{"STATUS", "URL", "AGE", "Ready", "http://" + naming.ProxyServiceName(name) + "." + n.name + ".svc.cluster.local:8080/"} {
		if !strings.Contains(list, want) {
			t.Errorf("kubectl get mcpservers lacks %q:\n%s", want, list)
		}
	}
	if out, err := n.run("logs", "deploy/"+naming.ProxyDeploymentName(name), "-c", naming.ProxyContainer); err != nil || !strings.Contains(out, "listening") {
		t.Errorf("kubectl logs -c %s: %v\n%s", naming.ProxyContainer, err, out)
	}
	if out, err := n.run("logs", name+"-0", "-c", naming.MCPContainer); err != nil {
		t.Errorf("kubectl logs %s-0 -c %s: %v\n%s", name, naming.MCPContainer, err, out)
	}
	sel := naming.LabelInstance + "=" + name
	// The seed's way to the proxy's logs: the selector matches the backend
	// pod too, which has no toolhive container.
	if out, err := n.run("logs", "-l", sel, "-c", naming.ProxyContainer); err != nil || !strings.Contains(out, "listening") {
		t.Errorf("kubectl logs -l %s -c %s: %v\n%s", sel, naming.ProxyContainer, err, out)
	}
	all := n.must("get", "all", "-l", sel)
	for _, want := range []string{"deployment.apps/" + naming.ProxyDeploymentName(name), "statefulset.apps/" + naming.BackendStatefulSetName(name),
		"service/" + naming.ProxyServiceName(name), "pod/" + naming.BackendStatefulSetName(name) + "-0"} {
		if !strings.Contains(all, want) {
			t.Errorf("kubectl get all -l %s lacks %s:\n%s", sel, want, all)
		}
	}
	readyEvent := regexp.MustCompile(`Normal\s+Ready\s+mcpserver/` + name + `\s+Ready: `)
	if out := n.must("get", "events", "--field-selector", "involvedObject.kind=MCPServer"); !readyEvent.MatchString(out) {
		t.Errorf("kubectl get events --field-selector involvedObject.kind=MCPServer shows no Normal Ready event of %s:\n%s", name, out)
	}
	describe := n.must("describe", "mcpserver", name)
	readyCondition := regexp.MustCompile(`Reason:\s+Ready\n\s+Status:\s+True\n\s+Type:\s+Ready\n`)
	if !readyCondition.MatchString(describe) || !regexp.MustCompile(`Events:(.|\n)*Normal\s+Ready\s`).MatchString(describe) {
		t.Errorf("kubectl describe mcpserver %s shows no Ready=True condition or no Ready event:\n%s", name, describe)
	}
	if out := n.must("get", "mcpserver", name, "-o", "yaml"); !strings.Contains(out, "phase: Ready") || !strings.Contains(out, "url: http://") {
		t.Errorf("kubectl get mcpserver %s -o yaml shows no phase Ready and URL:\n%s", name, out)
	}
}

// checkMCP reaches the server as the seed says: port-forward the proxy
// Service, /health, then the CLI lists the tools and calls two.
func checkMCP(t *testing.T, n *ns, name, transport string) {
	t.Helper()
	base := n.portForward("service/"+naming.ProxyServiceName(name), 8080)
	eventually(t, 30*time.Second, func() string {
		if h := health(base); h != "healthy" {
			return "/health: " + h
		}
		return ""
	})
	endpoint := base + "/mcp"
	if transport == "sse" {
		endpoint = base + "/sse"
	}
	tools, err := switchboard("mcp", "list", "tools", "--server", endpoint)
	if err != nil || !strings.Contains(tools, "echo") || !strings.Contains(tools, "whoami") {
		t.Fatalf("switchboard mcp list tools: %v\n%s", err, tools)
	}
	sum, err := switchboard("mcp", "call-tool", "--server", endpoint, "--tool", "add", "--args", `{"a":2,"b":3}`)
	if err != nil || strings.TrimSpace(sum) != "5" {
		t.Errorf("switchboard mcp call-tool add 2 3: %q %v", sum, err)
	}
	who, err := switchboard("mcp", "call-tool", "--server", endpoint, "--tool", "whoami")
	if err != nil || strings.TrimSpace(who) != name+"-0" {
		t.Errorf("whoami answered %q (%v); want the backend pod %s-0", who, err, name)
	}
}
