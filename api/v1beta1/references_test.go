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
			name: "the server runs without its telemetry config: nothing waits for it",
			spec: MCPServerSpec{TelemetryConfigRef: &MCPTelemetryConfigReference{Name: "otel", ServiceName: "osv"}},
			want: []Reference{{Path: "spec.telemetryConfigRef", Kind: "MCPTelemetryConfig", Name: "otel", Consumer: "proxy", RunsWithout: true}},
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

func TestConfigReferences(t *testing.T) {
	telemetry := &MCPTelemetryConfig{Spec: MCPTelemetryConfigSpec{OpenTelemetry: &MCPTelemetryOTelConfig{
		SensitiveHeaders: []SensitiveHeader{
			{Name: "Authorization", SecretKeyRef: SecretKeyRef{Name: "otel-auth", Key: "bearer"}},
			{Name: "X-API-Key", SecretKeyRef: SecretKeyRef{Name: "otel-auth", Key: "key"}},
		},
		CABundleRef: &CABundleSource{ConfigMapRef: &ConfigMapKeySelector{Name: "otel-ca"}},
	}}}
	wantTelemetry := []Reference{
		{Path: "spec.openTelemetry.sensitiveHeaders[0].secretKeyRef", Kind: "Secret", Name: "otel-auth", Key: "bearer", Consumer: "proxy"},
		{Path: "spec.openTelemetry.sensitiveHeaders[1].secretKeyRef", Kind: "Secret", Name: "otel-auth", Key: "key", Consumer: "proxy"},
		{Path: "spec.openTelemetry.caBundleRef.configMapRef", Kind: "ConfigMap", Name: "otel-ca", Key: "ca.crt", KeyDefaulted: true, Consumer: "proxy"},
	}
	if d := cmp.Diff(wantTelemetry, telemetry.References()); d != "" {
		t.Errorf("MCPTelemetryConfig References() (-want +got):\n%s", d)
	}
	if got := (&MCPTelemetryConfig{}).References(); got != nil {
		t.Errorf("a config without openTelemetry references %v, want nothing", got)
	}

	oidc := &MCPOIDCConfig{Spec: MCPOIDCConfigSpec{Type: OIDCTypeInline, Inline: &InlineOIDCSharedConfig{Issuer: "https://idp",
		ClientSecretRef: &SecretKeyRef{Name: "idp-client", Key: "secret"},
		CABundleRef:     &CABundleSource{ConfigMapRef: &ConfigMapKeySelector{Name: "idp-ca", Key: "root.pem"}}}}}
	wantOIDC := []Reference{
		{Path: "spec.inline.clientSecretRef", Kind: "Secret", Name: "idp-client", Key: "secret", Consumer: "proxy"},
		{Path: "spec.inline.caBundleRef.configMapRef", Kind: "ConfigMap", Name: "idp-ca", Key: "root.pem", Consumer: "proxy"},
	}
	if d := cmp.Diff(wantOIDC, oidc.References()); d != "" {
		t.Errorf("MCPOIDCConfig References() (-want +got):\n%s", d)
	}
}
