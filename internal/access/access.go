// Package access turns the config kinds an MCPServer references
// (MCPOIDCConfig, MCPAuthzConfig or authzConfig, MCPToolConfig) into the
// access document the proxy enforces, and an MCPTelemetryConfig into what
// the proxy exports, and says what is wrong with them. It is the one place
// that does: the admission webhook refuses what it reports, the config
// kinds' Valid condition shows it, and the reconciler renders the proxy's
// configuration from it.
package access

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/proxy/authz"
	"github.com/switchboard-mcp/switchboard/internal/proxy/curation"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// OIDC is what the proxy enforces for an MCPOIDCConfig referenced through
// ref. The CA bundle and client secret are the caller's to fill in: they
// live in other objects.
func OIDC(spec *v1beta1.MCPOIDCConfigSpec, ref *v1beta1.MCPOIDCConfigReference) (*proxyconfig.OIDC, error) {
	if err := ValidateOIDC(spec); err != nil {
		return nil, err
	}
	o := &proxyconfig.OIDC{Type: spec.Type, Audience: ref.Audience, Scopes: ref.Scopes, ResourceURL: ref.ResourceURL}
	switch spec.Type {
	case v1beta1.OIDCTypeKubernetesServiceAccount:
		k := spec.KubernetesServiceAccount
		o.Issuer = k.Issuer
		if o.Issuer == "" {
			o.Issuer = v1beta1.DefaultServiceAccountIssuer
		}
		o.JWKSURL, o.IntrospectionURL = k.JWKSURL, k.IntrospectionURL
		o.ServiceAccount, o.Namespace = k.ServiceAccount, k.Namespace
		o.UseClusterAuth = k.UseClusterAuth == nil || *k.UseClusterAuth
	case v1beta1.OIDCTypeInline:
		in := spec.Inline
		o.Issuer, o.JWKSURL, o.IntrospectionURL, o.ClientID = in.Issuer, in.JWKSURL, in.IntrospectionURL, in.ClientID
		o.InsecureAllowHTTP, o.JWKSAllowPrivateIP = in.InsecureAllowHTTP, in.JWKSAllowPrivateIP
	}
	return o, nil
}

// ValidateOIDC reports what the proxy could not enforce, naming the field.
func ValidateOIDC(spec *v1beta1.MCPOIDCConfigSpec) error {
	switch spec.Type {
	case v1beta1.OIDCTypeKubernetesServiceAccount:
		k := spec.KubernetesServiceAccount
		if k == nil {
			return fmt.Errorf("spec.kubernetesServiceAccount: required when type is kubernetesServiceAccount")
		}
		for field, u := range map[string]string{"issuer": k.Issuer, "jwksUrl": k.JWKSURL, "introspectionUrl": k.IntrospectionURL} {
			if err := checkURL(u, false); err != nil {
				return fmt.Errorf("spec.kubernetesServiceAccount.%s: %w", field, err)
			}
		}
		if k.UseClusterAuth != nil && !*k.UseClusterAuth && k.JWKSURL == "" {
			return fmt.Errorf("spec.kubernetesServiceAccount.useClusterAuth: false needs jwksUrl: without cluster credentials the proxy cannot fetch the API server's keys")
		}
	case v1beta1.OIDCTypeInline:
		in := spec.Inline
		if in == nil {
			return fmt.Errorf("spec.inline: required when type is inline")
		}
		if in.Issuer == "" {
			return fmt.Errorf("spec.inline.issuer: required: the URL of your identity provider")
		}
		for field, u := range map[string]string{"issuer": in.Issuer, "jwksUrl": in.JWKSURL, "introspectionUrl": in.IntrospectionURL} {
			if err := checkURL(u, in.InsecureAllowHTTP); err != nil {
				return fmt.Errorf("spec.inline.%s: %w", field, err)
			}
		}
		if in.JWKSAuthTokenPath != "" {
			return fmt.Errorf("spec.inline.jwksAuthTokenPath: not supported by Switchboard yet: remove it (use caBundleRef for a private CA)")
		}
		if in.IntrospectionURL != "" && (in.ClientID == "" || in.ClientSecretRef == nil) {
			return fmt.Errorf("spec.inline.introspectionUrl: needs clientId and clientSecretRef to authenticate to the introspection endpoint")
		}
		if in.CABundleRef != nil && in.CABundleRef.ConfigMapRef == nil {
			return fmt.Errorf("spec.inline.caBundleRef.configMapRef: required: name the ConfigMap with the PEM bundle")
		}
	default:
		return fmt.Errorf("spec.type: %q is not kubernetesServiceAccount or inline", spec.Type)
	}
	return nil
}

