package v1beta1

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// cluster is the namespace "tools" with one object of each referenced kind.
func cluster(t testing.TB, funcs interceptor.Funcs) client.Reader {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), v1beta1.AddToScheme(scheme)); err != nil {
		t.Fatal(err)
	}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: "tools"} }
	return fake.NewClientBuilder().WithScheme(scheme).WithInterceptorFuncs(funcs).WithObjects(
		&corev1.Secret{ObjectMeta: meta("github-token"), Data: map[string][]byte{"token": []byte("t")}},
		&v1beta1.MCPOIDCConfig{ObjectMeta: meta("oidc")},
		&corev1.ConfigMap{ObjectMeta: meta("settings"), Data: map[string]string{"other.json": "{}"}},
		&corev1.ConfigMap{ObjectMeta: meta("authz"), BinaryData: map[string][]byte{"authz.json": []byte("{}")}},
		&v1beta1.MCPToolConfig{ObjectMeta: meta("filters")},
		&v1beta1.MCPTelemetryConfig{ObjectMeta: meta("telemetry")},
	).Build()
}

func TestReferenceWarnings(t *testing.T) {
	tests := []struct {
		name string
		spec func(*v1beta1.MCPServerSpec)
		want []string
	}{
		{"references that resolve say nothing", func(s *v1beta1.MCPServerSpec) {
			s.Secrets = []v1beta1.SecretRef{{Name: "github-token", Key: "token"}}
			s.OIDCConfigRef = &v1beta1.MCPOIDCConfigReference{Name: "oidc", Audience: "tools"}
			s.AuthzConfig = &v1beta1.AuthzConfigRef{Type: "configMap", ConfigMap: &v1beta1.ConfigMapAuthzRef{Name: "authz", Key: "authz.json"}}
			s.ToolConfigRef = &v1beta1.ToolConfigRef{Name: "filters"}
		}, nil},
		{"a missing Secret warns and the server waits", func(s *v1beta1.MCPServerSpec) {
			s.Secrets = []v1beta1.SecretRef{{Name: "github-token", Key: "token"}, {Name: "slack-token", Key: "token"}}
		}, []string{`spec.secrets[1]: Secret "slack-token" not found in namespace "tools"; the server will wait for it`}},
		{"a Secret without the key warns", func(s *v1beta1.MCPServerSpec) {
			s.Secrets = []v1beta1.SecretRef{{Name: "github-token", Key: "password"}}
		}, []string{`spec.secrets[0]: Secret "github-token" in namespace "tools" has no key "password"; the server will wait for it`}},
		{"the Redis password Secret is checked", func(s *v1beta1.MCPServerSpec) {
			s.Transport = v1beta1.TransportStreamableHTTP
			s.SessionStorage = &v1beta1.SessionStorage{Provider: v1beta1.SessionStorageRedis, Address: "redis:6379",
				PasswordRef: &v1beta1.SecretKeyRef{Name: "redis-password", Key: "password"}}
		}, []string{`spec.sessionStorage.passwordRef: Secret "redis-password" not found in namespace "tools"; the server will wait for it`}},
		{"a stdio server's Redis password is not waited for: its proxy reads no Redis", func(s *v1beta1.MCPServerSpec) {
			s.SessionStorage = &v1beta1.SessionStorage{Provider: v1beta1.SessionStorageRedis, Address: "redis:6379",
				PasswordRef: &v1beta1.SecretKeyRef{Name: "redis-password", Key: "password"}}
		}, nil},
		{"missing configs warn, in spec order", func(s *v1beta1.MCPServerSpec) {
			s.ToolConfigRef = &v1beta1.ToolConfigRef{Name: "renames"}
			s.OIDCConfigRef = &v1beta1.MCPOIDCConfigReference{Name: "oidc-prod", Audience: "tools"}
			s.AuthzConfigRef = &v1beta1.MCPAuthzConfigReference{Name: "cedar"}
		}, []string{
			`spec.oidcConfigRef: MCPOIDCConfig "oidc-prod" not found in namespace "tools"; the server will wait for it`,
			`spec.authzConfigRef: MCPAuthzConfig "cedar" not found in namespace "tools"; the server will wait for it`,
			`spec.toolConfigRef: MCPToolConfig "renames" not found in namespace "tools"; the server will wait for it`,
		}},
		{"a missing authzConfig ConfigMap warns", func(s *v1beta1.MCPServerSpec) {
			s.AuthzConfig = &v1beta1.AuthzConfigRef{Type: "configMap", ConfigMap: &v1beta1.ConfigMapAuthzRef{Name: "cedar"}}
		}, []string{`spec.authzConfig.configMap: ConfigMap "cedar" not found in namespace "tools"; the server will wait for it`}},
		{"a ConfigMap key the user names must be there", func(s *v1beta1.MCPServerSpec) {
			s.AuthzConfig = &v1beta1.AuthzConfigRef{Type: "configMap", ConfigMap: &v1beta1.ConfigMapAuthzRef{Name: "authz", Key: "authz.yaml"}}
		}, []string{`spec.authzConfig.configMap: ConfigMap "authz" in namespace "tools" has no key "authz.yaml"; the server will wait for it`}},
		{"a missing telemetry config warns that the server runs without it", func(s *v1beta1.MCPServerSpec) {
			s.TelemetryConfigRef = &v1beta1.MCPTelemetryConfigReference{Name: "otel"}
		}, []string{`spec.telemetryConfigRef: MCPTelemetryConfig "otel" not found in namespace "tools"; the server runs without exporting telemetry until it exists`}},
		{"an existing telemetry config says nothing", func(s *v1beta1.MCPServerSpec) {
			s.TelemetryConfigRef = &v1beta1.MCPTelemetryConfigReference{Name: "telemetry"}
		}, nil},
		{"a ConfigMap's default key is left to the controller", func(s *v1beta1.MCPServerSpec) {
			s.AuthzConfig = &v1beta1.AuthzConfigRef{Type: "configMap", ConfigMap: &v1beta1.ConfigMapAuthzRef{Name: "settings"}}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := referenceWarnings(context.Background(), cluster(t, interceptor.Funcs{}), server(tt.spec))
			if d := cmp.Diff(tt.want, []string(got)); d != "" {
				t.Errorf("warnings (-want +got):\n%s", d)
			}
		})
	}
}

