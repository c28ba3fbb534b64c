package oidcprovider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// TokenType is the kind of access token a client is issued.
type TokenType string

const (
	// JWT access tokens are RS256-signed and verifiable against the JWKS.
	JWT TokenType = "jwt"
	// Opaque access tokens mean nothing outside the provider: a resource
	// server learns about them only through RFC 7662 introspection.
	Opaque TokenType = "opaque"
)

// DefaultLifetime is how long an access token lives when its client says nothing.
const DefaultLifetime = 10 * time.Minute

// Client is one OAuth client, and at once the subject of its tokens: the
// client_credentials grant issues it tokens with sub = ID.
type Client struct {
	// ID is the client_id and the tokens' sub. It may not contain ':',
	// which the op package uses to pack opaque tokens.
	ID string `json:"id"`
	// Secret authenticates the client at the token and introspection endpoints.
	Secret string `json:"secret"`
	// Groups become the tokens' groups claim (and the introspection answer's).
	Groups []string `json:"groups,omitempty"`
	// Audience is the tokens' aud; empty means the client ID.
	Audience string `json:"audience,omitempty"`
	// TokenType is JWT (the default) or Opaque.
	TokenType TokenType `json:"tokenType,omitempty"`
	// Lifetime of the access tokens; zero means DefaultLifetime. In JSON a
	// Go duration such as "2s".
	Lifetime time.Duration `json:"lifetime,omitempty"`
}

// UnmarshalJSON reads lifetime as a Go duration string and refuses unknown
// fields, so a misspelt key in a test's client file fails loudly.
func (c *Client) UnmarshalJSON(data []byte) error {
	type plain Client
	wire := struct {
		*plain
		Lifetime string `json:"lifetime,omitempty"`
	}{plain: (*plain)(c)}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wire); err != nil {
		return err
	}
	c.Lifetime = 0
	if wire.Lifetime != "" {
		d, err := time.ParseDuration(wire.Lifetime)
		if err != nil {
			return fmt.Errorf("client %q: lifetime: %w", c.ID, err)
		}
		c.Lifetime = d
	}
	return nil
}

// ParseClients reads a JSON list of clients, the format of the binary's
// --clients and --clients-file:
//
//	[{"id": "alice", "secret": "s3cret", "groups": ["eng"], "audience": "switchboard",
//	  "tokenType": "opaque", "lifetime": "2s"}]
func ParseClients(data []byte) ([]Client, error) {
	var clients []Client
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&clients); err != nil {
		return nil, fmt.Errorf("parse clients: %w", err)
	}
	return clients, nil
}

// withDefaults fills what the client left empty and refuses what the
// provider could not serve.
func (c Client) withDefaults() (Client, error) {
	switch {
	case c.ID == "":
		return c, errors.New("a client has no id")
	case strings.Contains(c.ID, ":"):
		return c, fmt.Errorf("client %q: the id may not contain ':'", c.ID)
	case c.Secret == "":
		return c, fmt.Errorf("client %q has no secret", c.ID)
	case c.Lifetime < 0:
		return c, fmt.Errorf("client %q: negative lifetime %s", c.ID, c.Lifetime)
	}
	switch c.TokenType {
	case "":
		c.TokenType = JWT
	case JWT, Opaque:
	default:
		return c, fmt.Errorf("client %q: token type %q is neither %q nor %q", c.ID, c.TokenType, JWT, Opaque)
	}
	if c.Audience == "" {
		c.Audience = c.ID
	}
	if c.Lifetime == 0 {
		c.Lifetime = DefaultLifetime
	}
	return c, nil
}

// opClient is a Client as the op package sees it: confidential, basic
// auth, the client_credentials grant and nothing else.
type opClient struct{ Client }

var _ op.Client = opClient{}

func (c opClient) GetID() string                      { return c.ID }
func (opClient) RedirectURIs() []string               { return nil }
func (opClient) PostLogoutRedirectURIs() []string     { return nil }
func (opClient) ApplicationType() op.ApplicationType  { return op.ApplicationTypeWeb }
func (opClient) AuthMethod() oidc.AuthMethod          { return oidc.AuthMethodBasic }
func (opClient) ResponseTypes() []oidc.ResponseType   { return nil }
func (opClient) LoginURL(string) string               { return "" }
func (opClient) IDTokenLifetime() time.Duration       { return 0 }
func (opClient) DevMode() bool                        { return false }
func (opClient) IsScopeAllowed(string) bool           { return false }
func (opClient) IDTokenUserinfoClaimsAssertion() bool { return false }
func (opClient) ClockSkew() time.Duration             { return 0 }
func (opClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeClientCredentials}
}

//nolint:revive // op.Client spells it so
func (opClient) RestrictAdditionalIdTokenScopes() func([]string) []string     { return keepScopes }
func (opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string { return keepScopes }

func (c opClient) AccessTokenType() op.AccessTokenType {
	if c.TokenType == Opaque {
		return op.AccessTokenTypeBearer
	}
	return op.AccessTokenTypeJWT
}

func keepScopes(scopes []string) []string { return scopes }
