package oidcprovider

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// errNotServed answers every flow but client_credentials: there is no login,
// so no authorization code, refresh token or JWT profile.
var errNotServed = errors.New("oidcprovider serves only the client_credentials grant")

// groupsClaim is the claim (in JWTs and introspection answers) that carries
// the client's groups.
const groupsClaim = "groups"

// storage is the op.Storage of a fixed set of clients: it remembers the
// access tokens it issued (JWT or opaque alike) so that introspection and
// revocation can find them, and signs with one RSA key made at start.
type storage struct {
	clients map[string]Client
	key     signingKey

	mu     sync.Mutex
	tokens map[string]issuedToken
}

// issuedToken is what storage keeps of an access token, by its ID (a JWT's
// jti, or what an opaque token encrypts).
type issuedToken struct {
	client  Client
	scopes  []string
	issued  time.Time
	expires time.Time
}

var (
	_ op.Storage                  = (*storage)(nil)
	_ op.ClientCredentialsStorage = (*storage)(nil)
)

func newStorage(clients []Client) (*storage, error) {
	s := &storage{clients: make(map[string]Client, len(clients)), tokens: map[string]issuedToken{}}
	for _, c := range clients {
		c, err := c.withDefaults()
		if err != nil {
			return nil, err
		}
		if _, dup := s.clients[c.ID]; dup {
			return nil, fmt.Errorf("client %q is configured twice", c.ID)
		}
		s.clients[c.ID] = c
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	s.key = signingKey{id: rand.Text(), key: key}
	return s, nil
}

// authenticate finds the client and checks its secret.
func (s *storage) authenticate(clientID, secret string) (Client, error) {
	c, ok := s.clients[clientID]
	if !ok || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		return Client{}, errors.New("unknown client or wrong secret")
	}
	return c, nil
}

// ClientCredentials authenticates the client of a client_credentials request.
func (s *storage) ClientCredentials(_ context.Context, clientID, secret string) (op.Client, error) {
	c, err := s.authenticate(clientID, secret)
	if err != nil {
		return nil, err
	}
	return opClient{c}, nil
}

// ClientCredentialsTokenRequest makes the client the subject of its own token.
func (s *storage) ClientCredentialsTokenRequest(_ context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	c, ok := s.clients[clientID]
	if !ok {
		return nil, fmt.Errorf("unknown client %q", clientID)
	}
	return &tokenRequest{client: c, scopes: scopes}, nil
}

// tokenRequest is a client_credentials request as op.TokenRequest.
type tokenRequest struct {
	client Client
	scopes []string
}

func (r *tokenRequest) GetSubject() string    { return r.client.ID }
func (r *tokenRequest) GetAudience() []string { return []string{r.client.Audience} }
func (r *tokenRequest) GetScopes() []string   { return r.scopes }

// CreateAccessToken records a token for the client's lifetime; the op
// package then signs it as a JWT or encrypts its ID as an opaque token.
func (s *storage) CreateAccessToken(_ context.Context, request op.TokenRequest) (string, time.Time, error) {
	req, ok := request.(*tokenRequest)
	if !ok {
		return "", time.Time{}, errNotServed
	}
	now := time.Now()
	t := issuedToken{client: req.client, scopes: req.scopes, issued: now, expires: now.Add(req.client.Lifetime)}
	id := rand.Text()
	s.mu.Lock()
	defer s.mu.Unlock()
	for old, o := range s.tokens { // forget the expired, so a long-running pod does not grow
		if now.After(o.expires) {
			delete(s.tokens, old)
		}
	}
	s.tokens[id] = t
	return id, t.expires, nil
}

// token finds a live token issued to subject.
func (s *storage) token(tokenID, subject string) (issuedToken, error) {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	switch {
	case !ok || t.client.ID != subject:
		return t, errors.New("unknown or revoked token")
	case time.Now().After(t.expires):
		return t, errors.New("token expired")
	}
	return t, nil
}

// SetIntrospectionFromToken answers RFC 7662 for any authenticated client:
// the caller is a resource server, not the token's audience. An error makes
// the op package answer {"active": false}.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, _ string) error {
	t, err := s.token(tokenID, subject)
	if err != nil {
		return err
	}
	resp.Issuer = op.IssuerFromContext(ctx)
	resp.Subject = t.client.ID
	resp.ClientID = t.client.ID
	resp.Audience = oidc.Audience{t.client.Audience}
	resp.Scope = t.scopes
	resp.TokenType = oidc.BearerToken
	resp.IssuedAt = oidc.FromTime(t.issued)
	resp.Expiration = oidc.FromTime(t.expires)
	resp.JWTID = tokenID
	resp.Claims = groupClaims(t.client)
	return nil
}

// SetUserinfoFromToken serves the userinfo endpoint for a live access token.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	t, err := s.token(tokenID, subject)
	if err != nil {
		return err
	}
	info.Subject = t.client.ID
	for k, v := range groupClaims(t.client) {
		info.AppendClaims(k, v)
	}
	return nil
}

// GetPrivateClaimsFromScopes adds the groups claim to JWT access tokens.
func (s *storage) GetPrivateClaimsFromScopes(_ context.Context, _, clientID string, _ []string) (map[string]any, error) {
	return groupClaims(s.clients[clientID]), nil
}

func groupClaims(c Client) map[string]any {
	if len(c.Groups) == 0 {
		return nil
	}
	return map[string]any{groupsClaim: c.Groups}
}

// RevokeToken forgets a token of the revoking client, so a test can revoke
// and see introspection answer inactive.
func (s *storage) RevokeToken(_ context.Context, tokenID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[tokenID]; ok {
		if t.client.ID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		delete(s.tokens, tokenID)
	}
	return nil
}

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	c, ok := s.clients[clientID]
	if !ok {
		return nil, fmt.Errorf("unknown client %q", clientID)
	}
	return opClient{c}, nil
}

// AuthorizeClientIDSecret authenticates basic auth at the introspection and
// revocation endpoints.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, secret string) error {
	_, err := s.authenticate(clientID, secret)
	return err
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.key}}, nil
}

func (s *storage) Health(context.Context) error { return nil }

// What follows belongs to the flows with a login or a refresh token, which
// this provider does not serve.

func (s *storage) CreateAuthRequest(context.Context, *oidc.AuthRequest, string) (op.AuthRequest, error) {
	return nil, errNotServed
}
func (s *storage) AuthRequestByID(context.Context, string) (op.AuthRequest, error) {
	return nil, errNotServed
}
func (s *storage) AuthRequestByCode(context.Context, string) (op.AuthRequest, error) {
	return nil, errNotServed
}
func (s *storage) SaveAuthCode(context.Context, string, string) error { return errNotServed }
func (s *storage) DeleteAuthRequest(context.Context, string) error    { return nil }
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errNotServed
}
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errNotServed
}
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotServed
}
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errNotServed
}

// signingKey is the provider's one RS256 key; key rotation is not needed.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

// publicKey is the signing key as the JWKS serves it.
type publicKey struct{ signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.key.PublicKey }
