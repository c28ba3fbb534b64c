package authn

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// podToken is the proxy pod's own ServiceAccount token, which the fake API
// server wants on every request.
const podToken = "pod-sa-token"

// apiServer is a fake API server: it serves the cluster's discovery
// document and keys to the pod's token only, and its documents name the
// in-cluster issuer host, which does not resolve here (as from a pod
// without cluster DNS).
func apiServer(t *testing.T, keys ...*testKey) (*testIssuer, *rest.Config) {
	t.Helper()
	srv := newIssuer(t, func(i *testIssuer) {
		i.issuer, i.keysHost, i.bearer = DefaultKubernetesIssuer, DefaultKubernetesIssuer, podToken
		i.publish(keys...)
	})
	return srv, &rest.Config{
		Host:            srv.srv.URL,
		BearerToken:     podToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: []byte(srv.caPEM())},
	}
}

// serviceAccountClaims are a projected ServiceAccount token's claims.
func serviceAccountClaims(ns, name string) map[string]any {
	return map[string]any{
		"iss": DefaultKubernetesIssuer,
		"aud": []string{testAudience},
		"sub": serviceAccountPrefix + ns + ":" + name,
		"exp": time.Now().Add(time.Hour).Unix(),
		"kubernetes.io": map[string]any{
			"namespace":      ns,
			"serviceaccount": map[string]any{"name": name, "uid": "0b2f"},
		},
	}
}

