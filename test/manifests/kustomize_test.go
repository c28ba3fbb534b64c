// Package manifests checks the kustomize tree: it renders config/default and
// config/samples the way `kubectl apply -k` would and asserts that the names
// written by hand in several files agree with each other.
package manifests

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/switchboard-mcp/switchboard/internal/testenv"
)

func render(t *testing.T, dir string) []*resource.Resource {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(testenv.Root(), dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return m.Resources()
}

func find(t *testing.T, rs []*resource.Resource, kind string) []*resource.Resource {
	t.Helper()
	var out []*resource.Resource
	for _, r := range rs {
		if r.GetKind() == kind {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s rendered", kind)
	}
	return out
}

func str(t *testing.T, r *resource.Resource, path string) string {
	t.Helper()
	v, err := r.GetString(path)
	if err != nil {
		t.Fatalf("%s %s: %s: %v", r.GetKind(), r.GetName(), path, err)
	}
	return v
}

func TestDefaultInstallsTheOperatorWithCertManagerWebhooks(t *testing.T) {
	rs := render(t, "config/default")

	dep := find(t, rs, "Deployment")[0]
	if dep.GetNamespace() != "toolhive-system" {
		t.Errorf("operator namespace = %q, want toolhive-system (the seed's troubleshooting commands use it)", dep.GetNamespace())
	}
	if l := str(t, dep, "spec.template.metadata.labels.app\\.kubernetes\\.io/name"); l != "toolhive-operator" {
		t.Errorf("operator pod label app.kubernetes.io/name = %q, want toolhive-operator", l)
	}

	cert := find(t, rs, "Certificate")[0]
	issuer := find(t, rs, "Issuer")[0]
	if got := str(t, cert, "spec.issuerRef.name"); got != issuer.GetName() {
		t.Errorf("Certificate issuerRef %q, Issuer is %q", got, issuer.GetName())
	}
	svc := find(t, rs, "Service")[0]
	dnsNames, err := cert.GetSlice("spec.dnsNames")
	if err != nil {
		t.Fatal(err)
	}
	wantDNS := fmt.Sprintf("%s.%s.svc", svc.GetName(), svc.GetNamespace())
	if !slices.Contains(dnsNames, any(wantDNS)) {
		t.Errorf("Certificate dnsNames %v lack the webhook Service's name %s", dnsNames, wantDNS)
	}
	secretName := str(t, cert, "spec.secretName")
	if !strings.Contains(dep.MustYaml(), "secretName: "+secretName) {
		t.Errorf("the operator does not mount the certificate's Secret %s", secretName)
	}

	injectFrom := cert.GetNamespace() + "/" + cert.GetName()
	for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
		wh := find(t, rs, kind)[0]
		if got := wh.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != injectFrom {
			t.Errorf("%s inject-ca-from = %q, want %q", kind, got, injectFrom)
		}
		if got := str(t, wh, "webhooks[0].clientConfig.service.name"); got != svc.GetName() {
			t.Errorf("%s points at Service %q, the webhook Service is %q", kind, got, svc.GetName())
		}
		if got := str(t, wh, "webhooks[0].clientConfig.service.namespace"); got != svc.GetNamespace() {
			t.Errorf("%s points at namespace %q, want %q", kind, got, svc.GetNamespace())
		}
	}

	sa := find(t, rs, "ServiceAccount")[0]
	if got := str(t, dep, "spec.template.spec.serviceAccountName"); got != sa.GetName() {
		t.Errorf("operator runs as %q, the ServiceAccount is %q", got, sa.GetName())
	}
	for _, b := range find(t, rs, "ClusterRoleBinding") {
		if got := str(t, b, "subjects[0].name"); got != sa.GetName() {
			t.Errorf("ClusterRoleBinding %s binds %q, want %q", b.GetName(), got, sa.GetName())
		}
	}
	var crds []string
	for _, c := range find(t, rs, "CustomResourceDefinition") {
		crds = append(crds, str(t, c, "spec.names.kind"))
	}
	slices.Sort(crds)
	if want := []string{"MCPAuthzConfig", "MCPOIDCConfig", "MCPServer", "MCPTelemetryConfig", "MCPToolConfig"}; !slices.Equal(crds, want) {
		t.Errorf("CRDs rendered: %v, want %v", crds, want)
	}
}

func TestSamplesAreTheSeedExamples(t *testing.T) {
	names := []string{}
	for _, r := range find(t, render(t, "config/samples"), "MCPServer") {
		names = append(names, r.GetName())
	}
	slices.Sort(names)
	if want := []string{"fetch", "github", "osv"}; !slices.Equal(names, want) {
		t.Errorf("samples %v, want %v", names, want)
	}
}
