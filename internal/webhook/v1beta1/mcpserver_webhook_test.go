package v1beta1

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// admissionContext is the context the webhook server hands the defaulter:
// the request carries the raw object as written and, on update, the stored one.
func admissionContext(t *testing.T, raw string, old *v1beta1.MCPServer) context.Context {
	t.Helper()
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{Object: runtime.RawExtension{Raw: []byte(raw)}}}
	if old != nil {
		b, err := json.Marshal(old)
		if err != nil {
			t.Fatal(err)
		}
		req.OldObject = runtime.RawExtension{Raw: b}
	}
	return admission.NewContextWithRequest(context.Background(), req)
}

// decoded is the typed object the webhook server decodes from raw.
func decoded(t *testing.T, raw string) *v1beta1.MCPServer {
	t.Helper()
	s := &v1beta1.MCPServer{}
	if err := json.Unmarshal([]byte(raw), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDefaulterOnCreate(t *testing.T) {
	const raw = `{"metadata":{"name":"legacy"},"spec":{"image":"i","transport":"sse","port":9090,"secrets":[{"name":"s","key":"TOKEN"}]}}`
	s := decoded(t, raw)
	if err := (Defaulter{}).Default(admissionContext(t, raw, nil), s); err != nil {
		t.Fatal(err)
	}
	want := v1beta1.MCPServerSpec{
		Image: "i", Transport: v1beta1.TransportSSE, ProxyMode: v1beta1.ProxyModeSSE, Port: 9090, ProxyPort: 9090, MCPPort: 8080,
		SessionAffinity: "ClientIP", Secrets: []v1beta1.SecretRef{{Name: "s", Key: "TOKEN", TargetEnvName: "TOKEN"}},
	}
	if d := cmp.Diff(want, s.Spec); d != "" {
		t.Errorf("defaulted spec (-want +got):\n%s", d)
	}
}

func TestDefaulterOnUpdateFollowsTheDeprecatedPort(t *testing.T) {
	stored := decoded(t, `{"spec":{"image":"i","port":9090}}`)
	stored.Default(nil)
	const raw = `{"spec":{"image":"i","port":9191,"proxyPort":9090}}`
	s := decoded(t, raw)
	if err := (Defaulter{}).Default(admissionContext(t, raw, stored), s); err != nil {
		t.Fatal(err)
	}
	if s.Spec.ProxyPort != 9191 {
		t.Errorf("proxyPort %d, want 9191: it was derived from port, which changed", s.Spec.ProxyPort)
	}
}

func TestDefaulterRejectsPortsWrittenAsZero(t *testing.T) {
	const raw = `{"metadata":{"name":"zero"},"spec":{"image":"i","proxyPort":0,"targetPort":0,"mcpPort":8080}}`
	err := (Defaulter{}).Default(admissionContext(t, raw, nil), decoded(t, raw))
	if !apierrors.IsInvalid(err) {
		t.Fatalf("error %v, want Invalid", err)
	}
	want := `MCPServer.toolhive.stacklok.dev "zero" is invalid: [` +
		`spec.proxyPort: Invalid value: 0: must be between 1 and 65535: set a port, or remove proxyPort to use the default, ` +
		`spec.targetPort: Invalid value: 0: must be between 1 and 65535: set a port, or remove targetPort to use the default]`
	if d := cmp.Diff(want, err.Error()); d != "" {
		t.Errorf("error (-want +got):\n%s", d)
	}
}

func TestDefaulterOutsideAdmissionDefaultsAsOnCreate(t *testing.T) {
	s := decoded(t, `{"spec":{"image":"i","port":9090}}`)
	if err := (Defaulter{}).Default(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if s.Spec.ProxyPort != 9090 {
		t.Errorf("proxyPort %d, want 9090", s.Spec.ProxyPort)
	}
}

func TestValidatorRejectsLikeTheAPIServer(t *testing.T) {
	v := Validator{Reader: cluster(t, interceptor.Funcs{}), ProxyImage: "proxy:test"}
	s := server(template(`{"spec":{"containers":[{"name":"server","image":"i"}]}}`))
	_, err := v.ValidateCreate(context.Background(), s)
	if !apierrors.IsInvalid(err) {
		t.Fatalf("error %v, want Invalid", err)
	}
	want := `MCPServer.toolhive.stacklok.dev "fetch" is invalid: spec.podTemplateSpec.spec.containers: Required value: ` +
		`the MCP server container must be named "mcp": rename it, or add a container named "mcp" (other containers run as sidecars)`
	if d := cmp.Diff(want, err.Error()); d != "" {
		t.Errorf("error (-want +got):\n%s", d)
	}
}

func TestValidatorAdmitsWithSpecAndReferenceWarnings(t *testing.T) {
	v := Validator{Reader: cluster(t, interceptor.Funcs{}), ProxyImage: "proxy:test"}
	s := server(func(s *v1beta1.MCPServerSpec) {
		s.Port = 9090
		s.Secrets = []v1beta1.SecretRef{{Name: "slack-token", Key: "token"}}
	})
	warnings, err := v.ValidateCreate(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{portDeprecated, `spec.secrets[0]: Secret "slack-token" not found in namespace "tools"; the server will wait for it`}
	if d := cmp.Diff(want, []string(warnings)); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
}

// An object stored before a rule existed must stay deletable: a finalizer
// or label update that leaves the spec alone is not validated again.
func TestValidatorLetsUnchangedSpecsThrough(t *testing.T) {
	v := Validator{Reader: cluster(t, interceptor.Funcs{}), ProxyImage: "proxy:test"}
	stored := server(template(`{"spec":{"containers":[{"name":"server","image":"i"}]}}`))
	relabelled := stored.DeepCopy()
	relabelled.Labels = map[string]string{"team": "tools"}
	relabelled.Finalizers = nil
	if w, err := v.ValidateUpdate(context.Background(), stored, relabelled); err != nil || w != nil {
		t.Errorf("metadata-only update: warnings %q, error %v; want neither", w, err)
	}
	changed := relabelled.DeepCopy()
	changed.Spec.Args = []string{"--verbose"}
	if _, err := v.ValidateUpdate(context.Background(), stored, changed); !apierrors.IsInvalid(err) {
		t.Errorf("spec update: error %v, want Invalid", err)
	}
	if w, err := v.ValidateDelete(context.Background(), stored); err != nil || w != nil {
		t.Errorf("delete: warnings %q, error %v; want neither", w, err)
	}
}
