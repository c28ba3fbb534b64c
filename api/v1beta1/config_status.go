package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ConditionValid is the one condition of a config kind (MCPOIDCConfig,
// MCPAuthzConfig, MCPToolConfig): True when the proxy can enforce it.
const ConditionValid = "Valid"

// Reasons of the Valid condition.
const (
	ReasonConfigValid   = "ConfigValid"
	ReasonConfigInvalid = "ConfigInvalid"
)

// ConfigStatus is the status of a config kind that MCPServers reference.
type ConfigStatus struct {
	// Conditions: Valid.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// ConfigHash is a hash of the spec, which changes when the spec does.
	// +optional
	ConfigHash string `json:"configHash,omitempty"`
	// ReferencingServers are the MCPServers in the namespace that use it.
	// +optional
	// +listType=set
	ReferencingServers []string `json:"referencingServers,omitempty"`
}
