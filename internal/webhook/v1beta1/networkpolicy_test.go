package v1beta1

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

func TestValidateNetworkPolicy(t *testing.T) {
	from := func(peers ...networkingv1.NetworkPolicyPeer) func(*v1beta1.MCPServerSpec) {
		return func(s *v1beta1.MCPServerSpec) {
			s.NetworkPolicy = &v1beta1.NetworkPolicyConfig{Ingress: &v1beta1.NetworkPolicyIngress{From: peers}}
		}
	}
	allow := func(rules ...v1beta1.NetworkPolicyEgressRule) func(*v1beta1.MCPServerSpec) {
		return func(s *v1beta1.MCPServerSpec) {
			s.NetworkPolicy = &v1beta1.NetworkPolicyConfig{Egress: &v1beta1.NetworkPolicyEgress{Allow: rules}}
		}
	}
	block := func(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
		return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
	}
	port := func(p intstr.IntOrString, end *int32, proto corev1.Protocol) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Port: &p, EndPort: end, Protocol: &proto}
	}
	tests := []struct {
		name         string
		server       *v1beta1.MCPServer
		wantErrs     []string
		wantWarnings []string
	}{
		{name: "namespaces, pods and address ranges are valid", server: server(from(
			networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}},
			networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "role", Operator: "In", Values: []string{"agent"}}}}},
			block("10.0.0.0/8", "10.1.0.0/16"),
		))},
		{name: "a selector is checked as the API server checks it", server: server(from(
			networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "role", Operator: "In"}}}},
		)), wantErrs: []string{"spec.networkPolicy.ingress.from[0].podSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn': change the selector"}},
		{name: "a cidr must parse", server: server(from(block("10.0.0.0"))),
			wantErrs: []string{`spec.networkPolicy.ingress.from[0].ipBlock.cidr: Invalid value: "10.0.0.0": must be an address range in CIDR notation, such as 10.0.0.0/8, 203.0.113.7/32 or 2001:db8::/32`}},
		{name: "an exception must lie strictly inside its cidr", server: server(allow(v1beta1.NetworkPolicyEgressRule{
			To: []networkingv1.NetworkPolicyPeer{block("203.0.113.0/24", "198.51.100.0/25", "203.0.113.0/24", "2001:db8::/64")},
		})), wantErrs: []string{
			`spec.networkPolicy.egress.allow[0].to[0].ipBlock.except[0]: Invalid value: "198.51.100.0/25": must be a range strictly inside cidr 203.0.113.0/24: an exception outside it excludes nothing`,
			`spec.networkPolicy.egress.allow[0].to[0].ipBlock.except[1]: Invalid value: "203.0.113.0/24": must be a range strictly inside cidr 203.0.113.0/24: an exception outside it excludes nothing`,
			`spec.networkPolicy.egress.allow[0].to[0].ipBlock.except[2]: Invalid value: "2001:db8::/64": must be a range strictly inside cidr 203.0.113.0/24: an exception outside it excludes nothing`,
		}},
		{name: "ports: numbers, names and ranges", server: server(allow(v1beta1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{
			port(intstr.FromInt32(443), nil, corev1.ProtocolTCP),
			port(intstr.FromString("https"), nil, corev1.ProtocolTCP),
			port(intstr.FromInt32(30000), ptr.To[int32](32767), corev1.ProtocolUDP),
		}}))},
		{name: "ports: what the API server would refuse", server: server(allow(v1beta1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{
			port(intstr.FromInt32(70000), nil, corev1.ProtocolTCP),
			port(intstr.FromString("https"), ptr.To[int32](500), "ICMP"),
			port(intstr.FromInt32(8000), ptr.To[int32](7000), corev1.ProtocolTCP),
			{EndPort: ptr.To[int32](7000)},
		}})), wantErrs: []string{
			`spec.networkPolicy.egress.allow[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive`,
			`spec.networkPolicy.egress.allow[0].ports[1].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"`,
			`spec.networkPolicy.egress.allow[0].ports[1].endPort: Invalid value: 500: a range needs a port number, not a name: give port as a number, or remove endPort`,
			`spec.networkPolicy.egress.allow[0].ports[2].endPort: Invalid value: 7000: must be between port (8000) and 65535`,
			`spec.networkPolicy.egress.allow[0].ports[3].port: Required value: endPort ends a range that port starts: set port, or remove endPort`,
		}},
		{name: "rules written while turned off warn", server: server(func(s *v1beta1.MCPServerSpec) {
			s.NetworkPolicy = &v1beta1.NetworkPolicyConfig{Enabled: ptr.To(false), Egress: &v1beta1.NetworkPolicyEgress{}}
		}), wantWarnings: []string{networkPolicyOff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkValidateSpec(t, tt.server, tt.wantErrs, tt.wantWarnings) })
	}
}
