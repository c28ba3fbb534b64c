package authn

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// signingAlgs are the algorithms a token may be signed with: asymmetric
// ones only. "none" has no signature, and an HMAC token would be checked
// with the issuer's public key as the shared secret, which anyone can read.
var signingAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512,
	oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.EdDSA,
}

// Discovery backoff: an issuer that is down is asked again after 1 s, then
// 2 s, ... up to a minute, not on every request.
const (
	minDiscoveryBackoff = time.Second
	maxDiscoveryBackoff = time.Minute
)

// issuerSite is where the issuer's documents are fetched from, and how.
type issuerSite struct {
	base   string // discovery is at base + "/.well-known/openid-configuration"
	client *http.Client
	// viaAPIServer: base is the API server, not the issuer; the keys are
	// fetched from it too, whatever host the discovery document names.
	viaAPIServer bool
}

// keySource is the token verifier, built on first use because it needs the
// discovery document, and New must not wait on the network. One discovery
// runs at a time, with no lock held while it does; requests that need it
// wait for it (or for their own end). A failed discovery is remembered
// until its backoff ends, so that a down issuer costs a 503, not a request
// to the issuer per client request.
type keySource struct {
	ctx  context.Context // the Authenticator's lifetime
	cfg  *proxyconfig.OIDC
	site issuerSite
	now  func() time.Time

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	pending  chan struct{} // closed when the discovery in flight ends
	err      error         // of the last discovery
	retryAt  time.Time
	backoff  time.Duration
}

func newKeySource(ctx context.Context, cfg *proxyconfig.OIDC, site issuerSite, now func() time.Time) (*keySource, error) {
	k := &keySource{ctx: ctx, cfg: cfg, site: site, now: now}
	if cfg.JWKSURL != "" {
		// Nothing to discover: the key set itself fetches on first use.
		jwks := cfg.JWKSURL
		if site.viaAPIServer {
			var err error
			if jwks, err = onAPIServer(site.base, jwks); err != nil {
				return nil, err
			}
		}
		k.verifier = k.newVerifier(jwks)
	}
	return k, nil
}

// get returns the verifier, discovering the issuer if that is still to do.
func (k *keySource) get(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	for {
		k.mu.Lock()
		if k.verifier != nil {
			v := k.verifier
			k.mu.Unlock()
			return v, nil
		}
		if k.pending == nil {
			if now := k.now(); now.Before(k.retryAt) {
				err, wait := k.err, k.retryAt.Sub(now)
				k.mu.Unlock()
				return nil, unavailable("the issuer's discovery document could not be fetched", wait, err)
			}
			k.pending = make(chan struct{})
			go k.discover(k.pending)
		}
		pending := k.pending
		k.mu.Unlock()
		select {
		case <-pending: // done: the verifier is there, or retryAt is ahead
		case <-ctx.Done():
			return nil, unavailable("the request ended while the issuer was asked", minDiscoveryBackoff, ctx.Err())
		}
	}
}

// discover fetches the discovery document and records the outcome.
func (k *keySource) discover(done chan struct{}) {
	ctx, cancel := context.WithTimeout(k.ctx, fetchTimeout)
	defer cancel()
	v, err := k.discoverVerifier(ctx)
	k.mu.Lock()
	if err == nil {
		k.verifier, k.err, k.backoff = v, nil, 0
	} else {
		k.backoff = min(max(2*k.backoff, minDiscoveryBackoff), maxDiscoveryBackoff)
		k.err, k.retryAt = err, k.now().Add(k.backoff)
	}
	k.pending = nil
	k.mu.Unlock()
	close(done)
}

func (k *keySource) discoverVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	ctx = oidc.ClientContext(ctx, k.site.client)
	if k.site.viaAPIServer {
		// The document is fetched from the API server's address, not the
		// issuer's, so go-oidc's check that they match cannot hold; the
		// issuer it names is compared below instead.
		ctx = oidc.InsecureIssuerURLContext(ctx, k.cfg.Issuer)
	}
	p, err := oidc.NewProvider(ctx, k.site.base)
	if err != nil {
		return nil, fmt.Errorf("OIDC discovery at %s: %w", k.site.base, err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := p.Claims(&doc); err != nil {
		return nil, fmt.Errorf("OIDC discovery at %s: %w", k.site.base, err)
	}
	if !k.site.viaAPIServer {
		if err := checkURL("jwks_uri of the discovery document", doc.JWKSURI, k.cfg.InsecureAllowHTTP); err != nil {
			return nil, err
		}
		return k.newVerifier(doc.JWKSURI), nil
	}
	if doc.Issuer != k.cfg.Issuer {
		return nil, fmt.Errorf("the API server at %s issues ServiceAccount tokens as %q, not %q: set the OIDC config's issuer to %q", k.site.base, doc.Issuer, k.cfg.Issuer, doc.Issuer)
	}
	jwks, err := onAPIServer(k.site.base, doc.JWKSURI)
	if err != nil {
		return nil, err
	}
	return k.newVerifier(jwks), nil
}

// newVerifier checks tokens against the key set at jwks. go-oidc checks
// the signature, iss, aud and exp; nbf and sub are checked in verifyJWT.
func (k *keySource) newVerifier(jwks string) *oidc.IDTokenVerifier {
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(k.ctx, k.site.client), jwks)
	return oidc.NewVerifier(k.cfg.Issuer, tracedKeys{keys}, &oidc.Config{
		ClientID:             k.cfg.Audience,
		SupportedSigningAlgs: signingAlgs,
		Now:                  k.now,
	})
}
