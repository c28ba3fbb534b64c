package authn

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func introspectingIssuer(t *testing.T, now time.Time) (*testIssuer, *Authenticator, *testClock) {
	t.Helper()
	iss := newIssuer(t, nil)
	cfg := iss.config()
	cfg.IntrospectionURL = iss.srv.URL + introspectPath
	cfg.ClientID = testClientID
	clock := &testClock{now: now}
	a := newAuth(t, cfg, Options{ClientSecret: testClientSecret, Now: clock.Now})
	return iss, a, clock
}

func TestOpaqueTokens(t *testing.T) {
	now := time.Now()
	iss, a, _ := introspectingIssuer(t, now)
	active := func(overrides map[string]any) map[string]any {
		c := iss.claims(now, overrides)
		c["active"] = true
		c["scope"] = "tools:read"
		return c
	}
	iss.answer("good", active(map[string]any{"sub": "bob"}))
	iss.answer("bare", map[string]any{"active": true, "sub": "carol"})
	iss.answer("revoked", map[string]any{"active": false, "sub": "bob"})
	iss.answer("elsewhere", active(map[string]any{"aud": []string{"other-server"}}))
	iss.answer("expired", active(map[string]any{"exp": now.Add(-time.Second).Unix()}))
	iss.answer("foreign", active(map[string]any{"iss": "https://evil.example"}))

	tests := []struct {
		name, token string
		wantSub     string
		wantErr     string
	}{
		{name: "an active token passes with the issuer's answer as claims", token: "good", wantSub: "bob"},
		{name: "an active token with nothing but a subject passes", token: "bare", wantSub: "carol"},
		{name: "an inactive token is refused", token: "revoked", wantErr: "the issuer says the token is not active"},
		{name: "a token the issuer does not know is refused", token: "never-issued", wantErr: "the issuer says the token is not active"},
		{name: "an active token for another audience is refused", token: "elsewhere", wantErr: `the token is not for audience "mcp-test"`},
		{name: "an active token past its exp is refused", token: "expired", wantErr: "the token expired at"},
		{name: "an active token naming another issuer is refused", token: "foreign", wantErr: "the token was issued by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.Authenticate(request("Bearer " + tt.token))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if id.Subject != tt.wantSub || id.Claims["active"] != true {
					t.Errorf("identity %q with claims %v, want %q with the issuer's answer", id.Subject, id.Claims, tt.wantSub)
				}
				return
			}
			if id != nil {
				t.Fatalf("passed as %q, want refusal %q", id.Subject, tt.wantErr)
			}
			if f := failure(t, err); f.Status != http.StatusUnauthorized || f.Code != ErrorInvalidToken || !strings.Contains(f.Description, tt.wantErr) {
				t.Errorf("got %d %q %q, want 401 invalid_token saying %q", f.Status, f.Code, f.Description, tt.wantErr)
			}
		})
	}
}

func TestIntrospectionAnswersAreCachedFiveMinutesAtMost(t *testing.T) {
	now := time.Now()
	iss, a, clock := introspectingIssuer(t, now)
	iss.answer("opaque", map[string]any{"active": true, "sub": "bob", "exp": now.Add(time.Hour).Unix()})

	for range 3 {
		if _, err := a.Authenticate(request("Bearer opaque")); err != nil {
			t.Fatal(err)
		}
	}
	if n := iss.introspectHits.Load(); n != 1 {
		t.Fatalf("three requests with one token asked the issuer %d times, want once", n)
	}
	clock.advance(maxIntrospectionCache)
	if _, err := a.Authenticate(request("Bearer opaque")); err != nil {
		t.Fatal(err)
	}
	if n := iss.introspectHits.Load(); n != 2 {
		t.Errorf("after %v the issuer was asked %d times in all, want twice", maxIntrospectionCache, n)
	}
}

func TestIntrospectionUnreachable(t *testing.T) {
	iss, a, _ := introspectingIssuer(t, time.Now())
	iss.introspectStatus.Store(http.StatusInternalServerError)
	_, err := a.Authenticate(request("Bearer opaque"))
	if f := failure(t, err); f.Status != http.StatusServiceUnavailable || f.RetryAfter == 0 {
		t.Errorf("introspection failing: %d after %v, want 503 with a Retry-After", f.Status, f.RetryAfter)
	}
}

func TestIntrospectionWithTheWrongSecret(t *testing.T) {
	iss := newIssuer(t, nil)
	iss.answer("opaque", map[string]any{"active": true, "sub": "bob"})
	cfg := iss.config()
	cfg.IntrospectionURL = iss.srv.URL + introspectPath
	cfg.ClientID = testClientID
	a := newAuth(t, cfg, Options{ClientSecret: "wrong"})
	_, err := a.Authenticate(request("Bearer opaque"))
	if f := failure(t, err); f.Status != http.StatusServiceUnavailable || !strings.Contains(f.Err.Error(), "401") {
		t.Errorf("the issuer refusing our client: %v, want a 503 whose cause is the issuer's 401", f)
	}
}

func TestOpaqueTokenWithoutIntrospection(t *testing.T) {
	iss := newIssuer(t, nil)
	a := newAuth(t, iss.config(), Options{})
	_, err := a.Authenticate(request("Bearer opaque-token"))
	f := failure(t, err)
	if f.Status != http.StatusUnauthorized || !strings.Contains(f.Description, "no introspection endpoint") {
		t.Errorf("got %v, want 401 saying there is no introspection endpoint", f)
	}
	if n := iss.introspectHits.Load() + iss.discoveryHits.Load(); n != 0 {
		t.Errorf("an opaque token without introspection asked the issuer %d times", n)
	}
}

func TestIntrospectionIsNotHeldToJWKSAllowPrivateIP(t *testing.T) {
	iss := newIssuer(t, nil)
	iss.answer("opaque", map[string]any{"active": true, "sub": "bob"})
	cfg := iss.config()
	cfg.IntrospectionURL, cfg.ClientID, cfg.JWKSAllowPrivateIP = iss.srv.URL+introspectPath, testClientID, false
	a := newAuth(t, cfg, Options{ClientSecret: testClientSecret})
	if _, err := a.Authenticate(request("Bearer opaque")); err != nil {
		t.Errorf("introspection on a private address, jwksAllowPrivateIP unset: %v", err)
	}
}
