package v1beta1

import "fmt"

// ReferenceKind is the kind of an object an MCPServer references.
type ReferenceKind string

// Kinds an MCPServer references.
const (
	ReferenceSecret         ReferenceKind = "Secret"
	ReferenceConfigMap      ReferenceKind = "ConfigMap"
	ReferenceMCPToolConfig  ReferenceKind = "MCPToolConfig"
	ReferenceMCPOIDCConfig  ReferenceKind = "MCPOIDCConfig"
	ReferenceMCPAuthzConfig ReferenceKind = "MCPAuthzConfig"
	// ReferenceMCPTelemetryConfig is referenced with RunsWithout: a server
	// does not wait for its telemetry.
	ReferenceMCPTelemetryConfig ReferenceKind = "MCPTelemetryConfig"
)

// Consumer is the workload that reads a referenced object.
type Consumer string

// Workloads that read referenced objects.
const (
	// ConsumerBackend is the MCP server container (Secrets as env).
	ConsumerBackend Consumer = "backend"
	// ConsumerProxy is the proxy in front of it.
	ConsumerProxy Consumer = "proxy"
)

// DefaultAuthzConfigKey is the key read from an authzConfig ConfigMap when
// the reference names none.
const DefaultAuthzConfigKey = "authz.json"

// Reference is one object in the MCPServer's namespace that the server
// needs before it can run.
// +kubebuilder:object:generate=false
type Reference struct {
	// Path is the field that names the object, e.g. spec.secrets[0].
	Path string
	// Kind of the object.
	Kind ReferenceKind
	// Name of the object.
	Name string
	// Key is the key read from a Secret or ConfigMap; empty for the config kinds.
	Key string
	// KeyDefaulted is true when the field names no key and Key is its default.
	KeyDefaulted bool
	// Consumer is the workload that reads the object.
	Consumer Consumer
	// RunsWithout is true when the server does not wait for the object: it
	// runs without what the object adds (telemetry export) until it exists.
	RunsWithout bool
}

// References lists, in spec order, every object the server needs: the
// admission webhook warns about the missing ones, the reconciler waits for
// them (but for those it RunsWithout), and its watches requeue the server
// when one changes. The Redis password and CA count only when the proxy
// connects to Redis.
func (m *MCPServer) References() []Reference {
	s := &m.Spec
	var refs []Reference
	for i, sec := range s.Secrets {
		refs = append(refs, Reference{Path: fmt.Sprintf("spec.secrets[%d]", i), Kind: ReferenceSecret,
			Name: sec.Name, Key: sec.Key, Consumer: ConsumerBackend})
	}
	if s.ConnectsToRedis() && s.SessionStorage.PasswordRef != nil {
		ref := s.SessionStorage.PasswordRef
		refs = append(refs, Reference{Path: "spec.sessionStorage.passwordRef", Kind: ReferenceSecret,
			Name: ref.Name, Key: ref.Key, Consumer: ConsumerProxy})
	}
	if s.ConnectsToRedis() && s.SessionStorage.TLS != nil && s.SessionStorage.TLS.CACertSecretRef != nil {
		ref := s.SessionStorage.TLS.CACertSecretRef
		refs = append(refs, Reference{Path: "spec.sessionStorage.tls.caCertSecretRef", Kind: ReferenceSecret,
			Name: ref.Name, Key: ref.Key, Consumer: ConsumerProxy})
	}
	if ref := s.OIDCConfigRef; ref != nil {
		refs = append(refs, Reference{Path: "spec.oidcConfigRef", Kind: ReferenceMCPOIDCConfig,
			Name: ref.Name, Consumer: ConsumerProxy})
	}
	if a := s.AuthzConfig; a != nil && a.ConfigMap != nil {
		r := Reference{Path: "spec.authzConfig.configMap", Kind: ReferenceConfigMap,
			Name: a.ConfigMap.Name, Key: a.ConfigMap.Key, Consumer: ConsumerProxy}
		if r.Key == "" {
			r.Key, r.KeyDefaulted = DefaultAuthzConfigKey, true
		}
		refs = append(refs, r)
	}
	if ref := s.AuthzConfigRef; ref != nil {
		refs = append(refs, Reference{Path: "spec.authzConfigRef", Kind: ReferenceMCPAuthzConfig,
			Name: ref.Name, Consumer: ConsumerProxy})
	}
	if ref := s.ToolConfigRef; ref != nil {
		refs = append(refs, Reference{Path: "spec.toolConfigRef", Kind: ReferenceMCPToolConfig,
			Name: ref.Name, Consumer: ConsumerProxy})
	}
	if ref := s.TelemetryConfigRef; ref != nil {
		refs = append(refs, Reference{Path: "spec.telemetryConfigRef", Kind: ReferenceMCPTelemetryConfig,
			Name: ref.Name, Consumer: ConsumerProxy, RunsWithout: true})
	}
	return refs
}

// ControlsAccess reports whether the proxy authenticates, authorizes or
// curates tools for this server: it then reads an access document.
func (s *MCPServerSpec) ControlsAccess() bool {
	return s.OIDCConfigRef != nil || s.AuthzConfig != nil || s.AuthzConfigRef != nil || s.ToolConfigRef != nil
}
