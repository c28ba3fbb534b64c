package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MCPToolConfigSpec filters and renames the tools an MCP server offers.
type MCPToolConfigSpec struct {
	// ToolsFilter lists the tools clients may see and call; empty allows all.
	// +optional
	// +listType=set
	ToolsFilter []string `json:"toolsFilter,omitempty"`
	// ToolsOverride renames or re-describes tools, keyed by the server's own
	// tool name.
	// +optional
	ToolsOverride map[string]ToolOverride `json:"toolsOverride,omitempty"`
}

// ToolOverride is what clients see of one tool instead of what the server
// says.
type ToolOverride struct {
	// Name clients see instead of the server's tool name; the tool is then
	// called by this name only.
	// +optional
	Name string `json:"name,omitempty"`
	// Description clients see instead of the server's description.
	// +optional
	Description string `json:"description,omitempty"`
	// Annotations override the server's tool annotations field by field.
	// +optional
	Annotations *ToolAnnotationsOverride `json:"annotations,omitempty"`
}

// ToolAnnotationsOverride are MCP tool annotations; a field that is set
// replaces the server's.
type ToolAnnotationsOverride struct {
	// +optional
	Title *string `json:"title,omitempty"`
	// +optional
	ReadOnlyHint *bool `json:"readOnlyHint,omitempty"`
	// +optional
	DestructiveHint *bool `json:"destructiveHint,omitempty"`
	// +optional
	IdempotentHint *bool `json:"idempotentHint,omitempty"`
	// +optional
	OpenWorldHint *bool `json:"openWorldHint,omitempty"`
}

// MCPToolConfig is a tool filter and override set that MCPServers reference
// through spec.toolConfigRef.
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tc;toolconfig,categories=toolhive
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=='Valid')].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MCPToolConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the tool configuration.
	// +optional
	Spec   MCPToolConfigSpec `json:"spec,omitempty"`
	Status ConfigStatus      `json:"status,omitempty"`
}

// MCPToolConfigList is a list of MCPToolConfigs.
// +kubebuilder:object:root=true
type MCPToolConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MCPToolConfig `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MCPToolConfig{}, &MCPToolConfigList{})
}
