package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// MCPOIDCConfig source types.
const (
	OIDCTypeKubernetesServiceAccount = "kubernetesServiceAccount"
	OIDCTypeInline                   = "inline"
)

// DefaultServiceAccountIssuer is the issuer of the cluster's own
// ServiceAccount tokens unless the MCPOIDCConfig names another.
const DefaultServiceAccountIssuer = "https://kubernetes.default.svc"

// MCPOIDCConfigSpec is how a proxy authenticates its clients: with the
// cluster's own ServiceAccount tokens, or with an OIDC issuer.
// +kubebuilder:validation:XValidation:rule="self.type == 'kubernetesServiceAccount' ? has(self.kubernetesServiceAccount) : !has(self.kubernetesServiceAccount)",message="kubernetesServiceAccount must be set when type is 'kubernetesServiceAccount', and must not be set otherwise"
// +kubebuilder:validation:XValidation:rule="self.type == 'inline' ? has(self.inline) : !has(self.inline)",message="inline must be set when type is 'inline', and must not be set otherwise"
type MCPOIDCConfigSpec struct {
	// Type is kubernetesServiceAccount or inline.
	// +kubebuilder:validation:Enum=kubernetesServiceAccount;inline
	// +required
	Type string `json:"type"`
	// KubernetesServiceAccount verifies projected ServiceAccount tokens
	// against the cluster's own issuer.
	// +optional
	KubernetesServiceAccount *KubernetesServiceAccountOIDCConfig `json:"kubernetesServiceAccount,omitempty"`
	// Inline names an OIDC issuer.
	// +optional
	Inline *InlineOIDCSharedConfig `json:"inline,omitempty"`
}

// KubernetesServiceAccountOIDCConfig verifies the cluster's ServiceAccount
// tokens (service-account issuer discovery); no identity provider needed.
type KubernetesServiceAccountOIDCConfig struct {
	// ServiceAccount, when set, is the only ServiceAccount admitted.
	// +optional
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// Namespace, when set, is the only namespace whose ServiceAccounts are
	// admitted.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Issuer is the API server's --service-account-issuer.
	// +kubebuilder:default="https://kubernetes.default.svc"
	// +optional
	Issuer string `json:"issuer,omitempty"`
	// JWKSURL overrides the key set URL from discovery.
	// +optional
	JWKSURL string `json:"jwksUrl,omitempty"`
	// IntrospectionURL checks opaque tokens (RFC 7662).
	// +optional
	IntrospectionURL string `json:"introspectionUrl,omitempty"`
	// UseClusterAuth (default true) fetches discovery and keys through the
	// API server with the proxy pod's own ServiceAccount token and CA.
	// +optional
	UseClusterAuth *bool `json:"useClusterAuth"`
}

// InlineOIDCSharedConfig names an OIDC issuer and how to reach it.
type InlineOIDCSharedConfig struct {
	// Issuer is the expected "iss" of tokens and the discovery base URL.
	// It must be https unless insecureAllowHTTP is set.
	// +required
	// +kubebuilder:validation:MinLength=1
	Issuer string `json:"issuer"`
	// JWKSURL overrides the key set URL from discovery.
	// +optional
	JWKSURL string `json:"jwksUrl,omitempty"`
	// IntrospectionURL checks opaque tokens (RFC 7662) with clientId and
	// clientSecretRef.
	// +optional
	IntrospectionURL string `json:"introspectionUrl,omitempty"`
	// ClientID authenticates introspection requests.
	// +optional
	ClientID string `json:"clientId,omitempty"`
	// ClientSecretRef is the Secret key with the client secret, given to
	// the proxy container as an environment variable.
	// +optional
	ClientSecretRef *SecretKeyRef `json:"clientSecretRef,omitempty"`
	// CABundleRef is a ConfigMap key with PEM certificates the proxy trusts
	// for the issuer.
	// +optional
	CABundleRef *CABundleSource `json:"caBundleRef,omitempty"`
	// JWKSAuthTokenPath is not supported: admission refuses it.
	// +optional
	JWKSAuthTokenPath string `json:"jwksAuthTokenPath,omitempty"`
	// JWKSAllowPrivateIP permits discovery and keys on private addresses.
	// +kubebuilder:default=false
	// +optional
	JWKSAllowPrivateIP bool `json:"jwksAllowPrivateIP"`
	// ProtectedResourceAllowPrivateIP permits a private resource URL.
	// +kubebuilder:default=false
	// +optional
	ProtectedResourceAllowPrivateIP bool `json:"protectedResourceAllowPrivateIP"`
	// InsecureAllowHTTP permits an http:// issuer (local development only).
	// +kubebuilder:default=false
	// +optional
	InsecureAllowHTTP bool `json:"insecureAllowHTTP"`
}

// CABundleSource is where a CA bundle comes from.
type CABundleSource struct {
	// ConfigMapRef names the ConfigMap key (default ca.crt) with PEM
	// certificates.
	// +optional
	ConfigMapRef *ConfigMapKeySelector `json:"configMapRef,omitempty"`
}

// ConfigMapKeySelector names one key of a ConfigMap in the same namespace.
type ConfigMapKeySelector struct {
	// Name of the ConfigMap.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Key in the ConfigMap's data.
	// +optional
	Key string `json:"key,omitempty"`
}

// MCPOIDCConfig is an authentication setup that MCPServers reference through
// spec.oidcConfigRef.
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=mcpoidc,categories=toolhive
// +kubebuilder:printcolumn:name="Source",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=='Valid')].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MCPOIDCConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   MCPOIDCConfigSpec `json:"spec,omitempty"`
	Status ConfigStatus      `json:"status,omitempty"`
}

// MCPOIDCConfigList is a list of MCPOIDCConfigs.
// +kubebuilder:object:root=true
type MCPOIDCConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MCPOIDCConfig `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MCPOIDCConfig{}, &MCPOIDCConfigList{})
}

// DefaultOIDCCABundleKey is the ConfigMap key read for an issuer's CA
// bundle when caBundleRef.configMapRef names none.
const DefaultOIDCCABundleKey = "ca.crt"

// References lists the Secrets and ConfigMaps the config reads besides
// itself: the introspection client secret and the CA bundle. The servers
// that reference the config are requeued when one of them changes.
func (c *MCPOIDCConfig) References() []Reference {
	in := c.Spec.Inline
	if in == nil {
		return nil
	}
	var refs []Reference
	if sec := in.ClientSecretRef; sec != nil {
		refs = append(refs, Reference{Path: "spec.inline.clientSecretRef", Kind: ReferenceSecret,
			Name: sec.Name, Key: sec.Key, Consumer: ConsumerProxy})
	}
	if in.CABundleRef != nil && in.CABundleRef.ConfigMapRef != nil {
		sel := in.CABundleRef.ConfigMapRef
		r := Reference{Path: "spec.inline.caBundleRef.configMapRef", Kind: ReferenceConfigMap,
			Name: sel.Name, Key: sel.Key, Consumer: ConsumerProxy}
		if r.Key == "" {
			r.Key, r.KeyDefaulted = DefaultOIDCCABundleKey, true
		}
		refs = append(refs, r)
	}
	return refs
}
