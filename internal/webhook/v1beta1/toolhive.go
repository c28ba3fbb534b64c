package v1beta1

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// permissionProfileIgnored is what admission says of spec.permissionProfile.
const permissionProfileIgnored = "spec.permissionProfile is deprecated and has no effect, as in ToolHive; " +
	"restrict the pod with podTemplateSpec securityContext, and its network with spec.networkPolicy.egress"

// validateUnsupported refuses the ToolHive references Switchboard cannot
// follow yet: accepting and ignoring one (it may be an authentication
// setting) would run the server open.
func validateUnsupported(s *v1beta1.MCPServer, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	refuse := func(set bool, name, kind string) {
		if set {
			errs = append(errs, field.Forbidden(spec.Child(name), fmt.Sprintf("not supported yet by Switchboard (%s); remove it", kind)))
		}
	}
	refuse(s.Spec.ExternalAuthConfigRef != nil, "externalAuthConfigRef", "MCPExternalAuthConfig")
	refuse(s.Spec.WebhookConfigRef != nil, "webhookConfigRef", "MCPWebhookConfig")
	refuse(s.Spec.AuthServerRef != nil, "authServerRef", "embedded authorization server")
	refuse(s.Spec.GroupRef != nil, "groupRef", "MCPGroup")
	return errs
}

// toolhiveWarnings are the ToolHive fields that are accepted, as ToolHive
// accepts them, and have no effect. ToolHive's CRD defaults proxyMode to
// streamable-http on every server, sse ones included, so a manifest
// exported from a ToolHive cluster must apply here too.
func toolhiveWarnings(s *v1beta1.MCPServer) admission.Warnings {
	var warnings admission.Warnings
	if s.Spec.PermissionProfile != nil {
		warnings = append(warnings, permissionProfileIgnored)
	}
	t := s.Spec.Transport
	if (t == v1beta1.TransportSSE || t == v1beta1.TransportStreamableHTTP) && s.Spec.ProxyMode != "" && string(s.Spec.ProxyMode) != string(t) {
		article := "a"
		if t == v1beta1.TransportSSE {
			article = "an"
		}
		warnings = append(warnings, fmt.Sprintf("spec.proxyMode %s is ignored on %s %s server, as in ToolHive: the proxy offers clients the server's own transport (%s); remove proxyMode",
			s.Spec.ProxyMode, article, t, t))
	}
	return warnings
}
