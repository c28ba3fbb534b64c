package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

func TestProxyService(t *testing.T) {
	tests := []struct {
		name   string
		server *v1beta1.MCPServer
		want   *corev1.Service
	}{
		{"defaults to port 8080 with ClientIP affinity", newServer(), &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{Name: "mcp-osv-proxy", Namespace: "tools", Labels: proxyLabels, OwnerReferences: ownerRef},
			Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, Selector: proxySelector, SessionAffinity: corev1.ServiceAffinityClientIP,
				Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 8080, TargetPort: intstr.FromString("http")}},
			},
		}},
		{"follows proxyPort, sessionAffinity and the service overrides", newServer(func(s *v1beta1.MCPServer) {
			s.Spec.ProxyPort = 9090
			s.Spec.SessionAffinity = corev1.ServiceAffinityNone
			s.Spec.ResourceOverrides = &v1beta1.ResourceOverrides{ProxyService: &v1beta1.ResourceMetadataOverrides{
				Labels:      map[string]string{"team": "a", "app.kubernetes.io/instance": "hijack"},
				Annotations: map[string]string{"lb": "internal"},
			}}
		}), &corev1.Service{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{Name: "mcp-osv-proxy", Namespace: "tools", OwnerReferences: ownerRef,
				Labels: map[string]string{
					"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "osv", "team": "a",
					"app.kubernetes.io/component": "proxy", "app.kubernetes.io/managed-by": "switchboard",
				},
				Annotations: map[string]string{"lb": "internal"},
			},
			Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeClusterIP, Selector: proxySelector, SessionAffinity: corev1.ServiceAffinityNone,
				Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 9090, TargetPort: intstr.FromString("http")}},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, buildProxyService(tt.server)); d != "" {
				t.Errorf("proxy service (-want +got):\n%s", d)
			}
		})
	}
}

func TestHeadlessService(t *testing.T) {
	headless := func(port int32) *corev1.Service {
		return &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{Name: "mcp-osv-headless", Namespace: "tools", Labels: mcpLabels, OwnerReferences: ownerRef},
			Spec: corev1.ServiceSpec{
				ClusterIP: "None", Selector: mcpSelector,
				Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: port, TargetPort: intstr.FromString("http")}},
			},
		}
	}
	tests := []struct {
		name   string
		server *v1beta1.MCPServer
		want   *corev1.Service
	}{
		{"none for a stdio server", newServer(), nil},
		{"on mcpPort for streamable-http", newServer(withTransport(v1beta1.TransportStreamableHTTP), func(s *v1beta1.MCPServer) { s.Spec.MCPPort = 3000 }), headless(3000)},
		{"on the deprecated targetPort for sse", newServer(withTransport(v1beta1.TransportSSE), func(s *v1beta1.MCPServer) { s.Spec.TargetPort = 3001 }), headless(3001)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, buildHeadlessService(tt.server)); d != "" {
				t.Errorf("headless service (-want +got):\n%s", d)
			}
		})
	}
}
