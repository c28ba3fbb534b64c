package authn

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestAuthenticateJWT(t *testing.T) {
	ec, rs := newECKey(t, "ec1"), newRSAKey(t, "rs1")
	iss := newIssuer(t, func(i *testIssuer) { i.publish(ec, rs) })
	clock := newClock()
	a := newAuth(t, iss.config(), Options{Now: clock.Now})
	now := clock.Now()
	unpublished := newECKey(t, "ec1") // same kid, other key

	tests := []struct {
		name    string
		token   string
		wantErr string // "" for a token that passes
	}{
		{name: "a valid ES256 token passes", token: ec.sign(t, iss.claims(now, nil))},
		{name: "a valid RS256 token passes", token: rs.sign(t, iss.claims(now, nil))},
		{name: "an audience list that holds ours passes", token: ec.sign(t, iss.claims(now, map[string]any{"aud": []string{"other", testAudience}}))},
		{name: "a token valid in 30 s passes, as clocks drift", token: ec.sign(t, iss.claims(now, map[string]any{"nbf": now.Add(30 * time.Second).Unix()}))},
		{
			name:    "a token for another audience is refused",
			token:   ec.sign(t, iss.claims(now, map[string]any{"aud": "other-server"})),
			wantErr: `the token is not for audience "mcp-test"`,
		},
		{
			name:    "an expired token is refused",
			token:   ec.sign(t, iss.claims(now, map[string]any{"exp": now.Add(-time.Minute).Unix()})),
			wantErr: "the token expired at " + now.Add(-time.Minute).UTC().Format(time.RFC3339),
		},
		{
			name:    "a token not valid for two more minutes is refused",
			token:   ec.sign(t, iss.claims(now, map[string]any{"nbf": now.Add(2 * time.Minute).Unix()})),
			wantErr: "the token is not valid before",
		},
		{
			name:    "a token from another issuer is refused",
			token:   ec.sign(t, iss.claims(now, map[string]any{"iss": "https://evil.example"})),
			wantErr: `the token was issued by "https://evil.example", not by "` + iss.issuer + `"`,
		},
		{
			name:    "a token without an expiry is refused",
			token:   ec.sign(t, iss.claims(now, map[string]any{"exp": nil})),
			wantErr: "the token has no expiry (exp)",
		},
		{
			name:    "a token without a subject is refused",
			token:   ec.sign(t, iss.claims(now, map[string]any{"sub": nil})),
			wantErr: "the token has no subject (sub)",
		},
		{
			name:    "a token signed by a key the issuer never published is refused",
			token:   unpublished.sign(t, iss.claims(now, nil)),
			wantErr: "the token's signature does not verify with any of the issuer's keys",
		},
		{
			name:    "a token whose claims were changed after signing is refused",
			token:   swapPayload(t, ec.sign(t, iss.claims(now, nil)), iss.claims(now, map[string]any{"sub": "admin"})),
			wantErr: "the token's signature does not verify",
		},
		{
			name:    `a token with alg "none" is refused`,
			token:   unsigned(t, iss.claims(now, nil)),
			wantErr: "the token is not a JWT signed with one of RS256",
		},
		{
			name:    "a token signed with HMAC, the issuer's public key as the secret, is refused",
			token:   hmacWithPublicKey(t, rs, iss.claims(now, nil)),
			wantErr: "the token is not a JWT signed with one of RS256",
		},
		{
			name:    "three dot-separated parts of garbage are refused",
			token:   "aaa.bbb.ccc",
			wantErr: "the token is not a JWT signed with one of",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.Authenticate(request("Bearer " + tt.token))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if id.Subject != "alice" || id.Claims["iss"] != iss.issuer {
					t.Errorf("identity = %q with claims %v, want alice from %s", id.Subject, id.Claims, iss.issuer)
				}
				if want := now.Add(time.Hour).Truncate(time.Second); !id.Expiry.Equal(want) {
					t.Errorf("expiry = %v, want %v", id.Expiry, want)
				}
				return
			}
			if id != nil {
				t.Fatalf("Authenticate passed %q, want refusal %q", id.Subject, tt.wantErr)
			}
			f := failure(t, err)
			if f.Status != http.StatusUnauthorized || f.Code != ErrorInvalidToken {
				t.Errorf("status %d code %q, want 401 %q", f.Status, f.Code, ErrorInvalidToken)
			}
			if !strings.Contains(f.Description, tt.wantErr) {
				t.Errorf("description %q, want it to say %q", f.Description, tt.wantErr)
			}
			if strings.Contains(f.Description, tt.token) || strings.Contains(f.Error(), tt.token) {
				t.Errorf("the refusal echoes the token: %v", f)
			}
		})
	}
}

// swapPayload puts claims in place of token's payload, keeping its header
// and signature.
func swapPayload(t *testing.T, token string, claims map[string]any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	parts[1] = encodeSegment(t, claims)
	return strings.Join(parts, ".")
}

func unsigned(t *testing.T, claims map[string]any) string {
	t.Helper()
	return encodeSegment(t, map[string]any{"alg": "none", "typ": "JWT"}) + "." + encodeSegment(t, claims) + "."
}

