package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

func TestProxyRoleIsLeastPrivilege(t *testing.T) {
	read := []string{"get", "list", "watch"}
	base := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: read},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: read},
	}
	attach := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/attach"}, Verbs: []string{"create", "get"}}
	access := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: read, ResourceNames: []string{"mcp-osv-access"}}
	curated := func(s *v1beta1.MCPServer) { s.Spec.ToolConfigRef = &v1beta1.ToolConfigRef{Name: "filters"} }
	tests := []struct {
		name      string
		transport v1beta1.Transport
		mutate    func(*v1beta1.MCPServer)
		want      []rbacv1.PolicyRule
	}{
		{"a stdio proxy may also attach to pods", v1beta1.TransportStdio, nil, append(append([]rbacv1.PolicyRule(nil), base...), attach)},
		{"an sse proxy only reads pods and endpoints", v1beta1.TransportSSE, nil, base},
		{"a streamable-http proxy only reads pods and endpoints", v1beta1.TransportStreamableHTTP, nil, base},
		{"a proxy that controls access reads its own access ConfigMap, and no other", v1beta1.TransportStreamableHTTP, curated,
			append(append([]rbacv1.PolicyRule(nil), base...), access)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mutate := []func(*v1beta1.MCPServer){withTransport(tt.transport)}
			if tt.mutate != nil {
				mutate = append(mutate, tt.mutate)
			}
			role := buildProxyRole(newServer(mutate...))
			if d := cmp.Diff(tt.want, role.Rules); d != "" {
				t.Errorf("rules (-want +got):\n%s", d)
			}
			for _, r := range role.Rules {
				for _, v := range r.Verbs {
					if v == "update" || v == "patch" || v == "delete" || v == "deletecollection" ||
						(v == "create" && r.Resources[0] != "pods/attach") {
						t.Errorf("proxy role grants %q on %v", v, r.Resources)
					}
				}
			}
		})
	}
}

func TestProxyRoleBindingBindsTheProxyServiceAccount(t *testing.T) {
	want := &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Name: "osv", Namespace: "tools", Labels: proxyLabels, OwnerReferences: ownerRef},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "osv"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "osv", Namespace: "tools"}},
	}
	if d := cmp.Diff(want, buildProxyRoleBinding(newServer())); d != "" {
		t.Errorf("role binding (-want +got):\n%s", d)
	}
}

func TestServiceAccounts(t *testing.T) {
	proxySA := func(s *v1beta1.MCPServer) *corev1.ServiceAccount { return buildProxyServiceAccount(s) }
	mcpSA := func(s *v1beta1.MCPServer) *corev1.ServiceAccount { return buildMCPServiceAccount(s, nil) }
	tests := []struct {
		name   string
		build  func(*v1beta1.MCPServer) *corev1.ServiceAccount
		server *v1beta1.MCPServer
		want   *corev1.ServiceAccount
	}{
		{"the proxy's is named after the server", proxySA, newServer(), &corev1.ServiceAccount{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: metav1.ObjectMeta{Name: "osv", Namespace: "tools", Labels: proxyLabels, OwnerReferences: ownerRef},
		}},
		{"the proxy's carries the proxy deployment's image pull secrets", proxySA, newServer(withPullSecret("regcred")), &corev1.ServiceAccount{
			TypeMeta:         metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta:       metav1.ObjectMeta{Name: "osv", Namespace: "tools", Labels: proxyLabels, OwnerReferences: ownerRef},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
		}},
		{"the MCP server's is created as <name>-sa by default", mcpSA, newServer(), &corev1.ServiceAccount{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: metav1.ObjectMeta{Name: "osv-sa", Namespace: "tools", Labels: mcpLabels, OwnerReferences: ownerRef},
		}},
		{"the MCP server's carries the proxy's image pull secrets, as ToolHive's does", mcpSA, newServer(withPullSecret("regcred")), &corev1.ServiceAccount{
			TypeMeta:         metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta:       metav1.ObjectMeta{Name: "osv-sa", Namespace: "tools", Labels: mcpLabels, OwnerReferences: ownerRef},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
		}},
		{"the MCP server's is not created when spec.serviceAccount names one", mcpSA, newServer(func(s *v1beta1.MCPServer) {
			s.Spec.ServiceAccount = ptr.To("mine")
		}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, tt.build(tt.server)); d != "" {
				t.Errorf("service account (-want +got):\n%s", d)
			}
		})
	}
}

// withPullSecret sets resourceOverrides.proxyDeployment.imagePullSecrets.
func withPullSecret(name string) func(*v1beta1.MCPServer) {
	return func(s *v1beta1.MCPServer) {
		s.Spec.ResourceOverrides = &v1beta1.ResourceOverrides{ProxyDeployment: &v1beta1.ProxyDeploymentOverrides{
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: name}},
		}}
	}
}
