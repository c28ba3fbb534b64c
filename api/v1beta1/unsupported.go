package v1beta1

// The references below are ToolHive fields whose kinds Switchboard does not
// serve yet. They are part of the schema so that a ToolHive manifest is
// understood rather than pruned, and admission refuses them with a message
// that says so: a reference we cannot follow must not be accepted and
// ignored (it may be an authentication setting).

// ExternalAuthConfigRef names an MCPExternalAuthConfig (not supported yet).
type ExternalAuthConfigRef struct {
	// Name of the MCPExternalAuthConfig.
	// +kubebuilder:validation:Required
	Name string `json:"name"`
}

// WebhookConfigRef names an MCPWebhookConfig (not supported yet).
type WebhookConfigRef struct {
	// Name of the MCPWebhookConfig.
	// +kubebuilder:validation:Required
	Name string `json:"name"`
}

// AuthServerRef names the configuration of an embedded OAuth 2.0
// authorization server (not supported yet).
type AuthServerRef struct {
	// Kind of the referenced resource.
	// +kubebuilder:validation:Enum=MCPExternalAuthConfig
	// +kubebuilder:default=MCPExternalAuthConfig
	Kind string `json:"kind"`
	// Name of the referenced resource.
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// MCPGroupRef names the MCPGroup a server belongs to (not supported yet).
type MCPGroupRef struct {
	// Name of the MCPGroup.
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// PermissionProfileRef is deprecated: ToolHive's operator does not enforce
// permission profiles either. Accepted with a warning; it has no effect.
type PermissionProfileRef struct {
	// Type of the profile reference: builtin or configmap.
	// +kubebuilder:validation:Enum=builtin;configmap
	// +kubebuilder:default=builtin
	Type string `json:"type"`
	// Name of the profile.
	// +kubebuilder:validation:Required
	Name string `json:"name"`
	// Key in the ConfigMap.
	// +optional
	Key string `json:"key,omitempty"`
}
