package proxyconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
)

// Access is what the proxy enforces on every MCP request: who the caller is
// (OIDC), what they may do (Cedar) and which tools they see (curation). The
// operator resolves an MCPServer's referenced configs into one Access
// document, stored in a ConfigMap the proxy watches (AccessKey), so a change
// takes effect in seconds without a restart. A nil part is off.
type Access struct {
	// Closed, when set, says why the proxy must refuse every MCP request:
	// a config the server references is missing or invalid, and serving
	// open would drop a protection the user asked for (fail closed).
	Closed string `json:"closed,omitempty"`
	OIDC   *OIDC  `json:"oidc,omitempty"`
	Authz  *Authz `json:"authz,omitempty"`
	Tools  *Tools `json:"tools,omitempty"`
}

// AccessKey is the key of the Access document in its ConfigMap.
const AccessKey = "access.json"

// OIDC types (MCPOIDCConfig spec.type).
const (
	OIDCKubernetesServiceAccount = "kubernetesServiceAccount"
	OIDCInline                   = "inline"
)

// EnvOIDCClientSecret carries the OIDC client secret the proxy uses for
// token introspection (secretKeyRef on the proxy container, never a flag or
// a ConfigMap value).
const EnvOIDCClientSecret = "SWITCHBOARD_OIDC_CLIENT_SECRET"

// OIDC is how the proxy authenticates callers: bearer JWTs verified against
// the issuer's keys, or opaque tokens introspected (RFC 7662).
type OIDC struct {
	// Type is kubernetesServiceAccount or inline.
	Type string `json:"type"`
	// Issuer is the expected "iss" and the discovery base URL.
	Issuer string `json:"issuer"`
	// JWKSURL overrides the jwks_uri from discovery.
	JWKSURL string `json:"jwksUrl,omitempty"`
	// IntrospectionURL, when set, checks tokens that are not JWTs (RFC 7662).
	IntrospectionURL string `json:"introspectionUrl,omitempty"`
	// ClientID authenticates introspection requests, with the secret from
	// EnvOIDCClientSecret.
	ClientID string `json:"clientId,omitempty"`
	// CABundle is PEM the proxy trusts for the issuer (from caBundleRef).
	CABundle string `json:"caBundle,omitempty"`
	// Audience every token must carry in "aud" (oidcConfigRef.audience).
	Audience string `json:"audience"`
	// Scopes advertised in the protected-resource metadata.
	Scopes []string `json:"scopes,omitempty"`
	// ResourceURL is this server's resource identifier in the
	// protected-resource metadata (RFC 9728); default: the URL clients used.
	ResourceURL string `json:"resourceUrl,omitempty"`
	// InsecureAllowHTTP permits an http:// issuer (tests, local providers).
	InsecureAllowHTTP bool `json:"insecureAllowHTTP,omitempty"`
	// JWKSAllowPrivateIP permits JWKS and discovery on private addresses.
	JWKSAllowPrivateIP bool `json:"jwksAllowPrivateIP,omitempty"`
	// ServiceAccount and Namespace, when set (kubernetesServiceAccount),
	// restrict callers to that ServiceAccount / namespace.
	ServiceAccount string `json:"serviceAccount,omitempty"`
	Namespace      string `json:"namespace,omitempty"`
	// UseClusterAuth (kubernetesServiceAccount): fetch discovery and keys
	// from the API server with the pod's own ServiceAccount token and CA.
	UseClusterAuth bool `json:"useClusterAuth,omitempty"`
}

// Authz is a Cedar policy set and how tokens map onto Cedar principals.
type Authz struct {
	Policies     []string `json:"policies"`
	EntitiesJSON string   `json:"entitiesJson,omitempty"`
	// GroupClaimName / RoleClaimName name the claims whose values become the
	// principal's parent entities (default: "groups", "roles",
	// "cognito:groups").
	GroupClaimName string `json:"groupClaimName,omitempty"`
	RoleClaimName  string `json:"roleClaimName,omitempty"`
	// GroupEntityType is the Cedar type of those parents (default THVGroup).
	GroupEntityType string `json:"groupEntityType,omitempty"`
}

// Tools curates the server's tools: only those in Filter (when it is not
// empty) are listed and callable, and Overrides rename and re-describe them.
type Tools struct {
	Filter    []string                `json:"filter,omitempty"`
	Overrides map[string]ToolOverride `json:"overrides,omitempty"`
}

// ToolOverride is what clients see of one tool instead of what the server
// says: a new name, description, or annotations.
type ToolOverride struct {
	Name        string           `json:"name,omitempty"`
	Description string           `json:"description,omitempty"`
	Annotations *ToolAnnotations `json:"annotations,omitempty"`
}

// ToolAnnotations are MCP's tool annotations (hints for clients).
type ToolAnnotations struct {
	Title           *string `json:"title,omitempty"`
	ReadOnlyHint    *bool   `json:"readOnlyHint,omitempty"`
	DestructiveHint *bool   `json:"destructiveHint,omitempty"`
	IdempotentHint  *bool   `json:"idempotentHint,omitempty"`
	OpenWorldHint   *bool   `json:"openWorldHint,omitempty"`
}

// Enforces reports whether any part is on.
func (a *Access) Enforces() bool {
	return a != nil && (a.Closed != "" || a.OIDC != nil || a.Authz != nil || a.Tools != nil)
}

// ParseAccess decodes an Access document strictly: a field the proxy does
// not know would otherwise be a protection silently dropped.
func ParseAccess(data []byte) (*Access, error) {
	var a Access
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("decode access document: %w", err)
	}
	return &a, nil
}

// CheckURL refuses a URL a token or key could be read from in clear text:
// it must be absolute and https, or http when allowHTTP (insecureAllowHTTP).
// Admission and the proxy check alike.
func CheckURL(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch {
	case u.Scheme == "https", u.Scheme == "http" && allowHTTP:
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%q is plain http: tokens and keys must not travel in clear text; use https, or set insecureAllowHTTP: true for a local test issuer", raw)
	default:
		return fmt.Errorf("%q: the scheme must be https", raw)
	}
}
