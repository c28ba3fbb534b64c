package controller

import (
	"encoding/json"

	corev1 "k8s.io/api/core/v1"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// buildAccessConfigMap is the access document the proxy watches, for a
// server that authenticates, authorizes or curates tools; nil otherwise.
// The proxy re-reads it on change, so a policy edit needs no restart.
func buildAccessConfigMap(s *v1beta1.MCPServer, doc *proxyconfig.Access) *corev1.ConfigMap {
	if !s.Spec.ControlsAccess() || doc == nil {
		return nil
	}
	data, _ := json.Marshal(doc) // strings, bools and maps of them: cannot fail
	return &corev1.ConfigMap{
		TypeMeta:   typeMeta("v1", "ConfigMap"),
		ObjectMeta: objectMeta(s, naming.AccessConfigMapName(s.Name), naming.ComponentProxy),
		Data:       map[string]string{proxyconfig.AccessKey: string(data)},
	}
}