func TestReferenceLookupFailureWarnsNotRejects(t *testing.T) {
	forbidden := interceptor.Funcs{Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
		return errors.New(`secrets "github-token" is forbidden`)
	}}
	s := server(func(s *v1beta1.MCPServerSpec) { s.Secrets = []v1beta1.SecretRef{{Name: "github-token", Key: "token"}} })
	got := referenceWarnings(context.Background(), cluster(t, forbidden), s)
	want := []string{`spec.secrets[0]: could not look up Secret "github-token" in namespace "tools" (secrets "github-token" is forbidden); ` +
		`if it is missing, the server will wait for it`}
	if d := cmp.Diff(want, []string(got)); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
}

// Two keys of one Secret cost one request, and the config kinds come from
// the cache: the API server is asked only for the Secret and for the
// config the cache has not seen yet.
func TestReferenceLookupsAreFew(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	api := cluster(t, interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		mu.Lock()
		asked = append(asked, fmt.Sprintf("%T %s", obj, key.Name))
		mu.Unlock()
		return c.Get(ctx, key, obj, opts...)
	}})
	scheme := runtime.NewScheme()
	if err := v1beta1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cache := fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(&v1beta1.MCPToolConfig{ObjectMeta: metav1.ObjectMeta{Name: "filters", Namespace: "tools"}}).Build()
	v := Validator{Reader: api, Configs: cache}
	s := server(func(s *v1beta1.MCPServerSpec) {
		s.Secrets = []v1beta1.SecretRef{{Name: "github-token", Key: "token"}, {Name: "github-token", Key: "token", TargetEnvName: "GH_TOKEN"}}
		s.ToolConfigRef = &v1beta1.ToolConfigRef{Name: "filters"}
		s.OIDCConfigRef = &v1beta1.MCPOIDCConfigReference{Name: "oidc", Audience: "tools"}
	})
	if w := referenceWarnings(context.Background(), v.references(), s); w != nil {
		t.Errorf("warnings %q, want none: every reference resolves", w)
	}
	slices.Sort(asked)
	if d := cmp.Diff([]string{"*v1.Secret github-token", "*v1beta1.MCPOIDCConfig oidc"}, asked); d != "" {
		t.Errorf("API server lookups (-want +got):\n%s", d)
	}
}
