package authn

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// DefaultKubernetesIssuer is the issuer of ServiceAccount tokens in a
// cluster that does not set --service-account-issuer.
const DefaultKubernetesIssuer = "https://kubernetes.default.svc"

// maxTokenLength bounds the token a request may carry: real access tokens
// are a few KiB, and nothing larger is worth hashing or sending on.
const maxTokenLength = 16 << 10

// Identity is an authenticated caller. Identities are shared between the
// requests that carry the same token: treat one as read-only.
type Identity struct {
	Subject string
	// Claims are the verified claims: the JWT payload or the introspection
	// answer (for ServiceAccount tokens, with "groups" added; see New).
	Claims map[string]any
	// Expiry is when the token stops being valid; zero when an
	// introspection answer did not say.
	Expiry time.Time
}

// Options are what an Authenticator needs besides its configuration.
type Options struct {
	// KubeConfig reaches the API server (kubernetesServiceAccount with
	// UseClusterAuth): its transport carries the pod's token and CA.
	KubeConfig *rest.Config
	// ClientSecret authenticates introspection requests (from
	// proxyconfig.EnvOIDCClientSecret).
	ClientSecret string
	// ExternalURL is the proxy's base URL as clients see it
	// (scheme://host[/prefix]), such that ExternalURL(r)+r.URL.Path is the
	// URL the client used. Default: the scheme of the connection and the
	// Host header.
	ExternalURL func(r *http.Request) string
	// HTTPClient, when set, replaces the client built for the issuer (its
	// CA bundle and private-address guard): for tests.
	HTTPClient *http.Client
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Log receives refusals at debug level and an unreachable issuer as a
	// warning; default: discard.
	Log *slog.Logger
}

// Authenticator checks the bearer token of each request against one OIDC
// configuration. The proxy builds a new one when the configuration changes
// and closes the old one.
type Authenticator struct {
	cfg         proxyconfig.OIDC // with defaults applied
	now         func() time.Time
	log         *slog.Logger
	externalURL func(*http.Request) string
	keys        *keySource
	introspect  *introspector // nil: opaque tokens are refused
	cache       *tokenCache
	clients     []*http.Client // closed (idle connections) by Close
	stop        context.CancelFunc
}

