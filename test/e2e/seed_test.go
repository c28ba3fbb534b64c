//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// seedManifest is one MCPServer example of the seed document, kept in
// testdata/seed as written (only the image swapped, see each file).
type seedManifest struct {
	file, namespace, name, transport string
	before                           func(n *ns) // what the seed does before `kubectl apply`
}

// seedFile is the path of a manifest in testdata/seed.
func seedFile(file string) string { return filepath.Join("testdata", "seed", file) }

// The seed's examples, applied as the seed applies them (`kubectl apply -f
// <file>`, the namespace in the file): each reaches the documented objects
// and Ready, the troubleshooting commands show it, the proxy Service
// carries MCP to it, and `kubectl get mcpservers --all-namespaces` lists
// them all. The volume example needs a bound claim first: it has a test of
// its own (TestPersistentVolumeClaimMountedThroughPodTemplate).
func TestSeedManifestsAsWritten(t *testing.T) {
	t.Parallel()
	seeds := []seedManifest{
		{file: "osv.yaml", namespace: "my-namespace", name: "osv", transport: "streamable-http"},
		{file: "fetch.yaml", namespace: "development", name: "fetch", transport: "streamable-http"},
		{file: "github.yaml", namespace: "production", name: "github", transport: "stdio", before: func(n *ns) {
			n.must("create", "secret", "generic", "github-token", "--from-literal=token=ghp_e2e")
		}},
	}
	namespaces := make([]*ns, len(seeds))
	for i, s := range seeds {
		namespaces[i] = namedNamespace(t, s.namespace)
	}
	t.Run("apply", func(t *testing.T) {
		for i, s := range seeds {
			t.Run(s.name, func(t *testing.T) {
				t.Parallel()
				n := namespaces[i].in(t)
				if s.before != nil {
					s.before(n)
				}
				if out, err := kubectl("apply", "-f", seedFile(s.file)); err != nil {
					t.Fatalf("kubectl apply -f %s: %v\n%s", s.file, err, out)
				}
				n.waitReady(s.name)
				checkObjects(t, n, s.name, s.transport)
				checkTroubleshooting(t, n, s.name)
				checkMCP(t, n, s.name, s.transport)
			})
		}
	})
	if t.Failed() {
		return
	}
	t.Run("fetch's resources reach both containers", func(t *testing.T) {
		n := namespaces[1].in(t)
		backend := "pod/" + naming.BackendStatefulSetName("fetch") + "-0"
		if got := n.must("get", backend, "-o", `jsonpath={.spec.containers[?(@.name=="mcp")].resources.limits.memory}`); got != "512Mi" {
			t.Errorf("mcp container memory limit %q, want the podTemplateSpec's 512Mi", got)
		}
		proxy := "deployment/" + naming.ProxyDeploymentName("fetch")
		if got := n.must("get", proxy, "-o", `jsonpath={.spec.template.spec.containers[?(@.name=="`+naming.ProxyContainer+`")].resources.limits.memory}`); got != "128Mi" {
			t.Errorf("proxy container memory limit %q, want spec.resources' 128Mi", got)
		}
	})
	t.Run("github's token reaches the server's environment from the Secret", func(t *testing.T) {
		n := namespaces[2].in(t)
		pod := "pod/" + naming.BackendStatefulSetName("github") + "-0"
		ref := n.must("get", pod, "-o", `jsonpath={.spec.containers[?(@.name=="mcp")].env[?(@.name=="GITHUB_PERSONAL_ACCESS_TOKEN")].valueFrom.secretKeyRef}`)
		if !strings.Contains(ref, `"name":"github-token"`) || !strings.Contains(ref, `"key":"token"`) {
			t.Errorf("GITHUB_PERSONAL_ACCESS_TOKEN of the mcp container comes from %s; want Secret github-token, key token", ref)
		}
	})
	t.Run("kubectl get mcpservers --all-namespaces", func(t *testing.T) {
		out, err := kubectl("get", "mcpservers", "--all-namespaces")
		if err != nil {
			t.Fatalf("kubectl get mcpservers --all-namespaces: %v\n%s", err, out)
		}
		// The seed's columns, in its order (others may sit between them).
		if header := strings.Join(strings.Fields(strings.SplitN(out, "\n", 2)[0]), " "); !regexp.MustCompile(`^NAMESPACE NAME STATUS .*URL AGE$`).MatchString(header) {
			t.Errorf("columns %q; want NAMESPACE NAME STATUS ... URL AGE", header)
		}
		for _, s := range seeds {
			url := fmt.Sprintf("http://%s.%s.svc.cluster.local:8080/", naming.ProxyServiceName(s.name), s.namespace)
			row := regexp.MustCompile(`(?m)^` + s.namespace + `\s+` + s.name + `\s+Ready\s.*\s` + regexp.QuoteMeta(url) + `\S*\s+\S+$`)
			if !row.MatchString(out) {
				t.Errorf("no row for %s/%s, Ready, at %s:\n%s", s.namespace, s.name, url, out)
			}
		}
	})
}
