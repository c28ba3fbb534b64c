package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func TestAccessConfigMap(t *testing.T) {
	curated := func(s *v1beta1.MCPServer) { s.Spec.ToolConfigRef = &v1beta1.ToolConfigRef{Name: "filters"} }
	tests := []struct {
		name   string
		server *v1beta1.MCPServer
		doc    *proxyconfig.Access
		want   *corev1.ConfigMap
	}{
		{"a server that controls no access gets none", newServer(), nil, nil},
		{"a server that curates tools gets the document its proxy watches", newServer(curated),
			&proxyconfig.Access{Tools: &proxyconfig.Tools{Filter: []string{"echo"}}},
			&corev1.ConfigMap{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{Name: "mcp-osv-access", Namespace: "tools", Labels: proxyLabels, OwnerReferences: ownerRef},
				Data:       map[string]string{"access.json": `{"tools":{"filter":["echo"]}}`},
			}},
		{"a closed document says why, for the proxy to refuse every request", newServer(curated),
			&proxyconfig.Access{Closed: `MCPToolConfig "filters" (spec.toolConfigRef) not found`},
			&corev1.ConfigMap{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{Name: "mcp-osv-access", Namespace: "tools", Labels: proxyLabels, OwnerReferences: ownerRef},
				Data:       map[string]string{"access.json": `{"closed":"MCPToolConfig \"filters\" (spec.toolConfigRef) not found"}`},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, buildAccessConfigMap(tt.server, tt.doc)); d != "" {
				t.Errorf("access ConfigMap (-want +got):\n%s", d)
			}
		})
	}
}
