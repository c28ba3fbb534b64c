package controller

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// NetworkPolicyOptions are the operator's settings for the NetworkPolicies
// of every server.
type NetworkPolicyOptions struct {
	// ByDefault gives NetworkPolicies to the servers whose spec does not
	// say (no spec.networkPolicy).
	ByDefault bool
	// OperatorNamespace is where the operator runs. The proxy's policy
	// always admits the operator's pods, which read the proxy's health on
	// proxyPort; empty admits them from any namespace.
	OperatorNamespace string
}

// buildProxyNetworkPolicy lets the clients spec.networkPolicy.ingress.from
// lists (anyone when it lists none) and the operator connect to the proxy
// pods on proxyPort, and nothing else. It leaves the proxy's egress open:
// the proxy must reach the API server (the attach of a stdio server, the
// EndpointSlices), the backend pods, Redis, OTLP collectors and OIDC
// issuers, most of them named by host name, which a NetworkPolicy cannot
// express; and the proxy runs the operator's image, not the user's code.
// Nil when the server has no NetworkPolicies.
func buildProxyNetworkPolicy(s *v1beta1.MCPServer, o NetworkPolicyOptions) *networkingv1.NetworkPolicy {
	if !s.Spec.NetworkPolicyEnabled(o.ByDefault) {
		return nil
	}
	rule := networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{tcpPort(s.Spec.ProxyPort)}}
	if np := s.Spec.NetworkPolicy; np != nil && np.Ingress != nil && len(np.Ingress.From) > 0 {
		rule.From = append(slices.Clone(np.Ingress.From), operatorPeer(o.OperatorNamespace))
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   typeMeta("networking.k8s.io/v1", "NetworkPolicy"),
		ObjectMeta: objectMeta(s, naming.ProxyNetworkPolicyName(s.Name), naming.ComponentProxy),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: naming.SelectorLabels(s.Name, naming.ComponentProxy)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{rule},
		},
	}
}

// buildBackendNetworkPolicy lets only this server's proxy pods connect to
// the MCP server pods, on mcpPort, and, when spec.networkPolicy.egress is
// given, lets those pods connect only to DNS and what egress.allow lists.
// Answers to the proxy need no egress rule: NetworkPolicies allow the
// replies of an allowed connection. Nil when the server has no
// NetworkPolicies.
func buildBackendNetworkPolicy(s *v1beta1.MCPServer, o NetworkPolicyOptions) *networkingv1.NetworkPolicy {
	if !s.Spec.NetworkPolicyEnabled(o.ByDefault) {
		return nil
	}
	spec := networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: naming.SelectorLabels(s.Name, naming.ComponentMCP)},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
	}
	// A stdio server is reached through the API server's attach (API
	// server → kubelet → container runtime), never over the pod network:
	// its pod gets no ingress rule, so it accepts no connection at all.
	if s.Spec.Transport != v1beta1.TransportStdio {
		spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: naming.SelectorLabels(s.Name, naming.ComponentProxy)}}},
			Ports: []networkingv1.NetworkPolicyPort{tcpPort(s.Spec.MCPPort)},
		}}
	}
	if np := s.Spec.NetworkPolicy; np != nil && np.Egress != nil {
		spec.PolicyTypes = append(spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		spec.Egress = []networkingv1.NetworkPolicyEgressRule{dnsRule()}
		for _, r := range np.Egress.Allow {
			spec.Egress = append(spec.Egress, networkingv1.NetworkPolicyEgressRule{Ports: r.Ports, To: r.To})
		}
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   typeMeta("networking.k8s.io/v1", "NetworkPolicy"),
		ObjectMeta: objectMeta(s, naming.BackendNetworkPolicyName(s.Name), naming.ComponentMCP),
		Spec:       spec,
	}
}

// operatorPeer selects the operator's pods.
func operatorPeer(namespace string) networkingv1.NetworkPolicyPeer {
	ns := &metav1.LabelSelector{}
	if namespace != "" {
		ns.MatchLabels = map[string]string{naming.NamespaceNameLabel: namespace}
	}
	return networkingv1.NetworkPolicyPeer{
		NamespaceSelector: ns,
		PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{naming.LabelName: naming.OperatorAppName}},
	}
}

// dnsRule allows DNS to any address: the cluster's DNS Service, a
// node-local cache on a link-local address or an upstream resolver alike.
// A rule naming the kube-dns pods would break the last two.
func dnsRule() networkingv1.NetworkPolicyEgressRule {
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	port := intstr.FromInt32(53)
	return networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{
		{Protocol: &udp, Port: &port},
		{Protocol: &tcp, Port: &port},
	}}
}

func tcpPort(port int32) networkingv1.NetworkPolicyPort {
	tcp := corev1.ProtocolTCP
	p := intstr.FromInt32(port)
	return networkingv1.NetworkPolicyPort{Protocol: &tcp, Port: &p}
}

// networkPolicyMessage is the NetworkPolicyApplied condition's message: the
// policies and what they allow, in words.
func networkPolicyMessage(s *v1beta1.MCPServer) string {
	from := "any client"
	if np := s.Spec.NetworkPolicy; np != nil && np.Ingress != nil && len(np.Ingress.From) > 0 {
		from = "the clients spec.networkPolicy.ingress.from lists, and the operator,"
	}
	backend := fmt.Sprintf("only this server's proxy pods on port %d", s.Spec.MCPPort)
	if s.Spec.Transport == v1beta1.TransportStdio {
		backend = "no connection (the proxy attaches to a stdio server through the API server)"
	}
	egress := "connects anywhere"
	if np := s.Spec.NetworkPolicy; np != nil && np.Egress != nil {
		egress = "connects only to DNS and what spec.networkPolicy.egress.allow lists"
	}
	return fmt.Sprintf("NetworkPolicy %s: the proxy accepts %s on port %d; NetworkPolicy %s: the MCP server accepts %s and %s. "+
		"They take effect only where the cluster's network plugin enforces NetworkPolicies",
		naming.ProxyNetworkPolicyName(s.Name), from, s.Spec.ProxyPort, naming.BackendNetworkPolicyName(s.Name), backend, egress)
}
