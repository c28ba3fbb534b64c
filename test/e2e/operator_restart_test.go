//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// The operator killed mid-reconcile converges with no orphans: its pod is
// deleted right after MCPServers are applied; the new operator finishes
// the work, every object exists once, and deleting the servers leaves
// nothing behind. Not parallel: Go runs it before the parallel tests, so
// the operator's absence disturbs no other test.
func TestOperatorKilledMidReconcileConverges(t *testing.T) {
	n := newNamespace(t)
	servers := []string{"restart-a", "restart-b", "restart-c"}
	for _, s := range servers {
		n.mustApply(manifest(s, "streamable-http"))
	}
	operator := []string{"-n", operatorNamespace, "pods", "-l", operatorSelector}
	if out, err := kubectl(append([]string{"delete", "--wait=false"}, operator...)...); err != nil {
		t.Fatalf("delete the operator pod: %v\n%s", err, out)
	}
	if out, err := kubectl("-n", operatorNamespace, "rollout", "status", operatorDeployment, "--timeout=300s"); err != nil {
		t.Fatalf("the operator did not come back: %v\n%s", err, out)
	}
	for _, s := range servers {
		n.waitReady(s)
	}
	for _, s := range servers {
		sel := naming.LabelInstance + "=" + s
		for kind, want := range map[string]int{"deployments": 1, "statefulsets": 1, "services": 2, "serviceaccounts": 2, "roles": 1, "rolebindings": 1} {
			out := n.must("get", kind, "-l", sel, "-o", "name")
			if got := len(strings.Fields(out)); got != want {
				t.Errorf("%s of %s: %d (%s), want %d", kind, s, got, strings.TrimSpace(out), want)
			}
		}
	}
	n.must(append([]string{"delete", "--timeout=180s"}, prefixed("mcpserver/", servers)...)...)
	eventually(t, 3*time.Minute, func() string {
		for _, s := range servers {
			if left := n.labelled(t, naming.LabelInstance+"="+s); len(left) > 0 {
				return fmt.Sprintf("orphans of %s: %s", s, strings.Join(left, ", "))
			}
		}
		return ""
	})
}

func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, s := range names {
		out[i] = prefix + s
	}
	return out
}
