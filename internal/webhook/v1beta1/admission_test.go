package v1beta1_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// manifest is a testdata file: the object, and what its "# tag: text"
// comment lines expect.
type manifest struct {
	obj    *unstructured.Unstructured
	expect map[string][]string
}

func readManifest(t *testing.T, path string) manifest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	obj, expect := &unstructured.Unstructured{}, map[string][]string{}
	if err := yaml.Unmarshal(data, &obj.Object); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if m := expectation.FindStringSubmatch(sc.Text()); m != nil {
			expect[m[1]] = append(expect[m[1]], m[2])
		}
	}
	return manifest{obj: obj, expect: expect}
}

// expectation is a "# tag: text" line such as "# want: Required value".
var expectation = regexp.MustCompile(`^# ([a-z]+): (.+)$`)

// TestInvalidManifestsAreRejected applies every testdata/invalid manifest
// and checks the rejection: who rejected it (# by: api-server | webhook),
// the field it names (# field:) and what it says (# want:).
func TestInvalidManifestsAreRejected(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) < 30 {
		t.Fatalf("only %d manifests in testdata/invalid, want at least 30", len(files))
	}
	k, _ := newClient(t)
	ensureNamespace(t, k, "admission")
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			m := readManifest(t, f)
			want, field, by := m.expect["want"], m.expect["field"], m.expect["by"]
			if len(want) != 1 || len(field) != 1 || len(by) != 1 {
				t.Fatalf("%s needs one '# want:', one '# field:' and one '# by:' line", f)
			}
			err := k.Create(context.Background(), m.obj)
			if err == nil {
				_ = k.Delete(context.Background(), m.obj)
				t.Fatalf("accepted; want a rejection saying %q", want[0])
			}
			t.Log(err) // go test -v prints what a user sees
			var status *apierrors.StatusError
			if !errors.As(err, &status) || !apierrors.IsInvalid(err) {
				t.Fatalf("error is not an Invalid status: %v", err)
			}
			if !strings.Contains(err.Error(), want[0]) {
				t.Errorf("error does not say %q:\n%v", want[0], err)
			}
			if !namesField(status, field[0]) {
				t.Errorf("error does not name the field %s:\n%v", field[0], err)
			}
			byWebhook := strings.Contains(err.Error(), "admission webhook")
			if (by[0] == "webhook") != byWebhook {
				t.Errorf("want it rejected by the %s:\n%v", by[0], err)
			}
		})
	}
}

// namesField reports whether a cause of the rejection is the field. A CEL
// rule on the object's root (the metadata.name rule) cannot point into
// metadata, so the API server reports it at "<nil>": its message must then
// start with the field.
func namesField(s *apierrors.StatusError, field string) bool {
	if s.ErrStatus.Details == nil {
		return false
	}
	for _, c := range s.ErrStatus.Details.Causes {
		if c.Field == field || (c.Field == "<nil>" && strings.Contains(c.Message, ": "+field+" ")) {
			return true
		}
	}
	return false
}

// TestSeedManifestsAreAccepted applies the documentation's manifests,
// unchanged, and checks the warnings kubectl would print (# warns:).
func TestSeedManifestsAreAccepted(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in testdata/valid")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			m := readManifest(t, f)
			want := m.expect["warns"]
			if len(want) == 0 {
				t.Fatalf("%s has no '# warns:' line (say '# warns: nothing')", f)
			}
			if slices.Equal(want, []string{"nothing"}) {
				want = nil
			}
			k, warnings := newClient(t)
			ensureNamespace(t, k, m.obj.GetNamespace())
			if err := k.Create(context.Background(), m.obj); err != nil {
				t.Fatalf("rejected: %v", err)
			}
			// The seed's github manifest appears twice: each is a first apply.
			t.Cleanup(func() { _ = k.Delete(context.Background(), m.obj) })
			if d := cmp.Diff(want, warnings.take()); d != "" {
				t.Errorf("warnings (-want +got):\n%s", d)
			}
		})
	}
}

