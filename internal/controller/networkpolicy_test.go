package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

func withNetworkPolicy(np v1beta1.NetworkPolicyConfig) func(*v1beta1.MCPServer) {
	return func(s *v1beta1.MCPServer) { s.Spec.NetworkPolicy = &np }
}

var (
	tcp, udp = corev1.ProtocolTCP, corev1.ProtocolUDP
	npMeta   = metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}
	// teamA is a client namespace a user lists.
	teamA = networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}
	// operatorInToolhiveSystem is the peer the operator adds for itself.
	operatorInToolhiveSystem = networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "toolhive-system"}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "toolhive-operator"}},
	}
	dnsPorts = []networkingv1.NetworkPolicyPort{
		{Protocol: &udp, Port: ptr.To(intstr.FromInt32(53))},
		{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(53))},
	}
	inToolhiveSystem = NetworkPolicyOptions{OperatorNamespace: "toolhive-system"}
)

func TestProxyNetworkPolicy(t *testing.T) {
	proxyPolicy := func(rule networkingv1.NetworkPolicyIngressRule) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{
			TypeMeta:   npMeta,
			ObjectMeta: metav1.ObjectMeta{Name: "mcp-osv-proxy", Namespace: "tools", Labels: proxyLabels, OwnerReferences: ownerRef},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: proxySelector},
				PolicyTypes: []networkingv1.PolicyType{"Ingress"},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{rule},
			},
		}
	}
	tests := []struct {
		name    string
		server  *v1beta1.MCPServer
		options NetworkPolicyOptions
		want    *networkingv1.NetworkPolicy
	}{
		{name: "none without spec.networkPolicy", server: newServer(), options: inToolhiveSystem},
		{name: "none when turned off, even where the operator gives them by default",
			server:  newServer(withNetworkPolicy(v1beta1.NetworkPolicyConfig{Enabled: ptr.To(false)})),
			options: NetworkPolicyOptions{ByDefault: true, OperatorNamespace: "toolhive-system"}},
		{name: "the operator's default admits anyone on proxyPort", server: newServer(),
			options: NetworkPolicyOptions{ByDefault: true, OperatorNamespace: "toolhive-system"},
			want: proxyPolicy(networkingv1.NetworkPolicyIngressRule{
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(8080))}},
			})},
		{name: "an empty section turns it on, admitting anyone",
			server:  newServer(withNetworkPolicy(v1beta1.NetworkPolicyConfig{}), func(s *v1beta1.MCPServer) { s.Spec.ProxyPort = 9090 }),
			options: inToolhiveSystem,
			want: proxyPolicy(networkingv1.NetworkPolicyIngressRule{
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(9090))}},
			})},
		{name: "listed clients are admitted, and the operator beside them",
			server:  newServer(withNetworkPolicy(v1beta1.NetworkPolicyConfig{Ingress: &v1beta1.NetworkPolicyIngress{From: []networkingv1.NetworkPolicyPeer{teamA}}})),
			options: inToolhiveSystem,
			want: proxyPolicy(networkingv1.NetworkPolicyIngressRule{
				From:  []networkingv1.NetworkPolicyPeer{teamA, operatorInToolhiveSystem},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(8080))}},
			})},
		{name: "an operator of unknown namespace is admitted from any namespace",
			server: newServer(withNetworkPolicy(v1beta1.NetworkPolicyConfig{Ingress: &v1beta1.NetworkPolicyIngress{From: []networkingv1.NetworkPolicyPeer{teamA}}})),
			want: proxyPolicy(networkingv1.NetworkPolicyIngressRule{
				From: []networkingv1.NetworkPolicyPeer{teamA, {
					NamespaceSelector: &metav1.LabelSelector{},
					PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "toolhive-operator"}},
				}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(8080))}},
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, buildProxyNetworkPolicy(tt.server, tt.options)); d != "" {
				t.Errorf("proxy NetworkPolicy (-want +got):\n%s", d)
			}
		})
	}
}

