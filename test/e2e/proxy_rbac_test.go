//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// The proxy creates nothing (design §3): its ServiceAccount may read pods
// and EndpointSlices, read pod logs and, for a stdio server only, attach
// to pods; it may not write anything, nor read Secrets. Asked as a user
// would, with `kubectl auth can-i --as=system:serviceaccount:<ns>:<sa>`.
func TestProxyServiceAccountWritesNothing(t *testing.T) {
	for _, transport := range []string{"stdio", "streamable-http"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			n := newNamespace(t)
			name := "rbac-" + strings.ReplaceAll(transport, "-", "")
			n.mustApply(manifest(name, transport))
			as := "--as=system:serviceaccount:" + n.name + ":" + naming.ProxyServiceAccountName(name)

			// The operator's RBAC is in place once the proxy may read pods.
			eventually(t, 2*time.Minute, func() string {
				if got := n.canI(as, "get", "pods"); got != "yes" {
					return "the proxy ServiceAccount may not get pods yet: " + got
				}
				return ""
			})

			type question struct{ verb, resource, want string }
			var questions []question
			for _, resource := range []string{
				"pods", "deployments.apps", "statefulsets.apps", "secrets", "services", "configmaps",
				"serviceaccounts", "roles.rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io",
				"mcpservers.toolhive.stacklok.dev", "endpointslices.discovery.k8s.io",
			} {
				for _, verb := range []string{"create", "update", "patch", "delete", "deletecollection"} {
					questions = append(questions, question{verb, resource, "no"})
				}
			}
			for _, verb := range []string{"get", "list", "watch"} {
				questions = append(questions,
					question{verb, "pods", "yes"},
					question{verb, "endpointslices.discovery.k8s.io", "yes"},
					question{verb, "secrets", "no"}, // the MCP pod gets them; the proxy never reads them
				)
			}
			attach := "no"
			if transport == "stdio" {
				attach = "yes"
			}
			questions = append(questions,
				question{"get", "pods/log", "yes"},
				question{"create", "pods/attach", attach},
				question{"get", "pods/attach", attach},
				question{"create", "pods/exec", "no"},
				question{"create", "pods/portforward", "no"},
			)

			// Four kubectl processes at a time: a hundred in a row are slow.
			answers := make([]string, len(questions))
			var wg sync.WaitGroup
			slots := make(chan struct{}, 4)
			for i, q := range questions {
				wg.Go(func() {
					slots <- struct{}{}
					defer func() { <-slots }()
					answers[i] = n.canI(as, q.verb, q.resource)
				})
			}
			wg.Wait()
			var wrong []string
			for i, q := range questions {
				if answers[i] != q.want {
					wrong = append(wrong, fmt.Sprintf("%s %s: %s, want %s", q.verb, q.resource, answers[i], q.want))
				}
			}
			if len(wrong) > 0 {
				t.Errorf("kubectl auth can-i %s -n %s answered wrongly:\n  %s", as, n.name, strings.Join(wrong, "\n  "))
			}
		})
	}
}

// canI is `kubectl auth can-i verb resource` in this namespace: "yes",
// "no", or what kubectl said instead. A subresource is written
// "pods/attach" (for kubectl that would be a pod named attach).
func (n *ns) canI(as, verb, resource string) string {
	args := []string{"auth", "can-i", verb, resource, as}
	if r, sub, ok := strings.Cut(resource, "/"); ok {
		args = []string{"auth", "can-i", verb, r, "--subresource=" + sub, as}
	}
	out, _ := n.run(args...) // exit status 1 means "no"
	return strings.TrimSpace(out)
}
