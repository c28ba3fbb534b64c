package authn

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
	"github.com/switchboard-mcp/switchboard/test/oidcprovider"
)

// TestRealProviderTokens checks tokens a real OpenID provider issued (the
// zitadel-based test provider), not tokens minted by this package's tests:
// an RS256 JWT through discovery and JWKS, and an opaque token through
// introspection.
func TestRealProviderTokens(t *testing.T) {
	p, err := oidcprovider.Start(t.Context(), oidcprovider.Options{Clients: []oidcprovider.Client{
		{ID: "proxy", Secret: "proxy-secret"},
		{ID: "jwt-agent", Secret: "a", Audience: testAudience, Groups: []string{"eng"}},
		{ID: "opaque-agent", Secret: "b", Audience: testAudience, Groups: []string{"ops"}, TokenType: oidcprovider.Opaque},
		{ID: "other-service", Secret: "c", Audience: "other"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	a := newAuth(t, &proxyconfig.OIDC{
		Type:               proxyconfig.OIDCInline,
		Issuer:             p.Issuer(),
		Audience:           testAudience,
		IntrospectionURL:   p.Issuer() + "/oauth/introspect",
		ClientID:           "proxy",
		InsecureAllowHTTP:  true,
		JWKSAllowPrivateIP: true,
	}, Options{ClientSecret: "proxy-secret"})

	for _, tt := range []struct {
		client, wantGroup string
	}{{"jwt-agent", "eng"}, {"opaque-agent", "ops"}} {
		token, err := p.Token(t.Context(), tt.client)
		if err != nil {
			t.Fatal(err)
		}
		id, err := a.Authenticate(request("Bearer " + token))
		if err != nil {
			t.Fatalf("%s's token: %v", tt.client, err)
		}
		if diff := cmp.Diff([]any{tt.wantGroup}, id.Claims["groups"]); id.Subject != tt.client || diff != "" {
			t.Errorf("%s's token authenticated %q, groups (-want +got):\n%s", tt.client, id.Subject, diff)
		}
	}

	token, err := p.Token(t.Context(), "other-service")
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(request("Bearer " + token))
	if f := failure(t, err); f.Status != http.StatusUnauthorized || !strings.Contains(f.Description, "not for audience") {
		t.Errorf("a token for another service: %v, want 401 over its audience", f)
	}
}
