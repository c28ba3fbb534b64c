package controller

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// proxyRules is the least privilege the proxy needs: it finds and watches
// backend pods and their endpoints, reads logs, attaches to a stdio pod, and
// watches its own access document (that one ConfigMap only). It creates
// nothing: every object is the operator's (design §3).
func proxyRules(s *v1beta1.MCPServer) []rbacv1.PolicyRule {
	t := s.Spec.Transport
	read := []string{"get", "list", "watch"}
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: read},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: read},
	}
	if t == v1beta1.TransportStdio {
		rules = append(rules, rbacv1.PolicyRule{
			APIGroups: []string{""}, Resources: []string{"pods/attach"}, Verbs: []string{"create", "get"},
		})
	}
	if s.Spec.ControlsAccess() {
		rules = append(rules, rbacv1.PolicyRule{
			APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: read,
			ResourceNames: []string{naming.AccessConfigMapName(s.Name)},
		})
	}
	return rules
}

// buildProxyServiceAccount is the proxy's identity. It carries the proxy's
// image pull secrets, as ToolHive documents.
func buildProxyServiceAccount(s *v1beta1.MCPServer) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:         typeMeta("v1", "ServiceAccount"),
		ObjectMeta:       objectMeta(s, naming.ProxyServiceAccountName(s.Name), naming.ComponentProxy),
		ImagePullSecrets: proxyOverrides(s).ImagePullSecrets,
	}
}

func buildProxyRole(s *v1beta1.MCPServer) *rbacv1.Role {
	return &rbacv1.Role{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "Role"),
		ObjectMeta: objectMeta(s, naming.ProxyServiceAccountName(s.Name), naming.ComponentProxy),
		Rules:      proxyRules(s),
	}
}

func buildProxyRoleBinding(s *v1beta1.MCPServer) *rbacv1.RoleBinding {
	name := naming.ProxyServiceAccountName(s.Name)
	return &rbacv1.RoleBinding{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"),
		ObjectMeta: objectMeta(s, name, naming.ComponentProxy),
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: s.Namespace}},
	}
}

// buildMCPServiceAccount is the MCP server pod's identity; nil when the user
// brings their own through spec.serviceAccount or the pod template. Like
// ToolHive's, it carries the proxy's image pull secrets too, so a manifest
// that pulls a private MCP image with them works alike.
func buildMCPServiceAccount(s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec) *corev1.ServiceAccount {
	if mcpServiceAccount(s, tmpl) != naming.MCPServiceAccountName(s.Name) {
		return nil
	}
	return &corev1.ServiceAccount{
		TypeMeta:         typeMeta("v1", "ServiceAccount"),
		ObjectMeta:       objectMeta(s, naming.MCPServiceAccountName(s.Name), naming.ComponentMCP),
		ImagePullSecrets: proxyOverrides(s).ImagePullSecrets,
	}
}

// mcpServiceAccount is the ServiceAccount the MCP pod runs as: spec first,
// then the pod template's, then the one the operator creates.
func mcpServiceAccount(s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec) string {
	if s.Spec.ServiceAccount != nil && *s.Spec.ServiceAccount != "" {
		return *s.Spec.ServiceAccount
	}
	if tmpl != nil && tmpl.Spec.ServiceAccountName != "" {
		return tmpl.Spec.ServiceAccountName
	}
	return naming.MCPServiceAccountName(s.Name)
}