// New checks cfg and returns an Authenticator for it. It does no I/O: the
// issuer's discovery document and keys are fetched when the first token
// needs them. ctx bounds the Authenticator's background fetches, as Close
// does.
func New(ctx context.Context, cfg *proxyconfig.OIDC, o Options) (*Authenticator, error) {
	if cfg == nil {
		return nil, errors.New("no OIDC configuration")
	}
	c := *cfg
	if err := defaultAndValidate(&c, o); err != nil {
		return nil, err
	}
	a := &Authenticator{
		cfg:         c,
		now:         o.Now,
		log:         o.Log,
		externalURL: o.ExternalURL,
		cache:       newTokenCache(maxCachedTokens),
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.externalURL == nil {
		a.externalURL = requestBaseURL
	}
	site, introspectHTTP, err := a.connect(o)
	if err != nil {
		return nil, err
	}
	ctx, a.stop = context.WithCancel(ctx)
	a.keys, err = newKeySource(ctx, &a.cfg, site, a.now)
	if err != nil {
		a.Close()
		return nil, err
	}
	if c.IntrospectionURL != "" {
		a.introspect = &introspector{url: c.IntrospectionURL, clientID: c.ClientID, secret: o.ClientSecret, client: introspectHTTP}
	}
	return a, nil
}

// connect builds the HTTP clients: the one for discovery and keys (the
// issuer's, or the API server's with UseClusterAuth) and the one for
// introspection.
func (a *Authenticator) connect(o Options) (issuerSite, *http.Client, error) {
	c := &a.cfg
	// JWKSAllowPrivateIP covers discovery and keys, as its field says. The
	// introspection endpoint is named on purpose, with a client secret, and
	// often sits inside the cluster: it is not held to it.
	issuerHTTP, introspectHTTP := o.HTTPClient, o.HTTPClient
	if o.HTTPClient == nil {
		var err error
		if issuerHTTP, err = issuerClient(c.CABundle, c.JWKSAllowPrivateIP); err != nil {
			return issuerSite{}, nil, err
		}
		if introspectHTTP, err = issuerClient(c.CABundle, true); err != nil {
			return issuerSite{}, nil, err
		}
		a.clients = append(a.clients, issuerHTTP, introspectHTTP)
	}
	if !c.UseClusterAuth {
		return issuerSite{base: c.Issuer, client: issuerHTTP}, introspectHTTP, nil
	}
	kube, err := apiServerClient(o.KubeConfig)
	if err != nil {
		return issuerSite{}, nil, err
	}
	a.clients = append(a.clients, kube)
	return issuerSite{base: apiServerURL(o.KubeConfig.Host), client: kube, viaAPIServer: true}, introspectHTTP, nil
}

// defaultAndValidate fills in the ServiceAccount issuer and refuses what
// would make every token fail, or be checked less than the user asked.
func defaultAndValidate(c *proxyconfig.OIDC, o Options) error {
	switch c.Type {
	case proxyconfig.OIDCKubernetesServiceAccount:
		if c.Issuer == "" {
			c.Issuer = DefaultKubernetesIssuer
		}
	case proxyconfig.OIDCInline:
		if c.UseClusterAuth {
			return errors.New("useClusterAuth is for type kubernetesServiceAccount only")
		}
	default:
		return fmt.Errorf("OIDC type %q is neither %s nor %s", c.Type, proxyconfig.OIDCKubernetesServiceAccount, proxyconfig.OIDCInline)
	}
	if c.Audience == "" {
		return errors.New("OIDC audience is empty: tokens minted for any other service would be accepted; set the audience clients request tokens for")
	}
	if c.UseClusterAuth && (o.KubeConfig == nil || o.KubeConfig.Host == "") {
		return errors.New("useClusterAuth needs the pod's Kubernetes client configuration, and there is none")
	}
	for _, u := range []struct{ name, url string }{{"issuer", c.Issuer}, {"jwksUrl", c.JWKSURL}, {"introspectionUrl", c.IntrospectionURL}} {
		if u.url == "" && u.name != "issuer" {
			continue
		}
		if err := checkURL(u.name, u.url, c.InsecureAllowHTTP); err != nil {
			return err
		}
	}
	if c.IntrospectionURL != "" && c.ClientID == "" {
		return errors.New("introspectionUrl is set but clientId is not: the issuer would refuse to answer")
	}
	return nil
}

// checkURL refuses a URL a token or key could be read from in clear text.
func checkURL(name, raw string, allowHTTP bool) error {
	if err := proxyconfig.CheckURL(raw, allowHTTP); err != nil {
		return fmt.Errorf("OIDC %s: %w", name, err)
	}
	return nil
}

// Close stops the Authenticator's background fetches and drops its idle
// connections. Requests it is still checking fail with a 503.
func (a *Authenticator) Close() {
	a.stop()
	for _, c := range a.clients {
		c.CloseIdleConnections()
	}
}

// Authenticate returns who sent r, or a *Failure saying why it cannot.
func (a *Authenticator) Authenticate(r *http.Request) (*Identity, error) {
	token, f := bearerToken(r)
	if f != nil {
		return nil, f
	}
	key := sha256.Sum256([]byte(token))
	now := a.now()
	if id := a.cache.get(key, now); id != nil {
		return id, nil
	}
	var (
		id    *Identity
		until time.Time
		err   error
	)
	switch {
	case strings.Count(token, ".") == 2:
		id, err = a.verifyJWT(r.Context(), token, now)
		if err == nil {
			until = id.Expiry
		}
	case a.introspect != nil:
		id, err = a.introspectToken(r.Context(), token, now)
		until = now.Add(maxIntrospectionCache)
		if err == nil && !id.Expiry.IsZero() && id.Expiry.Before(until) {
			until = id.Expiry
		}
	default:
		return nil, invalid("the token is not a JWT, and this server has no introspection endpoint to check other tokens")
	}
	if err != nil {
		return nil, err
	}
	a.cache.put(key, id, until, now)
	return id, nil
}

// bearerToken is the token of r's Authorization header (RFC 6750 §2.1).
// A request without one, or with another scheme, has no token.
func bearerToken(r *http.Request) (string, *Failure) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return "", noToken()
	}
	if len(values) > 1 {
		return "", invalid("the request has more than one Authorization header")
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", noToken()
	}
	token = strings.TrimLeft(token, " ")
	switch {
	case token == "":
		return "", invalid("the Authorization header has no token after Bearer")
	case len(token) > maxTokenLength:
		return "", invalid(fmt.Sprintf("the token is longer than %d bytes", maxTokenLength))
	case !isToken68(token):
		return "", invalid("the token has characters a bearer token cannot have")
	}
	return token, nil
}

// isToken68 reports whether s is a token68 (RFC 7235 §2.1): the only form a
// bearer token takes, and a cheap way to refuse garbage before hashing it
// or sending it to the issuer.
func isToken68(s string) bool {
	s = strings.TrimRight(s, "=")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}