func TestServiceAccountsThroughTheAPIServer(t *testing.T) {
	k := newRSAKey(t, "sa-key")
	api, kube := apiServer(t, k)
	cfg := &proxyconfig.OIDC{
		Type:           proxyconfig.OIDCKubernetesServiceAccount,
		Audience:       testAudience,
		UseClusterAuth: true,
		Namespace:      "team-a",
		ServiceAccount: "agent",
	}
	a := newAuth(t, cfg, Options{KubeConfig: kube})
	withGroups := serviceAccountClaims("team-a", "agent")
	withGroups["groups"] = []string{"tenant-admins"}

	tests := []struct {
		name       string
		claims     map[string]any
		wantGroups []any
		wantErr    string
	}{
		{
			name:       "the allowed ServiceAccount passes with the groups the API server gives it",
			claims:     serviceAccountClaims("team-a", "agent"),
			wantGroups: []any{"system:serviceaccounts", "system:serviceaccounts:team-a"},
		},
		{
			name:       "a token that has groups keeps its own",
			claims:     withGroups,
			wantGroups: []any{"tenant-admins"},
		},
		{
			name:    "the same name in another namespace is refused",
			claims:  serviceAccountClaims("team-b", "agent"),
			wantErr: "ServiceAccount team-b/agent is not allowed; this server admits only ServiceAccount team-a/agent",
		},
		{
			name:    "another ServiceAccount in the namespace is refused",
			claims:  serviceAccountClaims("team-a", "intruder"),
			wantErr: "ServiceAccount team-a/intruder is not allowed",
		},
		{
			name: "a subject that is not a ServiceAccount is refused",
			claims: func() map[string]any {
				c := serviceAccountClaims("team-a", "agent")
				c["sub"] = "alice"
				return c
			}(),
			wantErr: "the token's subject is not a ServiceAccount",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.Authenticate(request("Bearer " + k.sign(t, tt.claims)))
			if tt.wantErr != "" {
				if id != nil {
					t.Fatalf("passed as %q", id.Subject)
				}
				if f := failure(t, err); f.Status != http.StatusUnauthorized || !strings.Contains(f.Description, tt.wantErr) {
					t.Errorf("got %d %q, want 401 saying %q", f.Status, f.Description, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantGroups, id.Claims["groups"]); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
		})
	}
	if d, j := api.discoveryHits.Load(), api.jwksHits.Load(); d != 1 || j != 1 {
		t.Errorf("the API server served discovery %d and keys %d times, want once each", d, j)
	}
}

func TestServiceAccountsNeedThePodsCredentials(t *testing.T) {
	k := newECKey(t, "k")
	api, kube := apiServer(t, k)
	kube.BearerToken = "someone-else"
	cfg := &proxyconfig.OIDC{Type: proxyconfig.OIDCKubernetesServiceAccount, Audience: testAudience, UseClusterAuth: true}
	a := newAuth(t, cfg, Options{KubeConfig: kube})
	_, err := a.Authenticate(request("Bearer " + k.sign(t, serviceAccountClaims("team-a", "agent"))))
	if f := failure(t, err); f.Status != http.StatusServiceUnavailable || !strings.Contains(f.Err.Error(), "403") {
		t.Errorf("the API server refusing our token: %v, want 503 over its 403", f)
	}
	if api.jwksHits.Load() != 0 {
		t.Error("the keys were fetched without the pod's token")
	}
}

func TestServiceAccountIssuerMismatch(t *testing.T) {
	k := newECKey(t, "k")
	_, kube := apiServer(t, k)
	cfg := &proxyconfig.OIDC{
		Type: proxyconfig.OIDCKubernetesServiceAccount, Issuer: "https://oidc.eks.example/id/ABC",
		Audience: testAudience, UseClusterAuth: true,
	}
	a := newAuth(t, cfg, Options{KubeConfig: kube})
	_, err := a.Authenticate(request("Bearer " + k.sign(t, serviceAccountClaims("team-a", "agent"))))
	want := `issues ServiceAccount tokens as "https://kubernetes.default.svc", not "https://oidc.eks.example/id/ABC"`
	if f := failure(t, err); f.Status != http.StatusServiceUnavailable || !strings.Contains(f.Err.Error(), want) {
		t.Errorf("got %v, want 503 saying %q", f, want)
	}
}

func TestServiceAccountRestriction(t *testing.T) {
	tests := []struct {
		name, namespace, serviceAccount, sub string
		wantErr                              string
	}{
		{name: "no restriction admits anyone", sub: "alice"},
		{name: "a namespace admits its ServiceAccounts", namespace: "team-a", sub: "system:serviceaccount:team-a:any"},
		{name: "a namespace refuses others'", namespace: "team-a", sub: "system:serviceaccount:team-b:any", wantErr: "ServiceAccount team-b/any is not allowed; this server admits only ServiceAccount team-a/*"},
		{name: "a name alone admits it in any namespace", serviceAccount: "agent", sub: "system:serviceaccount:team-z:agent"},
		{name: "a name alone refuses other names", serviceAccount: "agent", sub: "system:serviceaccount:team-z:other", wantErr: "admits only ServiceAccount */agent"},
		{name: "a subject without a name is refused", namespace: "team-a", sub: "system:serviceaccount:team-a", wantErr: "not a ServiceAccount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Authenticator{cfg: proxyconfig.OIDC{Namespace: tt.namespace, ServiceAccount: tt.serviceAccount}}
			got := a.serviceAccountProblem(tt.sub)
			if (tt.wantErr == "") != (got == "") || !strings.Contains(got, tt.wantErr) {
				t.Errorf("serviceAccountProblem(%q) = %q, want %q", tt.sub, got, tt.wantErr)
			}
		})
	}
}

func TestOnAPIServer(t *testing.T) {
	tests := []struct{ base, jwks, want string }{
		{"https://10.96.0.1:443", "https://kubernetes.default.svc/openid/v1/jwks", "https://10.96.0.1:443/openid/v1/jwks"},
		{"https://rancher.example/k8s/clusters/c-1/", "https://kubernetes.default.svc.cluster.local/openid/v1/jwks?v=2", "https://rancher.example/k8s/clusters/c-1/openid/v1/jwks?v=2"},
	}
	for _, tt := range tests {
		got, err := onAPIServer(tt.base, tt.jwks)
		if err != nil || got != tt.want {
			t.Errorf("onAPIServer(%q, %q) = %q, %v; want %q", tt.base, tt.jwks, got, err, tt.want)
		}
	}
	if got := apiServerURL("10.96.0.1:443"); got != "https://10.96.0.1:443" {
		t.Errorf("apiServerURL without a scheme = %q", got)
	}
}