func TestBackendNetworkPolicy(t *testing.T) {
	backendPolicy := func(spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
		spec.PodSelector = metav1.LabelSelector{MatchLabels: mcpSelector}
		return &networkingv1.NetworkPolicy{
			TypeMeta:   npMeta,
			ObjectMeta: metav1.ObjectMeta{Name: "mcp-osv-backend", Namespace: "tools", Labels: mcpLabels, OwnerReferences: ownerRef},
			Spec:       spec,
		}
	}
	fromProxyOn := func(port int32) []networkingv1.NetworkPolicyIngressRule {
		return []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: proxySelector}}},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(port))}},
		}}
	}
	https := v1beta1.NetworkPolicyEgressRule{
		To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "203.0.113.0/24", Except: []string{"203.0.113.7/32"}}}},
		Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(443))}},
	}
	tests := []struct {
		name    string
		server  *v1beta1.MCPServer
		options NetworkPolicyOptions
		want    *networkingv1.NetworkPolicy
	}{
		{name: "none without spec.networkPolicy", server: newServer()},
		{name: "a stdio server's pod accepts no connection, and connects anywhere",
			server: newServer(withNetworkPolicy(v1beta1.NetworkPolicyConfig{})),
			want:   backendPolicy(networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress"}})},
		{name: "an HTTP server's pods accept only its proxy pods, on mcpPort",
			server:  newServer(withTransport(v1beta1.TransportStreamableHTTP), func(s *v1beta1.MCPServer) { s.Spec.MCPPort = 3000 }),
			options: NetworkPolicyOptions{ByDefault: true},
			want: backendPolicy(networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{"Ingress"},
				Ingress:     fromProxyOn(3000),
			})},
		{name: "an empty egress allows DNS only",
			server: newServer(withTransport(v1beta1.TransportSSE), withNetworkPolicy(v1beta1.NetworkPolicyConfig{Egress: &v1beta1.NetworkPolicyEgress{}})),
			want: backendPolicy(networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{"Ingress", "Egress"},
				Ingress:     fromProxyOn(8080),
				Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: dnsPorts}},
			})},
		{name: "egress.allow follows the DNS rule, as written",
			server: newServer(withNetworkPolicy(v1beta1.NetworkPolicyConfig{Egress: &v1beta1.NetworkPolicyEgress{Allow: []v1beta1.NetworkPolicyEgressRule{https}}})),
			want: backendPolicy(networkingv1.NetworkPolicySpec{
				PolicyTypes: []networkingv1.PolicyType{"Ingress", "Egress"},
				Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: dnsPorts}, {
					To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "203.0.113.0/24", Except: []string{"203.0.113.7/32"}}}},
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(443))}},
				}},
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, buildBackendNetworkPolicy(tt.server, tt.options)); d != "" {
				t.Errorf("backend NetworkPolicy (-want +got):\n%s", d)
			}
		})
	}
}

func TestNetworkPolicyCondition(t *testing.T) {
	tests := []struct {
		name   string
		server *v1beta1.MCPServer
		o      observation
		want   *metav1.Condition
	}{
		{name: "absent without NetworkPolicies", server: newServer(), o: readyWorkloads()},
		{name: "says what a stdio server's policies allow", server: newServer(withNetworkPolicy(v1beta1.NetworkPolicyConfig{})),
			o: func() observation { o := readyWorkloads(); o.networkPolicies = true; return o }(),
			want: &metav1.Condition{Type: "NetworkPolicyApplied", Status: metav1.ConditionTrue, Reason: "NetworkPoliciesApplied", ObservedGeneration: 3,
				Message: "NetworkPolicy mcp-osv-proxy: the proxy accepts any client on port 8080; NetworkPolicy mcp-osv-backend: " +
					"the MCP server accepts no connection (the proxy attaches to a stdio server through the API server) and connects anywhere. " +
					"They take effect only where the cluster's network plugin enforces NetworkPolicies"}},
		{name: "says what an HTTP server's listed clients and allow-list let through",
			server: newServer(withTransport(v1beta1.TransportStreamableHTTP), withNetworkPolicy(v1beta1.NetworkPolicyConfig{
				Ingress: &v1beta1.NetworkPolicyIngress{From: []networkingv1.NetworkPolicyPeer{teamA}},
				Egress:  &v1beta1.NetworkPolicyEgress{},
			})),
			o: func() observation { o := readyWorkloads(); o.networkPolicies = true; return o }(),
			want: &metav1.Condition{Type: "NetworkPolicyApplied", Status: metav1.ConditionTrue, Reason: "NetworkPoliciesApplied", ObservedGeneration: 3,
				Message: "NetworkPolicy mcp-osv-proxy: the proxy accepts the clients spec.networkPolicy.ingress.from lists, and the operator, on port 8080; " +
					"NetworkPolicy mcp-osv-backend: the MCP server accepts only this server's proxy pods on port 8080 and connects only to DNS " +
					"and what spec.networkPolicy.egress.allow lists. They take effect only where the cluster's network plugin enforces NetworkPolicies"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := meta.FindStatusCondition(computeStatus(tt.server, tt.o).Conditions, v1beta1.ConditionNetworkPolicyApplied)
			if got != nil {
				got.LastTransitionTime = metav1.Time{}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("NetworkPolicyApplied (-want +got):\n%s", d)
			}
		})
	}
}