func TestDefaulterThroughTheAPIServer(t *testing.T) {
	ctx := context.Background()
	k, warnings := newClient(t)
	ensureNamespace(t, k, "defaults")
	legacy := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(`apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServer
metadata: {name: legacy, namespace: defaults}
spec:
  image: example/server
  transport: sse
  port: 9090
  secrets: [{name: s, key: TOKEN}]
`), &legacy.Object); err != nil {
		t.Fatal(err)
	}
	if err := k.Create(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Delete(ctx, legacy) })

	var s v1beta1.MCPServer
	if err := k.Get(ctx, client.ObjectKeyFromObject(legacy), &s); err != nil {
		t.Fatal(err)
	}
	type stored struct {
		ProxyPort, MCPPort int32
		ProxyMode          v1beta1.ProxyMode
		TargetEnvName      string
	}
	got := stored{s.Spec.ProxyPort, s.Spec.MCPPort, s.Spec.ProxyMode, s.Spec.Secrets[0].TargetEnvName}
	if d := cmp.Diff(stored{9090, 8080, v1beta1.ProxyModeSSE, "TOKEN"}, got); d != "" {
		t.Errorf("defaults stored (-want +got):\n%s", d)
	}
	if w := warnings.take(); !slices.Contains(w, "spec.port is deprecated: use spec.proxyPort") {
		t.Errorf("warnings %q lack the deprecation of spec.port", w)
	}

	// proxyPort was derived from port, so changing only port moves it.
	s.Spec.Port = 9191
	if err := k.Update(ctx, &s); err != nil {
		t.Fatalf("update port: %v", err)
	}
	if err := k.Get(ctx, client.ObjectKeyFromObject(legacy), &s); err != nil {
		t.Fatal(err)
	}
	if s.Spec.ProxyPort != 9191 {
		t.Errorf("proxyPort %d after changing port to 9191", s.Spec.ProxyPort)
	}
}

// TestSpecWarnings: settings that work, but not as the user may think, are
// admitted with a warning kubectl prints.
func TestSpecWarnings(t *testing.T) {
	k, warnings := newClient(t)
	ensureNamespace(t, k, "warnings")
	tests := []struct {
		name string
		spec v1beta1.MCPServerSpec
		want []string
	}{
		{"scaling without Redis",
			v1beta1.MCPServerSpec{Transport: v1beta1.TransportStreamableHTTP, Replicas: ptr.To[int32](2), BackendReplicas: ptr.To[int32](2)},
			[]string{v1beta1.SessionStorageWarningMessage,
				"spec.backendReplicas > 1 without Redis session storage: sessions rely on ClientIP affinity, which is unreliable behind NAT or shared egress IPs; " +
					"Redis session storage (spec.sessionStorage.provider redis) is strongly recommended"}},
		{"a stdio server scaled with its default ClientIP affinity",
			v1beta1.MCPServerSpec{Replicas: ptr.To[int32](2)},
			nil},
		{"a stdio server scaled without affinity, with Redis it does not use",
			v1beta1.MCPServerSpec{Replicas: ptr.To[int32](2), SessionAffinity: corev1.ServiceAffinityNone,
				SessionStorage: &v1beta1.SessionStorage{Provider: v1beta1.SessionStorageRedis, Address: "redis:6379"}},
			[]string{"spec.replicas > 1 with spec.sessionAffinity None on a stdio server: every proxy pod attaches to the one stdio pod " +
				"and keeps the sessions of its own clients in memory, so a client whose requests reach another proxy pod loses its session; " +
				"set spec.sessionAffinity to ClientIP (the default)",
				"spec.sessionStorage provider redis is not used by a stdio server: every proxy pod attaches to the one stdio pod " +
					"and keeps the sessions of its own clients in memory; remove spec.sessionStorage"}},
		{"the deprecated targetPort",
			v1beta1.MCPServerSpec{Transport: v1beta1.TransportSSE, TargetPort: 3000},
			[]string{"spec.targetPort is deprecated: use spec.mcpPort"}},
		{"audit request data while audit is off",
			v1beta1.MCPServerSpec{Audit: &v1beta1.AuditConfig{IncludeRequestData: true}},
			[]string{"spec.audit.includeRequestData and maxDataSize do nothing while spec.audit.enabled is false: set enabled: true to write audit events"}},
		{"an audit size bound without request data to bound",
			v1beta1.MCPServerSpec{Audit: &v1beta1.AuditConfig{Enabled: true, MaxDataSize: ptr.To[int32](512)}},
			[]string{"spec.audit.maxDataSize bounds the request data of an event, which includeRequestData (false) leaves out: set includeRequestData: true, or remove maxDataSize"}},
		{"audit with request data, bounded",
			v1beta1.MCPServerSpec{Audit: &v1beta1.AuditConfig{Enabled: true, IncludeRequestData: true, MaxDataSize: ptr.To[int32](512)}},
			nil},
		{"an image on the mcp container",
			v1beta1.MCPServerSpec{PodTemplateSpec: rawJSON(`{"spec":{"containers":[{"name":"mcp","image":"other/server"}]}}`)},
			[]string{"spec.podTemplateSpec.spec.containers[0].image is ignored: spec.image (example/server) is the MCP server's image; remove the image from the mcp container"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &v1beta1.MCPServer{ObjectMeta: metav1.ObjectMeta{Name: "warned", Namespace: "warnings"}, Spec: tt.spec}
			s.Spec.Image = "example/server"
			if err := k.Create(context.Background(), s, client.DryRunAll); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, warnings.take()); d != "" {
				t.Errorf("warnings (-want +got):\n%s", d)
			}
		})
	}
}

