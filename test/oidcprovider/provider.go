// Package oidcprovider is a real OpenID provider for tests, built on
// zitadel/oidc's op package rather than minting tokens by hand: discovery,
// JWKS, the token endpoint (client_credentials grant), RFC 7662
// introspection, revocation and userinfo, over plain HTTP.
//
// Every configured Client is at once its own user: its access tokens carry
// sub = the client ID, aud = its audience and a groups claim with its groups,
// either as RS256 JWTs or as opaque tokens only introspection can read.
//
// Go tests call Start; in a cluster the same provider runs as the binary
// cmd/oidc-provider (image switchboard/oidc-provider, hack/images.sh).
package oidcprovider

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Options configure a Provider.
type Options struct {
	// Issuer is the tokens' iss and the base of the endpoint URLs that
	// discovery names. Empty means http://<the bound address>. http is
	// allowed; a path is not.
	Issuer string
	// Addr is where to listen; empty means a free port on 127.0.0.1.
	Addr string
	// Clients are the only clients (and subjects) the provider knows.
	Clients []Client
}

// Provider is a running OpenID provider.
type Provider struct {
	issuer string
	// base reaches the listener itself, which the issuer need not (a test
	// may name an issuer that does not resolve, to see it refused).
	base    string
	storage *storage
	server  *http.Server
	served  chan error
	unwatch func() bool
}

// Start listens on opts.Addr and serves until Close or until ctx is done.
func Start(ctx context.Context, opts Options) (*Provider, error) {
	store, err := newStorage(opts.Clients)
	if err != nil {
		return nil, err
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("oidc provider: %w", err)
	}
	base := "http://" + ln.Addr().String()
	issuer := opts.Issuer
	if issuer == "" {
		issuer = base
	}
	handler, err := newHandler(issuer, store)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	p := &Provider{
		issuer:  issuer,
		base:    base,
		storage: store,
		server:  &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second},
		served:  make(chan error, 1),
	}
	go func() { p.served <- p.server.Serve(ln) }()
	p.unwatch = context.AfterFunc(ctx, func() { _ = p.server.Close() })
	return p, nil
}

// newHandler builds the op package's router for the issuer, with a fresh
// key for the opaque tokens' encryption.
func newHandler(issuer string, store *storage) (http.Handler, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("issuer %q: %w", issuer, err)
	}
	if strings.Trim(u.Path, "/") != "" || strings.HasSuffix(issuer, "/") {
		return nil, fmt.Errorf("issuer %q: the endpoints are served at the root, so the issuer may have no path", issuer)
	}
	config := &op.Config{}
	_, _ = rand.Read(config.CryptoKey[:]) // never fails (crypto/rand)
	handler, err := op.NewProvider(config, store, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("issuer %q: %w", issuer, err)
	}
	return handler, nil
}

// Issuer is the tokens' iss; discovery is at Issuer()+"/.well-known/openid-configuration".
func (p *Provider) Issuer() string { return p.issuer }

// Token obtains an access token for the configured client the way a real
// client does: the client_credentials grant at the token endpoint, over HTTP.
func (p *Provider) Token(ctx context.Context, clientID string) (string, error) {
	c, ok := p.storage.clients[clientID]
	if !ok {
		return "", fmt.Errorf("token for %q: no such client", clientID)
	}
	form := url.Values{"grant_type": {string(oidc.GrantTypeClientCredentials)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, op.DefaultEndpoints.Token.Absolute(p.base), strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("token for %q: %w", clientID, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// RFC 6749 §2.3.1: form-encode the credentials before basic auth.
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("token for %q: %w", clientID, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("token for %q: %w", clientID, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token for %q: %s: %s", clientID, resp.Status, body)
	}
	var tokens oidc.AccessTokenResponse
	if err := json.Unmarshal(body, &tokens); err != nil {
		return "", fmt.Errorf("token for %q: %w", clientID, err)
	}
	if tokens.AccessToken == "" {
		return "", fmt.Errorf("token for %q: no access_token in %s", clientID, body)
	}
	return tokens.AccessToken, nil
}

// Close stops serving at once; it is safe to call more than once.
func (p *Provider) Close() error {
	p.unwatch()
	_ = p.server.Close()
	if err := <-p.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		p.served <- err
		return fmt.Errorf("oidc provider: %w", err)
	}
	p.served <- http.ErrServerClosed
	return nil
}
