package v1beta1

import networkingv1 "k8s.io/api/networking/v1"

// NetworkPolicyConfig has the operator create NetworkPolicies for the
// server's pods (a Switchboard extension: ToolHive creates none). The MCP
// server pods then accept connections only from this server's proxy pods,
// on mcpPort (a stdio server's pod accepts none: the proxy reaches it
// through the API server's attach, not the pod network); the proxy pods
// accept connections on proxyPort from the clients ingress.from lists
// (anyone when it is empty); and, when egress is given, the MCP server may
// connect only to what egress.allow lists and to DNS. The proxy's own
// egress stays open: it must reach the API server, Redis, OTLP collectors
// and OIDC issuers, which the user names by host name, and a NetworkPolicy
// can only name addresses. NetworkPolicies take effect only where the
// cluster's network plugin enforces them.
type NetworkPolicyConfig struct {
	// Enabled creates the NetworkPolicies (true, the default once
	// networkPolicy is written) or removes them (false, also where the
	// operator creates them for servers that do not say).
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// Ingress says who may connect to the proxy.
	// +optional
	Ingress *NetworkPolicyIngress `json:"ingress,omitempty"`
	// Egress, when given, limits where the MCP server pod may connect:
	// to what allow lists, and DNS. Absent: anywhere. `egress: {}` allows
	// DNS only, which is what permissionProfile's network rules promised
	// and never enforced.
	// +optional
	Egress *NetworkPolicyEgress `json:"egress,omitempty"`
}

// NetworkPolicyIngress lists who may connect to the proxy.
type NetworkPolicyIngress struct {
	// From lists the clients that may connect to the proxy on proxyPort, as
	// a NetworkPolicy's ingress rule does: pods (podSelector, in the
	// server's namespace), namespaces (namespaceSelector), pods in those
	// namespaces (both), or address ranges (ipBlock). Empty: any client.
	// The operator itself (which reads the proxy's health) is always
	// allowed; add your Prometheus when it scrapes the proxy's /metrics.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(p, has(p.ipBlock) != (has(p.podSelector) || has(p.namespaceSelector)))",message="each entry is either an ipBlock or a podSelector and/or namespaceSelector: split an entry that has both, and give one to an entry that has neither"
	// +optional
	From []networkingv1.NetworkPolicyPeer `json:"from,omitempty"`
}

// NetworkPolicyEgress lists where the MCP server pod may connect.
type NetworkPolicyEgress struct {
	// Allow lists the destinations the MCP server may connect to, as the
	// egress rules of a NetworkPolicy. DNS (port 53, UDP and TCP, to any
	// address, so that node-local DNS caches work too) is always allowed.
	// Empty: DNS only.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Allow []NetworkPolicyEgressRule `json:"allow,omitempty"`
}

// NetworkPolicyEgressRule is a NetworkPolicy egress rule, with the same
// fields; its lists are bounded so that the API server can afford to check
// each peer.
type NetworkPolicyEgressRule struct {
	// Ports the MCP server may connect to. Empty: every port.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Ports []networkingv1.NetworkPolicyPort `json:"ports,omitempty"`
	// To lists the destinations: address ranges (ipBlock), pods
	// (podSelector, in the server's namespace), namespaces
	// (namespaceSelector) or pods in those namespaces (both). Empty:
	// anywhere.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:XValidation:rule="self.all(p, has(p.ipBlock) != (has(p.podSelector) || has(p.namespaceSelector)))",message="each entry is either an ipBlock or a podSelector and/or namespaceSelector: split an entry that has both, and give one to an entry that has neither"
	// +optional
	To []networkingv1.NetworkPolicyPeer `json:"to,omitempty"`
}

// NetworkPolicyEnabled reports whether the server's pods get
// NetworkPolicies: as spec.networkPolicy.enabled says (true once the
// section is written), else as the operator's default
// (--network-policy-default).
func (s *MCPServerSpec) NetworkPolicyEnabled(byDefault bool) bool {
	if s.NetworkPolicy == nil {
		return byDefault
	}
	return s.NetworkPolicy.Enabled == nil || *s.NetworkPolicy.Enabled
}