// OIDCWarnings are what in an MCPOIDCConfig applies but does nothing.
func OIDCWarnings(spec *v1beta1.MCPOIDCConfigSpec) []string {
	in := spec.Inline
	if in == nil {
		return nil
	}
	var out []string
	if (in.ClientSecretRef != nil || in.ClientID != "") && in.IntrospectionURL == "" {
		out = append(out, "spec.inline.clientId and clientSecretRef are used only to authenticate to introspectionUrl, which is not set: JWTs are verified with the issuer's keys, and opaque tokens are refused")
	}
	if in.ProtectedResourceAllowPrivateIP {
		out = append(out, "spec.inline.protectedResourceAllowPrivateIP has no effect: the proxy advertises resourceUrl as given, private or not")
	}
	return out
}

// checkURL accepts "" and what proxyconfig.CheckURL accepts.
func checkURL(raw string, allowHTTP bool) error {
	if raw == "" {
		return nil
	}
	return proxyconfig.CheckURL(raw, allowHTTP)
}

// cedarOptions is ToolHive's cedarv1 configuration ("cedar" in authz.json,
// spec.config of an MCPAuthzConfig).
type cedarOptions struct {
	Policies                []string `json:"policies"`
	EntitiesJSON            string   `json:"entities_json"`
	PrimaryUpstreamProvider string   `json:"primary_upstream_provider,omitempty"`
	GroupClaimName          string   `json:"group_claim_name,omitempty"`
	RoleClaimName           string   `json:"role_claim_name,omitempty"`
	GroupEntityType         string   `json:"group_entity_type,omitempty"`
}

func (c cedarOptions) authz() *proxyconfig.Authz {
	return &proxyconfig.Authz{Policies: c.Policies, EntitiesJSON: c.EntitiesJSON,
		GroupClaimName: c.GroupClaimName, RoleClaimName: c.RoleClaimName, GroupEntityType: c.GroupEntityType}
}

// AuthzFromMCPAuthzConfig is the policy set of an MCPAuthzConfig, checked.
func AuthzFromMCPAuthzConfig(spec *v1beta1.MCPAuthzConfigSpec, server string) (*proxyconfig.Authz, error) {
	if spec.Type != v1beta1.AuthzTypeCedar {
		return nil, fmt.Errorf("spec.type: %q is not supported by Switchboard yet: use cedarv1", spec.Type)
	}
	var c cedarOptions
	if err := strictJSON(spec.Config.Raw, &c); err != nil {
		return nil, fmt.Errorf("spec.config: %w", err)
	}
	a := c.authz()
	if err := checkAuthz(a, server); err != nil {
		return nil, fmt.Errorf("spec.config.%w", err)
	}
	return a, nil
}

