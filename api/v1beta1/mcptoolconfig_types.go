package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MCPToolConfigSpec filters and renames the tools an MCP server offers.
type MCPToolConfigSpec struct {
	// ToolsFilter lists the tools clients may see and call; empty allows all.
	// +optional
	ToolsFilter []string `json:"toolsFilter,omitempty"`
	// ToolsOverride renames or re-describes tools, keyed by the server's own
	// tool name.
	// +optional
	ToolsOverride map[string]ToolOverride `json:"toolsOverride,omitempty"`
}

// ToolOverride is the name and description clients see for one tool.
type ToolOverride struct {
	// Name clients see instead of the server's tool name.
	// +optional
	Name string `json:"name,omitempty"`
	// Description clients see instead of the server's description.
	// +optional
	Description string `json:"description,omitempty"`
}

// MCPToolConfig is a tool filter and override set that MCPServers reference
// through spec.toolConfigRef.
// +kubebuilder:object:root=true
// +kubebuilder:resource:categories=toolhive
type MCPToolConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the tool configuration.
	// +optional
	Spec MCPToolConfigSpec `json:"spec,omitempty"`
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
