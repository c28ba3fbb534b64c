package controller

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// newServer is a defaulted MCPServer "osv" in namespace "tools", changed by
// each mutate function in turn (before defaulting, as a user would write it).
func newServer(mutate ...func(*v1beta1.MCPServer)) *v1beta1.MCPServer {
	s := &v1beta1.MCPServer{
		ObjectMeta: metav1.ObjectMeta{Name: "osv", Namespace: "tools", UID: "uid-1", Generation: 3},
		Spec:       v1beta1.MCPServerSpec{Image: "ghcr.io/example/osv:1"},
	}
	for _, m := range mutate {
		m(s)
	}
	s.Default(nil)
	return s
}

func withTransport(t v1beta1.Transport) func(*v1beta1.MCPServer) {
	return func(s *v1beta1.MCPServer) { s.Spec.Transport = t }
}

// ownerRef is what every child must carry, written out literally.
var ownerRef = []metav1.OwnerReference{{
	APIVersion: "toolhive.stacklok.dev/v1beta1", Kind: "MCPServer", Name: "osv", UID: "uid-1",
	Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
}}

var (
	proxyLabels = map[string]string{
		"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "osv",
		"app.kubernetes.io/component": "proxy", "app.kubernetes.io/managed-by": "switchboard",
	}
	proxySelector = map[string]string{
		"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "osv", "app.kubernetes.io/component": "proxy",
	}
	mcpLabels = map[string]string{
		"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "osv",
		"app.kubernetes.io/component": "mcp", "app.kubernetes.io/managed-by": "switchboard",
	}
	// proxyPodLabels and mcpPodLabels are those of the pods, with
	// ToolHive's beside ours (of a stdio server with proxyPort 8080).
	proxyPodLabels = map[string]string{
		"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "osv",
		"app.kubernetes.io/component": "proxy", "app.kubernetes.io/managed-by": "switchboard",
		"app": "mcpserver", "toolhive": "true", "toolhive-name": "osv",
	}
	mcpPodLabels = map[string]string{
		"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "osv",
		"app.kubernetes.io/component": "mcp", "app.kubernetes.io/managed-by": "switchboard",
		"app": "osv", "toolhive": "true", "toolhive-name": "osv", "toolhive-basename": "osv",
		"toolhive-transport": "stdio", "toolhive-port": "8080",
	}
	mcpSelector = map[string]string{
		"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "osv", "app.kubernetes.io/component": "mcp",
	}
)