// hmacWithPublicKey is the algorithm-confusion attack: an HS256 token whose
// secret is the issuer's public key (which verifiers that take the
// algorithm from the token would use as the HMAC key).
func hmacWithPublicKey(t *testing.T, k *testKey, claims map[string]any) string {
	t.Helper()
	pub, err := (&jose.JSONWebKey{Key: k.priv.Public()}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return signJWT(t, jose.SigningKey{Algorithm: jose.HS256, Key: pub}, k.kid, claims)
}

func encodeSegment(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestKeyRotation(t *testing.T) {
	old, next := newECKey(t, "2026-01"), newECKey(t, "2026-02")
	iss := newIssuer(t, func(i *testIssuer) { i.publish(old) })
	a := newAuth(t, iss.config(), Options{})
	if _, err := a.Authenticate(request("Bearer " + old.sign(t, iss.claims(time.Now(), nil)))); err != nil {
		t.Fatalf("token of the first key: %v", err)
	}

	token := next.sign(t, iss.claims(time.Now(), nil))
	if _, err := a.Authenticate(request("Bearer " + token)); err == nil {
		t.Fatal("a token of a key the issuer has not published yet passed")
	}
	iss.publish(next)
	eventually(t, "a token of the rotated-in key", func() error {
		_, err := a.Authenticate(request("Bearer " + token))
		return err
	})
}

// eventually retries f for up to 5 s. go-oidc hands the outcome of a key
// fetch that has just ended to the next request too, so a change at the
// issuer shows a moment later, not necessarily on the very next request.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestKeysUnreachable(t *testing.T) {
	k := newECKey(t, "k")
	iss := newIssuer(t, func(i *testIssuer) { i.publish(k) })
	iss.jwksStatus.Store(http.StatusBadGateway)
	a := newAuth(t, iss.config(), Options{})
	token := k.sign(t, iss.claims(time.Now(), nil))

	_, err := a.Authenticate(request("Bearer " + token))
	f := failure(t, err)
	if f.Status != http.StatusServiceUnavailable || f.RetryAfter != keysRetry || f.Code != "" {
		t.Errorf("with the keys unreachable: status %d, retry after %v, code %q; want 503 after %v, no code", f.Status, f.RetryAfter, f.Code, keysRetry)
	}
	iss.jwksStatus.Store(0)
	eventually(t, "once the keys are back", func() error {
		_, err := a.Authenticate(request("Bearer " + token))
		return err
	})
}

func TestNewDoesNoIO(t *testing.T) {
	k := newECKey(t, "k")
	iss := newIssuer(t, func(i *testIssuer) { i.publish(k) })
	a := newAuth(t, iss.config(), Options{})
	if d, j := iss.discoveryHits.Load(), iss.jwksHits.Load(); d != 0 || j != 0 {
		t.Fatalf("New asked the issuer %d+%d times, want none", d, j)
	}
	if _, err := a.Authenticate(request("Bearer " + k.sign(t, iss.claims(time.Now(), nil)))); err != nil {
		t.Fatal(err)
	}
	if d := iss.discoveryHits.Load(); d != 1 {
		t.Errorf("discovery ran %d times, want once", d)
	}
}

func TestIssuerDownAtStart(t *testing.T) {
	k := newECKey(t, "k")
	iss := newIssuer(t, func(i *testIssuer) { i.publish(k) })
	iss.discoveryStatus.Store(http.StatusServiceUnavailable)
	clock := newClock()
	a := newAuth(t, iss.config(), Options{Now: clock.Now})
	token := k.sign(t, iss.claims(clock.Now(), nil))

	_, err := a.Authenticate(request("Bearer " + token))
	if f := failure(t, err); f.Status != http.StatusServiceUnavailable || f.RetryAfter != minDiscoveryBackoff {
		t.Fatalf("issuer down: status %d retry after %v, want 503 after %v", f.Status, f.RetryAfter, minDiscoveryBackoff)
	}
	_, err = a.Authenticate(request("Bearer " + token))
	if f := failure(t, err); f.Status != http.StatusServiceUnavailable || iss.discoveryHits.Load() != 1 {
		t.Fatalf("within the backoff: status %d after %d discoveries, want 503 without asking again", f.Status, iss.discoveryHits.Load())
	}

	iss.discoveryStatus.Store(0)
	clock.advance(minDiscoveryBackoff)
	if _, err := a.Authenticate(request("Bearer " + token)); err != nil {
		t.Fatalf("once the issuer is back and the backoff over: %v", err)
	}
}

func TestConcurrentFirstRequestsShareOneDiscovery(t *testing.T) {
	k := newECKey(t, "k")
	iss := newIssuer(t, func(i *testIssuer) { i.publish(k) })
	a := newAuth(t, iss.config(), Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for n := range 16 {
		token := k.sign(t, iss.claims(time.Now(), map[string]any{"jti": fmt.Sprint(n)}))
		wg.Go(func() {
			_, err := a.Authenticate(request("Bearer " + token))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if d := iss.discoveryHits.Load(); d != 1 {
		t.Errorf("16 first requests ran discovery %d times, want once", d)
	}
}

func TestBearerToken(t *testing.T) {
	k := newECKey(t, "k")
	iss := newIssuer(t, func(i *testIssuer) { i.publish(k) })
	a := newAuth(t, iss.config(), Options{})
	token := k.sign(t, iss.claims(time.Now(), nil))

	tests := []struct {
		name     string
		header   []string
		wantCode string // "-" for a request that passes
		wantDesc string
	}{
		{name: "the scheme is case-insensitive", header: []string{"bearer " + token}, wantCode: "-"},
		{name: "no Authorization header is no token", header: nil, wantCode: "", wantDesc: "this server needs a bearer token"},
		{name: "another scheme is no bearer token", header: []string{"Basic dXNlcjpwYXNz"}, wantCode: "", wantDesc: "this server needs a bearer token"},
		{name: "Bearer without a token is refused", header: []string{"Bearer"}, wantCode: ErrorInvalidToken, wantDesc: "no token after Bearer"},
		{name: "two Authorization headers are refused", header: []string{"Bearer " + token, "Bearer " + token}, wantCode: ErrorInvalidToken, wantDesc: "more than one Authorization header"},
		{name: "a token with a space in it is refused", header: []string{"Bearer abc def"}, wantCode: ErrorInvalidToken, wantDesc: "characters a bearer token cannot have"},
		{name: "a huge token is refused", header: []string{"Bearer " + strings.Repeat("a", maxTokenLength+1)}, wantCode: ErrorInvalidToken, wantDesc: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.Authenticate(request(tt.header...))
			if tt.wantCode == "-" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if id != nil {
				t.Fatalf("passed as %q", id.Subject)
			}
			f := failure(t, err)
			if f.Status != http.StatusUnauthorized || f.Code != tt.wantCode || !strings.Contains(f.Description, tt.wantDesc) {
				t.Errorf("got %d %q %q, want 401 %q saying %q", f.Status, f.Code, f.Description, tt.wantCode, tt.wantDesc)
			}
		})
	}
}

func TestCachedTokens(t *testing.T) {
	k := newECKey(t, "k")
	iss := newIssuer(t, func(i *testIssuer) { i.publish(k) })
	clock := newClock()
	a := newAuth(t, iss.config(), Options{Now: clock.Now})
	token := k.sign(t, iss.claims(clock.Now(), map[string]any{"exp": clock.Now().Add(time.Minute).Unix()}))

	first, err := a.Authenticate(request("Bearer " + token))
	if err != nil {
		t.Fatal(err)
	}
	again, err := a.Authenticate(request("Bearer " + token))
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Error("the same token was checked again instead of coming from the cache")
	}
	other, err := a.Authenticate(request("Bearer " + k.sign(t, iss.claims(clock.Now(), map[string]any{"jti": "2"}))))
	if err != nil {
		t.Fatal(err)
	}
	if other == first {
		t.Error("another token got the first token's cached identity")
	}

	clock.advance(time.Minute + time.Second)
	_, err = a.Authenticate(request("Bearer " + token))
	if f := failure(t, err); !strings.Contains(f.Description, "expired") {
		t.Errorf("a cached token past its expiry: %v, want it refused as expired", f)
	}
}

func TestTokenCacheIsBounded(t *testing.T) {
	now := time.Now()
	c := newTokenCache(3)
	ids := make([]*Identity, 5)
	for n := range ids {
		ids[n] = &Identity{Subject: string(rune('a' + n))}
		c.put([32]byte{byte(n)}, ids[n], now.Add(time.Hour), now)
	}
	if c.len() != 3 {
		t.Fatalf("a cache of 3 holds %d entries", c.len())
	}
	for n, want := range []*Identity{nil, nil, ids[2], ids[3], ids[4]} {
		if got := c.get([32]byte{byte(n)}, now); got != want {
			t.Errorf("entry %d = %v, want %v (the oldest go first)", n, got, want)
		}
	}

	c = newTokenCache(3)
	c.put([32]byte{1}, ids[0], now.Add(time.Second), now)
	c.put([32]byte{2}, ids[1], now.Add(time.Hour), now)
	later := now.Add(time.Minute)
	c.put([32]byte{3}, ids[2], later.Add(time.Hour), later)
	if c.len() != 2 || c.get([32]byte{1}, later) != nil {
		t.Errorf("an expired entry outlived the next put: %d entries", c.len())
	}
	c.put([32]byte{4}, ids[3], now, now)
	if c.get([32]byte{4}, now) != nil {
		t.Error("an identity that expires now was cached")
	}
}

func BenchmarkAuthenticateCached(b *testing.B) {
	k := newECKey(b, "k")
	iss := newIssuer(b, func(i *testIssuer) { i.publish(k) })
	a := newAuth(b, iss.config(), Options{})
	r := request("Bearer " + k.sign(b, iss.claims(time.Now(), nil)))
	if _, err := a.Authenticate(r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}
