//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// The operator owns every object it creates for an MCPServer: one deleted
// by hand comes back (a new object, not a stale one) and the server serves
// again; deleting the MCPServer removes every object labelled with its
// instance, down to pods, ReplicaSets and EndpointSlices (design §3).
func TestOwnedObjectsComeBackAndGoWithTheServer(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	const name = "owned"
	n.mustApply(manifest(name, "streamable-http"))
	n.waitReady(name)

	for _, obj := range ownedObjects(name, "streamable-http") {
		t.Run("deleted "+strings.Replace(obj, "/", " ", 1), func(t *testing.T) {
			before := n.uidOf(obj)
			if before == "" {
				t.Fatalf("%s does not exist", obj)
			}
			// n.must would fail the parent test from this subtest.
			if out, err := n.run("delete", obj, "--wait=false"); err != nil {
				t.Fatalf("kubectl delete %s: %v\n%s", obj, err, out)
			}
			eventually(t, 2*time.Minute, func() string {
				if now := n.uidOf(obj); now == "" || now == before {
					return fmt.Sprintf("%s was not re-created (uid %q, deleted %q)", obj, now, before)
				}
				return ""
			})
		})
	}

	// Every object is back and working: the chain answers end to end. A
	// port-forward goes to one pod and ends with it, and the re-created
	// Deployment may still be replacing the pod the first one picked: each
	// try forwards anew.
	want := naming.BackendStatefulSetName(name) + "-0"
	eventually(t, 2*time.Minute, func() string {
		endpoint := n.portForward("service/"+naming.ProxyServiceName(name), 8080) + "/mcp"
		got, err := switchboard("mcp", "call-tool", "--server", endpoint, "--tool", "whoami")
		if err != nil || strings.TrimSpace(got) != want {
			return fmt.Sprintf("whoami answered %q (%v); want %q", strings.TrimSpace(got), err, want)
		}
		return ""
	})
	n.waitReady(name)

	sel := naming.LabelInstance + "=" + name
	before := n.labelled(t, sel)
	if len(before) == 0 {
		t.Fatalf("nothing is labelled %s before the delete; the check below would prove nothing", sel)
	}
	t.Logf("labelled %s before the delete: %s", sel, strings.Join(before, ", "))
	n.must("delete", "mcpserver/"+name, "--timeout=180s")
	eventually(t, 3*time.Minute, func() string {
		if left := n.labelled(t, sel); len(left) > 0 {
			return fmt.Sprintf("still labelled %s after the MCPServer was deleted: %s", sel, strings.Join(left, ", "))
		}
		return ""
	})
}

// labelled lists every namespaced object in this namespace that matches
// selector, of every resource type the API server can list.
func (n *ns) labelled(t *testing.T, selector string) []string {
	t.Helper()
	out, err := kubectl("api-resources", "--namespaced", "--verbs=list", "-o", "name")
	if err != nil {
		t.Fatalf("kubectl api-resources: %v\n%s", err, out)
	}
	var types []string
	for _, r := range strings.Fields(out) {
		if r != "events" && r != "events.events.k8s.io" { // never labelled, and many
			types = append(types, r)
		}
	}
	out, err = n.run("get", strings.Join(types, ","), "-l", selector, "-o", "name", "--ignore-not-found")
	if err != nil {
		t.Fatalf("kubectl get -l %s: %v\n%s", selector, err, out)
	}
	var objects []string
	for _, line := range strings.Split(out, "\n") {
		// kubectl warns that v1 Endpoints are deprecated; list them anyway.
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "Warning:") {
			objects = append(objects, line)
		}
	}
	return objects
}
