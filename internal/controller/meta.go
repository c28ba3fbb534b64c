package controller

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// objectMeta is the metadata every child of an MCPServer carries: its name,
// the server's namespace, the component's labels and a controller owner
// reference, so that garbage collection removes it with the server.
func objectMeta(s *v1beta1.MCPServer, name string, c naming.Component) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      name,
		Namespace: s.Namespace,
		Labels:    naming.Labels(s.Name, c),
		OwnerReferences: []metav1.OwnerReference{
			*metav1.NewControllerRef(s, v1beta1.GroupVersion.WithKind("MCPServer")),
		},
	}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}