// AuthzFromConfigMap is the policy set in ToolHive's authz.json format
// (JSON or YAML): {"version":"1.0","type":"cedarv1","cedar":{...}}.
func AuthzFromConfigMap(data, server string) (*proxyconfig.Authz, error) {
	var doc struct {
		Version string        `json:"version"`
		Type    string        `json:"type"`
		Cedar   *cedarOptions `json:"cedar"`
	}
	if err := yaml.UnmarshalStrict([]byte(data), &doc); err != nil {
		return nil, unsupported(err)
	}
	if doc.Type != v1beta1.AuthzTypeCedar {
		return nil, fmt.Errorf("type: %q is not supported by Switchboard yet: use cedarv1", doc.Type)
	}
	if doc.Cedar == nil {
		return nil, fmt.Errorf("cedar: required: the policies and entities_json")
	}
	a := doc.Cedar.authz()
	if err := checkAuthz(a, server); err != nil {
		return nil, fmt.Errorf("cedar.%w", err)
	}
	return a, nil
}

// AuthzInline is the policy set written in an MCPServer, with its claim
// mapping; for type configMap, data is the ConfigMap's value and the
// MCPServer's claim settings win over the document's, as in ToolHive.
func AuthzInline(ref *v1beta1.AuthzConfigRef, data, server string) (*proxyconfig.Authz, error) {
	var a *proxyconfig.Authz
	switch {
	case ref.Inline != nil:
		a = &proxyconfig.Authz{Policies: ref.Inline.Policies, EntitiesJSON: ref.Inline.EntitiesJSON}
		if err := checkAuthz(a, server); err != nil {
			return nil, fmt.Errorf("spec.authzConfig.inline.%w", err)
		}
	default:
		var err error
		if a, err = AuthzFromConfigMap(data, server); err != nil {
			return nil, err
		}
	}
	a.GroupClaimName = or(ref.GroupClaimName, a.GroupClaimName)
	a.RoleClaimName = or(ref.RoleClaimName, a.RoleClaimName)
	a.GroupEntityType = or(ref.GroupEntityType, a.GroupEntityType)
	return a, nil
}

// checkAuthz compiles the policies as the proxy will; its errors name
// policies[i] and the line.
func checkAuthz(a *proxyconfig.Authz, server string) error {
	if len(a.Policies) == 0 {
		return fmt.Errorf("policies: at least one Cedar policy is required (with none, every call would be denied)")
	}
	if _, err := authz.Compile(a, server); err != nil {
		return err
	}
	return nil
}

// Tools is what the proxy enforces for an MCPToolConfig, checked.
func Tools(spec *v1beta1.MCPToolConfigSpec) (*proxyconfig.Tools, error) {
	t := toolsOf(spec)
	if err := curation.Validate(t); err != nil {
		return nil, fmt.Errorf("spec.%w", err)
	}
	return t, nil
}

// ToolsWarnings are what in an MCPToolConfig applies but does nothing.
func ToolsWarnings(spec *v1beta1.MCPToolConfigSpec) []string {
	return curation.Warnings(toolsOf(spec))
}

func toolsOf(spec *v1beta1.MCPToolConfigSpec) *proxyconfig.Tools {
	t := &proxyconfig.Tools{Filter: spec.ToolsFilter}
	if len(spec.ToolsOverride) > 0 {
		t.Overrides = make(map[string]proxyconfig.ToolOverride, len(spec.ToolsOverride))
		for name, o := range spec.ToolsOverride {
			ov := proxyconfig.ToolOverride{Name: o.Name, Description: o.Description}
			if a := o.Annotations; a != nil {
				ov.Annotations = &proxyconfig.ToolAnnotations{Title: a.Title, ReadOnlyHint: a.ReadOnlyHint,
					DestructiveHint: a.DestructiveHint, IdempotentHint: a.IdempotentHint, OpenWorldHint: a.OpenWorldHint}
			}
			t.Overrides[name] = ov
		}
	}
	return t
}

func strictJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return unsupported(err)
	}
	return nil
}

// unsupported rewords an unknown-field error: a setting Switchboard does not
// enforce is refused, never ignored.
func unsupported(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "unknown field "); i >= 0 {
		return fmt.Errorf("%s: not supported by Switchboard yet, so it is refused rather than ignored: remove it", msg[i:])
	}
	return err
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
