package oidcprovider_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-mcp/switchboard/test/oidcprovider"
)

const audience = "switchboard"

// start runs a provider with a JWT client (alice), an opaque one (bob), a
// short-lived one (brief) and the resource server that introspects.
func start(t *testing.T) *oidcprovider.Provider {
	t.Helper()
	p, err := oidcprovider.Start(t.Context(), oidcprovider.Options{Clients: []oidcprovider.Client{
		{ID: "alice", Secret: "alice-secret", Groups: []string{"eng", "ops"}, Audience: audience},
		{ID: "bob", Secret: "bob secret&=", Groups: []string{"eng"}, Audience: audience, TokenType: oidcprovider.Opaque},
		{ID: "brief", Secret: "brief-secret", Audience: audience, TokenType: oidcprovider.Opaque, Lifetime: time.Second},
		{ID: "proxy", Secret: "proxy-secret"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

func token(t *testing.T, p *oidcprovider.Provider, client string) string {
	t.Helper()
	tok, err := p.Token(t.Context(), client)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestDiscoveryNamesTheEndpointsUnderTheIssuer(t *testing.T) {
	p := start(t)
	type discovery struct {
		Issuer                string   `json:"issuer"`
		TokenEndpoint         string   `json:"token_endpoint"`
		IntrospectionEndpoint string   `json:"introspection_endpoint"`
		JWKSURI               string   `json:"jwks_uri"`
		GrantTypes            []string `json:"grant_types_supported"`
	}
	var got discovery
	getJSON(t, p.Issuer()+"/.well-known/openid-configuration", &got)
	if !slices.Contains(got.GrantTypes, "client_credentials") {
		t.Errorf("grant_types_supported %v lacks client_credentials", got.GrantTypes)
	}
	got.GrantTypes = nil
	want := discovery{
		Issuer:                p.Issuer(),
		TokenEndpoint:         p.Issuer() + "/oauth/token",
		IntrospectionEndpoint: p.Issuer() + "/oauth/introspect",
		JWKSURI:               p.Issuer() + "/keys",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discovery (-want +got):\n%s", diff)
	}
	var jwks struct {
		Keys []struct {
			Kty, Alg, Use, Kid string
		} `json:"keys"`
	}
	getJSON(t, got.JWKSURI, &jwks)
	if len(jwks.Keys) != 1 || jwks.Keys[0].Kty != "RSA" || jwks.Keys[0].Alg != "RS256" || jwks.Keys[0].Kid == "" {
		t.Errorf("JWKS = %+v, want one RS256 RSA key with a kid", jwks.Keys)
	}
}

func TestJWTAccessTokenVerifiesWithGoOIDC(t *testing.T) {
	p := start(t)
	ctx := t.Context()
	provider, err := gooidc.NewProvider(ctx, p.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	raw := token(t, p, "alice")

	idt, err := provider.Verifier(&gooidc.Config{ClientID: audience}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var claims struct {
		Sub    string   `json:"sub"`
		Groups []string `json:"groups"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	want := struct {
		Sub    string   `json:"sub"`
		Groups []string `json:"groups"`
	}{Sub: "alice", Groups: []string{"eng", "ops"}}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}

	if _, err := provider.Verifier(&gooidc.Config{ClientID: "someone-else"}).Verify(ctx, raw); err == nil {
		t.Error("a verifier for another audience accepted the token")
	}
}

// introspection is the part of an RFC 7662 answer the tests look at.
type introspection struct {
	Active   bool     `json:"active"`
	Sub      string   `json:"sub,omitempty"`
	ClientID string   `json:"client_id,omitempty"`
	Aud      []string `json:"aud,omitempty"`
	Groups   []string `json:"groups,omitempty"`
}

// introspect asks as the resource server "proxy" would, with basic auth.
func introspect(t *testing.T, p *oidcprovider.Provider, tok string) introspection {
	t.Helper()
	resp := postForm(t, p.Issuer()+"/oauth/introspect", "proxy", "proxy-secret", url.Values{"token": {tok}})
	var got introspection
	decode(t, resp, &got)
	return got
}

func TestIntrospection(t *testing.T) {
	p := start(t)
	opaque := token(t, p, "bob")
	if strings.Count(opaque, ".") == 2 {
		t.Fatalf("bob's token %q looks like a JWT, want opaque", opaque)
	}
	tests := []struct {
		name  string
		token string
		want  introspection
	}{{
		name:  "an opaque token is active and names its subject, audience and groups",
		token: opaque,
		want:  introspection{Active: true, Sub: "bob", ClientID: "bob", Aud: []string{audience}, Groups: []string{"eng"}},
	}, {
		name:  "a JWT is active too",
		token: token(t, p, "alice"),
		want:  introspection{Active: true, Sub: "alice", ClientID: "alice", Aud: []string{audience}, Groups: []string{"eng", "ops"}},
	}, {
		name:  "garbage is inactive",
		token: "not-a-token",
		want:  introspection{},
	}, {
		name:  "an opaque token altered by one character is inactive",
		token: opaque[:len(opaque)-1] + string(opaque[len(opaque)-1]^1),
		want:  introspection{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, introspect(t, p, tt.token)); diff != "" {
				t.Errorf("introspection (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIntrospectionRefusesAnUnauthenticatedCaller(t *testing.T) {
	p := start(t)
	resp := postForm(t, p.Issuer()+"/oauth/introspect", "proxy", "wrong", url.Values{"token": {token(t, p, "bob")}})
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %s, want 401", resp.Status)
	}
}

func TestShortLivedTokenExpires(t *testing.T) {
	p := start(t)
	tok := token(t, p, "brief")
	if got := introspect(t, p, tok); !got.Active {
		t.Fatalf("fresh token inactive: %+v", got)
	}
	time.Sleep(1100 * time.Millisecond)
	if got := introspect(t, p, tok); got.Active {
		t.Errorf("token active after its 1s lifetime: %+v", got)
	}
}

func TestRevokedTokenIsInactive(t *testing.T) {
	p := start(t)
	tok := token(t, p, "bob")
	resp := postForm(t, p.Issuer()+"/revoke", "bob", "bob secret&=", url.Values{"token": {tok}})
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %s", resp.Status)
	}
	if got := introspect(t, p, tok); got.Active {
		t.Errorf("revoked token active: %+v", got)
	}
}

func TestTokenForAnUnknownClientFails(t *testing.T) {
	p := start(t)
	if tok, err := p.Token(t.Context(), "mallory"); err == nil {
		t.Errorf("got token %q for an unconfigured client", tok)
	}
}

func TestCloseWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	p, err := oidcprovider.Start(ctx, oidcprovider.Options{Clients: []oidcprovider.Client{{ID: "a", Secret: "s"}}})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Token(t.Context(), "a"); err == nil {
		t.Error("the provider still serves after its context ended")
	}
}

func postForm(t *testing.T, endpoint, user, password string, form url.Values) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(password))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func getJSON(t *testing.T, endpoint string, v any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, resp, v)
}

func decode(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s", resp.Request.Method, resp.Request.URL, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", resp.Request.URL, err)
	}
}
