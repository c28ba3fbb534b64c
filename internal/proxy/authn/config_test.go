package authn

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*proxyconfig.OIDC)
		opts    Options
		wantErr string
	}{
		{
			name:    "an http issuer without insecureAllowHTTP",
			change:  func(c *proxyconfig.OIDC) { c.Issuer = "http://idp.example" },
			wantErr: `OIDC issuer: "http://idp.example" is plain http: tokens and keys must not travel in clear text; use https, or set insecureAllowHTTP`,
		},
		{
			name:    "an http JWKS URL without insecureAllowHTTP",
			change:  func(c *proxyconfig.OIDC) { c.JWKSURL = "http://idp.example/keys" },
			wantErr: `OIDC jwksUrl: "http://idp.example/keys" is plain http`,
		},
		{
			name: "an http introspection URL without insecureAllowHTTP",
			change: func(c *proxyconfig.OIDC) {
				c.IntrospectionURL, c.ClientID = "http://idp.example/introspect", "proxy"
			},
			wantErr: `OIDC introspectionUrl: "http://idp.example/introspect" is plain http`,
		},
		{
			name:    "an issuer that is not a URL",
			change:  func(c *proxyconfig.OIDC) { c.Issuer = "idp.example" },
			wantErr: "is not an absolute URL",
		},
		{
			name:    "an empty audience",
			change:  func(c *proxyconfig.OIDC) { c.Audience = "" },
			wantErr: "OIDC audience is empty",
		},
		{
			name:    "an unknown type",
			change:  func(c *proxyconfig.OIDC) { c.Type = "github" },
			wantErr: `OIDC type "github" is neither`,
		},
		{
			name:    "cluster auth for an inline issuer",
			change:  func(c *proxyconfig.OIDC) { c.UseClusterAuth = true },
			wantErr: "useClusterAuth is for type kubernetesServiceAccount only",
		},
		{
			name: "cluster auth without a Kubernetes client configuration",
			change: func(c *proxyconfig.OIDC) {
				c.Type, c.Issuer, c.UseClusterAuth = proxyconfig.OIDCKubernetesServiceAccount, "", true
			},
			wantErr: "useClusterAuth needs the pod's Kubernetes client configuration",
		},
		{
			name:    "introspection without a client id",
			change:  func(c *proxyconfig.OIDC) { c.IntrospectionURL = "https://idp.example/introspect" },
			wantErr: "introspectionUrl is set but clientId is not",
		},
		{
			name:    "a CA bundle with no certificate in it",
			change:  func(c *proxyconfig.OIDC) { c.CABundle = "not PEM" },
			wantErr: "caBundle holds no PEM certificate",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := offlineConfig()
			tt.change(cfg)
			a, err := New(context.Background(), cfg, tt.opts)
			if err == nil {
				a.Close()
				t.Fatalf("New accepted it, want %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New: %v, want %q", err, tt.wantErr)
			}
		})
	}
	if _, err := New(context.Background(), nil, Options{}); err == nil {
		t.Error("New accepted no configuration")
	}
}

func TestPlainHTTPIssuerWhenAllowed(t *testing.T) {
	k := newECKey(t, "k")
	iss := newIssuer(t, func(i *testIssuer) { i.publish(k) })
	plain := httptest.NewServer(iss.srv.Config.Handler)
	t.Cleanup(plain.Close)
	iss.issuer, iss.keysHost = plain.URL, plain.URL
	cfg := iss.config()
	cfg.CABundle, cfg.InsecureAllowHTTP = "", true

	a := newAuth(t, cfg, Options{})
	if _, err := a.Authenticate(request("Bearer " + k.sign(t, iss.claims(time.Now(), nil)))); err != nil {
		t.Fatalf("with insecureAllowHTTP, an http issuer: %v", err)
	}
}

func TestDiscoveredKeysOverPlainHTTPAreRefused(t *testing.T) {
	k := newECKey(t, "k")
	iss := newIssuer(t, func(i *testIssuer) { i.publish(k) })
	iss.keysHost = "http://" + strings.TrimPrefix(iss.srv.URL, "https://")
	a := newAuth(t, iss.config(), Options{})
	_, err := a.Authenticate(request("Bearer " + k.sign(t, iss.claims(time.Now(), nil))))
	if f := failure(t, err); f.Status != http.StatusServiceUnavailable || !strings.Contains(f.Err.Error(), "jwks_uri of the discovery document") {
		t.Errorf("an https issuer naming http keys: %v, want 503 over the jwks_uri", f)
	}
}

func TestIssuerOnAPrivateAddressNeedsJWKSAllowPrivateIP(t *testing.T) {
	k := newECKey(t, "k")
	iss := newIssuer(t, func(i *testIssuer) { i.publish(k) })
	cfg := iss.config()
	cfg.JWKSAllowPrivateIP = false
	a := newAuth(t, cfg, Options{})
	_, err := a.Authenticate(request("Bearer " + k.sign(t, iss.claims(time.Now(), nil))))
	f := failure(t, err)
	if f.Status != http.StatusServiceUnavailable || !strings.Contains(f.Err.Error(), "set jwksAllowPrivateIP") {
		t.Errorf("an issuer on 127.0.0.1: %v, want 503 saying to set jwksAllowPrivateIP", f)
	}
	if n := iss.discoveryHits.Load(); n != 0 {
		t.Errorf("the issuer on a private address was reached %d times", n)
	}
}

func TestIssuerCertificateNeedsTheCABundle(t *testing.T) {
	k := newECKey(t, "k")
	iss := newIssuer(t, func(i *testIssuer) { i.publish(k) })
	cfg := iss.config()
	cfg.CABundle = ""
	a := newAuth(t, cfg, Options{})
	_, err := a.Authenticate(request("Bearer " + k.sign(t, iss.claims(time.Now(), nil))))
	if f := failure(t, err); f.Status != http.StatusServiceUnavailable || !strings.Contains(f.Err.Error(), "certificate") {
		t.Errorf("an issuer whose CA is not trusted: %v, want 503 over its certificate", f)
	}
}

func TestJWKSURLSkipsDiscovery(t *testing.T) {
	k := newECKey(t, "k")
	iss := newIssuer(t, func(i *testIssuer) { i.publish(k) })
	iss.discoveryStatus.Store(http.StatusNotFound)
	cfg := iss.config()
	cfg.JWKSURL = iss.srv.URL + jwksPath
	a := newAuth(t, cfg, Options{})
	if _, err := a.Authenticate(request("Bearer " + k.sign(t, iss.claims(time.Now(), nil)))); err != nil {
		t.Fatalf("with jwksUrl set and no discovery: %v", err)
	}
	if n := iss.discoveryHits.Load(); n != 0 {
		t.Errorf("discovery was asked %d times with jwksUrl set", n)
	}
}

func TestCloseStopsADiscoveryInFlight(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) })
	cfg := offlineConfig()
	cfg.Issuer, cfg.InsecureAllowHTTP, cfg.JWKSAllowPrivateIP = srv.URL, true, true
	a, err := New(context.Background(), cfg, Options{Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r := request("Bearer a.b.c").WithContext(ctx)
	if _, err := a.Authenticate(r); failure(t, err).Status != http.StatusServiceUnavailable {
		t.Fatalf("a request that ends while discovery hangs: %v, want 503", err)
	}
	a.Close()
	// goleak (TestMain) fails the package if the discovery outlives Close.
}
