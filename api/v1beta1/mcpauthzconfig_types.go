package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// AuthzTypeCedar is the one authorizer backend the proxy enforces.
const AuthzTypeCedar = "cedarv1"

// MCPAuthzConfigSpec is an authorization backend and its configuration.
type MCPAuthzConfigSpec struct {
	// Type of the authorizer: cedarv1 (ToolHive's httpv1 is refused at
	// admission: not supported yet).
	// +required
	// +kubebuilder:validation:MinLength=1
	Type string `json:"type"`
	// Config of the authorizer. For cedarv1: policies (list of Cedar
	// policies), entities_json, group_claim_name, role_claim_name,
	// group_entity_type.
	// +required
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Config runtime.RawExtension `json:"config"`
}

// MCPAuthzConfig is a Cedar policy set that MCPServers reference through
// spec.authzConfigRef.
// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=authzcfg,categories=toolhive
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=='Valid')].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type MCPAuthzConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   MCPAuthzConfigSpec `json:"spec,omitempty"`
	Status ConfigStatus       `json:"status,omitempty"`
}

// MCPAuthzConfigList is a list of MCPAuthzConfigs.
// +kubebuilder:object:root=true
type MCPAuthzConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MCPAuthzConfig `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MCPAuthzConfig{}, &MCPAuthzConfigList{})
}
