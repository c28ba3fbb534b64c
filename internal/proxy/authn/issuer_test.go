package authn

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// The test issuer's client, and the audience its tokens are for.
const (
	testAudience     = "mcp-test"
	testClientID     = "proxy"
	testClientSecret = "s3cret"
	jwksPath         = "/openid/v1/jwks"
	introspectPath   = "/introspect"
)

// testKey is a signing key and the name the issuer publishes it under.
type testKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func newECKey(t testing.TB, kid string) *testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{kid: kid, alg: jose.ES256, priv: priv}
}

func newRSAKey(t testing.TB, kid string) *testKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{kid: kid, alg: jose.RS256, priv: priv}
}

// sign is a JWT of claims signed by k.
func (k *testKey) sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	return signJWT(t, jose.SigningKey{Algorithm: k.alg, Key: k.priv}, k.kid, claims)
}

// signJWT is a JWT of claims signed with key, naming kid.
func signJWT(t testing.TB, key jose.SigningKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// testIssuer is an OIDC issuer on 127.0.0.1 over TLS: discovery, JWKS and
// introspection, each of which a test can break and count. Asked to, it
// plays the API server: it wants the pod's bearer token on every request
// and names a host it is not at.
type testIssuer struct {
	srv *httptest.Server
	// issuer is what discovery and tokens name; keysHost is the host the
	// discovery document puts the JWKS on. Both default to srv.URL.
	issuer, keysHost string
	// bearer, when set, is the token every request must carry.
	bearer string

	discoveryStatus, jwksStatus, introspectStatus atomic.Int32 // 0: 200
	discoveryHits, jwksHits, introspectHits       atomic.Int32

	mu        sync.Mutex
	published []*testKey
	opaque    map[string]map[string]any // introspection answers by token
}

func newIssuer(t testing.TB, setup func(*testIssuer)) *testIssuer {
	t.Helper()
	i := &testIssuer{opaque: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET "+jwksPath, i.jwks)
	mux.HandleFunc("POST "+introspectPath, i.introspect)
	i.srv = httptest.NewUnstartedServer(i.requireBearer(mux))
	i.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes of clients that distrust it
	i.srv.StartTLS()
	t.Cleanup(i.srv.Close)
	i.issuer, i.keysHost = i.srv.URL, i.srv.URL
	if setup != nil {
		setup(i)
	}
	return i
}

// caPEM is the issuer's certificate, for a CA bundle.
func (i *testIssuer) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: i.srv.Certificate().Raw}))
}

// config is an inline OIDC config for this issuer that trusts its CA and
// its loopback address.
func (i *testIssuer) config() *proxyconfig.OIDC {
	return &proxyconfig.OIDC{
		Type:               proxyconfig.OIDCInline,
		Issuer:             i.issuer,
		Audience:           testAudience,
		CABundle:           i.caPEM(),
		JWKSAllowPrivateIP: true,
	}
}

func (i *testIssuer) publish(keys ...*testKey) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.published = append(i.published, keys...)
}

func (i *testIssuer) answer(token string, claims map[string]any) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.opaque[token] = claims
}

// claims are a valid token's claims, changed by overrides (a nil value
// removes the claim).
func (i *testIssuer) claims(now time.Time, overrides map[string]any) map[string]any {
	c := map[string]any{
		"iss": i.issuer,
		"aud": testAudience,
		"sub": "alice",
		"exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(),
	}
	for k, v := range overrides {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func (i *testIssuer) requireBearer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i.bearer != "" && r.Header.Get("Authorization") != "Bearer "+i.bearer {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (i *testIssuer) discovery(w http.ResponseWriter, _ *http.Request) {
	i.discoveryHits.Add(1)
	if writeStatus(w, &i.discoveryStatus) {
		return
	}
	writeJSON(w, map[string]any{
		"issuer":                                i.issuer,
		"jwks_uri":                              i.keysHost + jwksPath,
		"authorization_endpoint":                i.issuer + "/authorize",
		"token_endpoint":                        i.issuer + "/token",
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256", "HS256"},
	})
}

func (i *testIssuer) jwks(w http.ResponseWriter, _ *http.Request) {
	i.jwksHits.Add(1)
	if writeStatus(w, &i.jwksStatus) {
		return
	}
	i.mu.Lock()
	set := jose.JSONWebKeySet{}
	for _, k := range i.published {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
	}
	i.mu.Unlock()
	writeJSON(w, set)
}

// introspect answers as RFC 7662 says, to the proxy's client only.
func (i *testIssuer) introspect(w http.ResponseWriter, r *http.Request) {
	i.introspectHits.Add(1)
	if writeStatus(w, &i.introspectStatus) {
		return
	}
	if id, secret, ok := r.BasicAuth(); !ok || id != testClientID || secret != testClientSecret {
		http.Error(w, "client authentication failed", http.StatusUnauthorized)
		return
	}
	i.mu.Lock()
	answer, ok := i.opaque[r.PostFormValue("token")]
	i.mu.Unlock()
	if !ok {
		answer = map[string]any{"active": false}
	}
	writeJSON(w, answer)
}

func writeStatus(w http.ResponseWriter, status *atomic.Int32) bool {
	if s := int(status.Load()); s != 0 {
		http.Error(w, "broken on purpose", s)
		return true
	}
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// testClock is a clock a test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *testClock { return &testClock{now: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newAuth is an Authenticator for cfg, closed when the test ends.
func newAuth(t testing.TB, cfg *proxyconfig.OIDC, o Options) *Authenticator {
	t.Helper()
	a, err := New(context.Background(), cfg, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// request is a request to the proxy's /mcp with the given Authorization
// header values.
func request(authorization ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "http://proxy.example/mcp", nil)
	for _, v := range authorization {
		r.Header.Add("Authorization", v)
	}
	return r
}

// failure is err as a *Failure, failing the test if it is not one.
func failure(t testing.TB, err error) *Failure {
	t.Helper()
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("error %v (%T) is not a *Failure", err, err)
	}
	return f
}
