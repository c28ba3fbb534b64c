//go:build e2e

package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

const (
	operatorNamespace  = "toolhive-system"
	operatorRelease    = "toolhive-operator"
	operatorDeployment = "deployment/toolhive-operator-controller-manager"
	operatorSelector   = "app.kubernetes.io/name=toolhive-operator"
)

// upgradeOperator runs `helm upgrade` of the operator's release with the
// chart of this checkout, from the chart's defaults plus args, and waits
// until only the new operator pod runs (the old one could still reconcile).
func upgradeOperator(t *testing.T, args ...string) {
	t.Helper()
	chart := filepath.Join(repoRoot, "deploy", "charts", "toolhive-operator")
	base := []string{"upgrade", operatorRelease, chart, "-n", operatorNamespace, "--reset-values", "--wait", "--timeout", "5m"}
	if out, err := helm(append(base, args...)...); err != nil {
		t.Fatalf("helm upgrade %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if out, err := kubectl("-n", operatorNamespace, "rollout", "status", operatorDeployment, "--timeout=300s"); err != nil {
		t.Fatalf("rollout of the operator: %v\n%s", err, out)
	}
	eventually(t, 2*time.Minute, func() string {
		out, err := kubectl("-n", operatorNamespace, "get", "pods", "-l", operatorSelector, "-o", "name")
		if err != nil || len(strings.Fields(out)) != 1 {
			return "operator pods: " + out
		}
		return ""
	})
}

// The seed's "MCPServer resource is ignored by the operator": with the
// chart in namespace mode, a server outside allowedNamespaces gets no
// objects, no status and no events, `helm get values` shows why, and the
// seed's fix (add the namespace to allowedNamespaces, upgrade the chart)
// brings it up. Not parallel: it switches the one operator of the cluster
// and back before the parallel tests start.
func TestNamespaceModeIgnoresServersOutsideAllowedNamespaces(t *testing.T) {
	allowed, other := newNamespace(t), newNamespace(t)
	const name = "scoped"
	upgradeOperator(t, "--set", "operator.rbac.scope=namespace", "--set", "operator.rbac.allowedNamespaces={"+allowed.name+"}")
	t.Cleanup(func() { upgradeOperator(t) }) // back to the defaults: cluster mode

	values, err := helm("get", "values", operatorRelease, "-n", operatorNamespace)
	if err != nil || !strings.Contains(values, "scope: namespace") || !regexp.MustCompile(`allowedNamespaces:\s*\n\s*- `+allowed.name+`\n`).MatchString(values) {
		t.Errorf("helm get values %s -n %s: %v; want scope namespace and allowedNamespaces [%s]:\n%s", operatorRelease, operatorNamespace, err, allowed.name, values)
	}
	operatorSA := "system:serviceaccount:" + operatorNamespace + ":toolhive-operator-controller-manager"
	for _, c := range []struct {
		n    *ns
		want string
	}{{allowed, "yes"}, {other, "no"}} {
		if out, _ := kubectl("auth", "can-i", "watch", "mcpservers.toolhive.stacklok.dev", "-n", c.n.name, "--as="+operatorSA); strings.TrimSpace(out) != c.want {
			t.Errorf("can the operator watch MCPServers in %s? %q, want %s", c.n.name, strings.TrimSpace(out), c.want)
		}
	}

	allowed.mustApply(manifest(name, "streamable-http"))
	other.mustApply(manifest(name, "streamable-http"))
	allowed.waitReady(name)
	// By now the operator has reconciled what it watches; what it does not
	// watch looks as the seed describes.
	ignored := func() string {
		if out, _ := other.run("get", "deployments,statefulsets,services,pods", "-l", naming.LabelInstance+"="+name, "-o", "name"); strings.TrimSpace(out) != "" {
			return "objects of the ignored server: " + out
		}
		if st, _ := other.run("get", "mcpserver", name, "-o", "jsonpath={.status}"); st != "" && st != "{}" {
			return "the ignored server has a status: " + st
		}
		if d := other.must("describe", "mcpserver", name); !regexp.MustCompile(`Events:\s+<none>`).MatchString(d) {
			return "kubectl describe mcpserver shows events:\n" + d
		}
		return ""
	}
	if msg := ignored(); msg != "" {
		t.Fatalf("in namespace mode, a server outside allowedNamespaces: %s", msg)
	}

	upgradeOperator(t, "--set", "operator.rbac.scope=namespace", "--set", "operator.rbac.allowedNamespaces={"+allowed.name+","+other.name+"}")
	other.waitReady(name)
}

// The seed's checks of the operator itself: its pods and logs by label,
// the CRDs by API group, the chart's values.
func TestOperatorTroubleshooting(t *testing.T) {
	t.Parallel()
	pods, err := kubectl("-n", operatorNamespace, "get", "pods", "-l", operatorSelector)
	if err != nil || !regexp.MustCompile(`\n\S+\s+1/1\s+Running\s`).MatchString(pods) {
		t.Errorf("kubectl -n %s get pods -l %s: %v; want one Running 1/1:\n%s", operatorNamespace, operatorSelector, err, pods)
	}
	logs, err := kubectl("-n", operatorNamespace, "logs", "-l", operatorSelector, "--tail=100")
	if err != nil || strings.Count(logs, "\n") < 3 {
		t.Errorf("kubectl -n %s logs -l %s --tail=100: %v\n%s", operatorNamespace, operatorSelector, err, logs)
	}
	resources, err := kubectl("api-resources", "--api-group=toolhive.stacklok.dev")
	row := regexp.MustCompile(`(?m)^mcpservers\s+.*toolhive\.stacklok\.dev/v1beta1\s+true\s+MCPServer$`)
	if err != nil || !row.MatchString(resources) {
		t.Errorf("kubectl api-resources --api-group=toolhive.stacklok.dev: %v; want mcpservers, toolhive.stacklok.dev/v1beta1, namespaced, MCPServer:\n%s", err, resources)
	}
	// Installed with the chart's defaults: no values of the user's, and the
	// computed ones say cluster mode.
	if out, err := helm("get", "values", operatorRelease, "-n", operatorNamespace); err != nil || !strings.Contains(out, "USER-SUPPLIED VALUES") {
		t.Errorf("helm get values %s -n %s: %v\n%s", operatorRelease, operatorNamespace, err, out)
	}
	if out, err := helm("get", "values", operatorRelease, "-n", operatorNamespace, "--all"); err != nil || !strings.Contains(out, "scope: cluster") {
		t.Errorf("helm get values %s -n %s --all: %v; want scope: cluster\n%s", operatorRelease, operatorNamespace, err, out)
	}
}
