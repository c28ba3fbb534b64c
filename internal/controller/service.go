package controller

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// buildProxyService is the Service MCP clients connect to.
func buildProxyService(s *v1beta1.MCPServer) *corev1.Service {
	meta := objectMeta(s, naming.ProxyServiceName(s.Name), naming.ComponentProxy)
	if ov := s.Spec.ResourceOverrides; ov != nil && ov.ProxyService != nil {
		meta.Labels = naming.Merge(ov.ProxyService.Labels, meta.Labels)
		meta.Annotations = ov.ProxyService.Annotations
	}
	return &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: meta,
		Spec: corev1.ServiceSpec{
			Type:            corev1.ServiceTypeClusterIP,
			Selector:        naming.SelectorLabels(s.Name, naming.ComponentProxy),
			SessionAffinity: s.Spec.SessionAffinity,
			Ports:           []corev1.ServicePort{httpServicePort(s.Spec.ProxyPort)},
		},
	}
}

// buildHeadlessService governs the backend StatefulSet of an sse or
// streamable-http server; the proxy routes to its pods through its
// EndpointSlices. A stdio server has none: the proxy attaches to the pod.
func buildHeadlessService(s *v1beta1.MCPServer) *corev1.Service {
	if s.Spec.Transport == v1beta1.TransportStdio {
		return nil
	}
	return &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: objectMeta(s, naming.HeadlessServiceName(s.Name), naming.ComponentMCP),
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  naming.SelectorLabels(s.Name, naming.ComponentMCP),
			Ports:     []corev1.ServicePort{httpServicePort(s.Spec.MCPPort)},
		},
	}
}

func httpServicePort(port int32) corev1.ServicePort {
	return corev1.ServicePort{
		Name:       naming.PortName,
		Protocol:   corev1.ProtocolTCP,
		Port:       port,
		TargetPort: intstr.FromString(naming.PortName),
	}
}
