package authn

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzAuthenticate throws Authorization headers at an Authenticator with a
// live issuer (JWKS and introspection): it must never panic, never answer
// anything but a 401 (the issuer is up), never echo the token in its
// refusal (nor in the cause it logs), and pass only the two tokens the
// issuer really issued.
func FuzzAuthenticate(f *testing.F) {
	k := newECKey(f, "k")
	iss := newIssuer(f, func(i *testIssuer) { i.publish(k) })
	iss.answer("opaque-issued", map[string]any{"active": true, "sub": "bob"})
	cfg := iss.config()
	cfg.IntrospectionURL, cfg.ClientID = iss.srv.URL+introspectPath, testClientID
	a := newAuth(f, cfg, Options{ClientSecret: testClientSecret})

	now := time.Now()
	jwtIssued := k.sign(f, iss.claims(now, nil))
	issued := map[string]bool{jwtIssued: true, "opaque-issued": true}
	for _, seed := range []string{
		"Bearer " + jwtIssued,
		"bearer   " + jwtIssued,
		"Bearer " + jwtIssued + "x",
		"Bearer " + jwtIssued[:len(jwtIssued)-4],
		"Bearer " + strings.Replace(jwtIssued, ".", "..", 1),
		"Bearer " + k.sign(f, iss.claims(now, map[string]any{"aud": "other"})),
		"Bearer " + newECKey(f, "k").sign(f, iss.claims(now, nil)),
		"Bearer opaque-issued",
		"Bearer opaque-never",
		"Bearer a.b.c",
		"Bearer ..",
		"Bearer ===",
		"Bearer eyJhbGciOiJub25lIn0.e30.",
		"Basic Zm9vOmJhcg==",
		"Bearer",
		"",
		"Bearer \x00\xff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := request()
		r.Header.Set("Authorization", header)
		id, err := a.Authenticate(r)
		_, token, _ := strings.Cut(strings.TrimSpace(header), " ")
		token = strings.TrimLeft(token, " ")
		if err == nil {
			if !issued[token] {
				t.Fatalf("header %q authenticated as %q", header, id.Subject)
			}
			return
		}
		fail := failure(t, err)
		if fail.Status != http.StatusUnauthorized {
			t.Fatalf("header %q: status %d, want 401: %v", header, fail.Status, fail)
		}
		if len(token) >= 8 && strings.Contains(fail.Error(), token) {
			t.Fatalf("the refusal of %q echoes the token: %v", header, fail)
		}
	})
}
