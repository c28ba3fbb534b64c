package v1beta1

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReferences(t *testing.T) {
	redis := func(password *SecretKeyRef) *SessionStorage {
		return &SessionStorage{Provider: SessionStorageRedis, Address: "redis:6379", PasswordRef: password}
	}
	tests := []struct {
		name string
		spec MCPServerSpec
		want []Reference
	}{
		{name: "a server that names nothing references nothing", spec: MCPServerSpec{Image: "i"}},
		{
			name: "secrets are read by the MCP server container, one reference per entry",
			spec: MCPServerSpec{Secrets: []SecretRef{{Name: "github", Key: "token", TargetEnvName: "GITHUB_TOKEN"}, {Name: "github", Key: "user"}}},
			want: []Reference{
				{Path: "spec.secrets[0]", Kind: "Secret", Name: "github", Key: "token", Consumer: "backend"},
				{Path: "spec.secrets[1]", Kind: "Secret", Name: "github", Key: "user", Consumer: "backend"},
			},
		},
		{
			name: "the Redis password is read by the proxy",
			spec: MCPServerSpec{Transport: TransportStreamableHTTP, SessionStorage: redis(&SecretKeyRef{Name: "redis", Key: "password"})},
			want: []Reference{{Path: "spec.sessionStorage.passwordRef", Kind: "Secret", Name: "redis", Key: "password", Consumer: "proxy"}},
		},
		{
			name: "a stdio proxy reads no Redis password: it keeps no routing table",
			spec: MCPServerSpec{Transport: TransportStdio, SessionStorage: redis(&SecretKeyRef{Name: "redis", Key: "password"})},
		},
		{
			name: "a Redis password is not needed while the provider is memory",
			spec: MCPServerSpec{SessionStorage: &SessionStorage{Provider: SessionStorageMemory, PasswordRef: &SecretKeyRef{Name: "redis", Key: "password"}}},
		},
		{
			name: "Redis without a password references nothing",
			spec: MCPServerSpec{SessionStorage: redis(nil)},
		},
		{
			name: "an authzConfig ConfigMap without a key is read at authz.json",
			spec: MCPServerSpec{AuthzConfig: &AuthzConfigRef{Type: "configMap", ConfigMap: &ConfigMapAuthzRef{Name: "cedar"}}},
			want: []Reference{
				{Path: "spec.authzConfig.configMap", Kind: "ConfigMap", Name: "cedar", Key: "authz.json", KeyDefaulted: true, Consumer: "proxy"},
			},
		},
		{
			name: "a ConfigMap key the user names is kept",
			spec: MCPServerSpec{AuthzConfig: &AuthzConfigRef{Type: "configMap", ConfigMap: &ConfigMapAuthzRef{Name: "cedar", Key: "prod.json"}}},
			want: []Reference{{Path: "spec.authzConfig.configMap", Kind: "ConfigMap", Name: "cedar", Key: "prod.json", Consumer: "proxy"}},
		},
		{
			name: "inline authorization policies reference nothing",
			spec: MCPServerSpec{AuthzConfig: &AuthzConfigRef{Type: "inline", Inline: &InlineAuthzConfig{Policies: []string{"permit(principal, action, resource);"}}}},
		},
		{
			name: "every kind at once comes in spec order",
			spec: MCPServerSpec{
				ToolConfigRef:  &ToolConfigRef{Name: "filters"},
				AuthzConfigRef: &MCPAuthzConfigReference{Name: "cedar"},
				OIDCConfigRef:  &MCPOIDCConfigReference{Name: "oidc", Audience: "a"},
				Transport:      TransportStreamableHTTP,
				SessionStorage: redis(&SecretKeyRef{Name: "redis", Key: "password"}),
				Secrets:        []SecretRef{{Name: "github", Key: "token"}},
			},
			want: []Reference{
				{Path: "spec.secrets[0]", Kind: "Secret", Name: "github", Key: "token", Consumer: "backend"},
				{Path: "spec.sessionStorage.passwordRef", Kind: "Secret", Name: "redis", Key: "password", Consumer: "proxy"},
				{Path: "spec.oidcConfigRef", Kind: "MCPOIDCConfig", Name: "oidc", Consumer: "proxy"},
				{Path: "spec.authzConfigRef", Kind: "MCPAuthzConfig", Name: "cedar", Consumer: "proxy"},
				{Path: "spec.toolConfigRef", Kind: "MCPToolConfig", Name: "filters", Consumer: "proxy"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &MCPServer{Spec: tt.spec}
			if d := cmp.Diff(tt.want, m.References()); d != "" {
				t.Errorf("References() (-want +got):\n%s", d)
			}
		})
	}
}