// TestReferenceWarningsFollowTheCluster: a reference warns while its object
// (or key) is missing and says nothing once it is there.
func TestReferenceWarningsFollowTheCluster(t *testing.T) {
	ctx := context.Background()
	k, warnings := newClient(t)
	ensureNamespace(t, k, "refs")
	for _, obj := range []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "github-token", Namespace: "refs"}, StringData: map[string]string{"token": "t"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "oidc", Namespace: "refs"}, Data: map[string]string{"oidc.json": "{}"}},
	} {
		if err := k.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		spec v1beta1.MCPServerSpec
		want []string
	}{
		{"an existing Secret key says nothing",
			v1beta1.MCPServerSpec{Secrets: []v1beta1.SecretRef{{Name: "github-token", Key: "token"}}}, nil},
		{"a missing key in an existing Secret warns",
			v1beta1.MCPServerSpec{Secrets: []v1beta1.SecretRef{{Name: "github-token", Key: "password"}}},
			[]string{`spec.secrets[0]: Secret "github-token" in namespace "refs" has no key "password"; the server will wait for it`}},
		{"an existing ConfigMap says nothing",
			v1beta1.MCPServerSpec{AuthzConfig: &v1beta1.AuthzConfigRef{Type: "configMap", ConfigMap: &v1beta1.ConfigMapAuthzRef{Name: "oidc", Key: "oidc.json"}}}, nil},
		{"a missing MCPToolConfig warns",
			v1beta1.MCPServerSpec{ToolConfigRef: &v1beta1.ToolConfigRef{Name: "filters"}},
			[]string{`spec.toolConfigRef: MCPToolConfig "filters" not found in namespace "refs"; the server will wait for it`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &v1beta1.MCPServer{ObjectMeta: metav1.ObjectMeta{Name: "refs", Namespace: "refs"}, Spec: tt.spec}
			s.Spec.Image = "example/server"
			if err := k.Create(ctx, s, client.DryRunAll); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, warnings.take()); d != "" {
				t.Errorf("warnings (-want +got):\n%s", d)
			}
		})
	}
}

func rawJSON(s string) *runtime.RawExtension { return &runtime.RawExtension{Raw: []byte(s)} }

// TestInlineTelemetryIsNotSilentlyDropped: ToolHive v0.63's MCPServer has
// no inline spec.telemetry (telemetryConfigRef replaced it), and neither
// has ours; an old manifest that still sets it is refused by kubectl's
// strict field validation and warned about otherwise, never dropped in
// silence.
func TestInlineTelemetryIsNotSilentlyDropped(t *testing.T) {
	k, warnings := newClient(t)
	ensureNamespace(t, k, "warnings")
	manifest := func() *unstructured.Unstructured {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(`apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServer
metadata: {name: inline-telemetry, namespace: warnings}
spec:
  image: example/server
  telemetry:
    openTelemetry: {enabled: true, endpoint: "otel-collector:4318"}
`), &obj.Object); err != nil {
			t.Fatal(err)
		}
		return obj
	}
	err := k.Create(context.Background(), manifest(), client.DryRunAll, client.FieldValidation("Strict"))
	if err == nil || !strings.Contains(err.Error(), `unknown field "spec.telemetry"`) {
		t.Errorf("strict apply (kubectl's default): %v, want the unknown field spec.telemetry refused", err)
	}
	if err := k.Create(context.Background(), manifest(), client.DryRunAll); err != nil {
		t.Fatal(err)
	}
	if w := warnings.take(); !slices.ContainsFunc(w, func(s string) bool { return strings.Contains(s, `unknown field "spec.telemetry"`) }) {
		t.Errorf("warnings %q: want the unknown field spec.telemetry named", w)
	}
}
