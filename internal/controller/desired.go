package controller

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// desiredObjects builds every child of s, in the order they are applied:
// identities first, then Services and NetworkPolicies, then the workloads
// that use them, so that no pod of a server that asks for NetworkPolicies
// starts without them.
func desiredObjects(s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec, proxyImage string, refs resolvedRefs, np NetworkPolicyOptions) []client.Object {
	objs := []client.Object{buildProxyServiceAccount(s), buildProxyRole(s), buildProxyRoleBinding(s)}
	if sa := buildMCPServiceAccount(s, tmpl); sa != nil {
		objs = append(objs, sa)
	}
	if cm := buildAccessConfigMap(s, refs.access); cm != nil {
		objs = append(objs, cm)
	}
	objs = append(objs, buildProxyService(s))
	if svc := buildHeadlessService(s); svc != nil {
		objs = append(objs, svc)
	}
	if pol := buildProxyNetworkPolicy(s, np); pol != nil {
		objs = append(objs, pol, buildBackendNetworkPolicy(s, np))
	}
	return append(objs,
		buildBackendStatefulSet(s, tmpl, proxyImage, refs.backendSecretsHash),
		buildProxyDeployment(s, tmpl, proxyImage, refs),
	)
}

// unwantedObjects are the optional children the spec no longer asks for (a
// headless Service after a switch to stdio, the operator's MCP ServiceAccount
// once the user brings one, the NetworkPolicies once turned off), to be
// deleted if the operator created them.
func unwantedObjects(s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec, np NetworkPolicyOptions) []client.Object {
	var out []client.Object
	if buildHeadlessService(s) == nil {
		out = append(out, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: naming.HeadlessServiceName(s.Name)}})
	}
	if !s.Spec.ControlsAccess() {
		out = append(out, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: naming.AccessConfigMapName(s.Name)}})
	}
	if buildMCPServiceAccount(s, tmpl) == nil {
		out = append(out, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: naming.MCPServiceAccountName(s.Name)}})
	}
	if buildProxyNetworkPolicy(s, np) == nil {
		out = append(out,
			&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: naming.ProxyNetworkPolicyName(s.Name)}},
			&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: naming.BackendNetworkPolicyName(s.Name)}},
		)
	}
	return out
}
