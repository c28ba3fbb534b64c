package v1beta1

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/access"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// Admission warnings that are not also condition messages.
const (
	portDeprecated                 = "spec.port is deprecated: use spec.proxyPort"
	targetPortDeprecated           = "spec.targetPort is deprecated: use spec.mcpPort"
	primaryUpstreamProviderIgnored = "spec.authzConfig.inline.primaryUpstreamProvider has no effect on an MCPServer (it runs no embedded auth server, in ToolHive either): remove it"
	auditDisabled                  = "spec.audit.includeRequestData and maxDataSize do nothing while spec.audit.enabled is false: set enabled: true to write audit events"
	auditMaxWithoutData            = "spec.audit.maxDataSize bounds the request data of an event, which includeRequestData (false) leaves out: set includeRequestData: true, or remove maxDataSize"
	backendReplicasWithoutRedis    = "spec.backendReplicas > 1 without Redis session storage: sessions rely on ClientIP affinity, " +
		"which is unreliable behind NAT or shared egress IPs; Redis session storage (spec.sessionStorage.provider redis) is strongly recommended"
)

// validateSpec checks what needs decoding or spans list entries, and what
// the generated objects need that the schema cannot say. It needs no
// cluster: it is a pure function of the server, which the mutating webhook
// has already defaulted. It returns the decoded pod template (nil when
// there is none or it does not decode).
func validateSpec(s *v1beta1.MCPServer) (*corev1.PodTemplateSpec, admission.Warnings, field.ErrorList) {
	spec := field.NewPath("spec")
	warnings := append(specWarnings(s), toolhiveWarnings(s)...)
	errs := validateUnsupported(s, spec)

	tmpl, err := s.Spec.DecodePodTemplate()
	if err != nil {
		errs = append(errs, fieldErrors(err, spec.Child("podTemplateSpec"))...)
	} else if tmpl != nil {
		w, e := validatePodTemplate(s, tmpl, spec.Child("podTemplateSpec"))
		warnings, errs = append(warnings, w...), append(errs, e...)
	}
	errs = append(errs, validateEnvNames(s, spec)...)
	errs = append(errs, validateInlineAuthz(s, spec)...)
	errs = append(errs, validateWorkload(s, tmpl, spec)...)
	return tmpl, warnings, errs
}

// validateInlineAuthz parses inline Cedar policies as the proxy will, so a
// syntax error is refused at kubectl apply, naming the policy and line.
func validateInlineAuthz(s *v1beta1.MCPServer, spec *field.Path) field.ErrorList {
	a := s.Spec.AuthzConfig
	if a == nil || a.Inline == nil {
		return nil
	}
	if _, err := access.AuthzInline(a, "", s.Name); err != nil {
		return field.ErrorList{field.Invalid(spec.Child("authzConfig", "inline"), field.OmitValueType{}, err.Error())}
	}
	return nil
}

// specWarnings are the settings that work, but not as well as the user may
// think.
func specWarnings(s *v1beta1.MCPServer) admission.Warnings {
	var warnings admission.Warnings
	if s.Spec.Port != 0 {
		warnings = append(warnings, portDeprecated)
	}
	if s.Spec.TargetPort != 0 {
		warnings = append(warnings, targetPortDeprecated)
	}
	warnings = append(warnings, s.Spec.CheckSessionStorage().Warnings()...)
	if a := s.Spec.AuthzConfig; a != nil && a.Inline != nil && a.Inline.PrimaryUpstreamProvider != "" {
		warnings = append(warnings, primaryUpstreamProviderIgnored)
	}
	if !s.Spec.UsesRedis() && s.Spec.BackendReplicas != nil && *s.Spec.BackendReplicas > 1 {
		warnings = append(warnings, backendReplicasWithoutRedis)
	}
	warnings = append(warnings, networkPolicyWarnings(s.Spec.NetworkPolicy)...)
	if a := s.Spec.Audit; a != nil {
		switch {
		case !a.Enabled && (a.IncludeRequestData || a.MaxDataSize != nil):
			warnings = append(warnings, auditDisabled)
		case a.MaxDataSize != nil && !a.IncludeRequestData:
			warnings = append(warnings, auditMaxWithoutData)
		}
	}
	return warnings
}

// fieldErrors unpacks DecodePodTemplate's aggregate of field errors.
func fieldErrors(err error, path *field.Path) field.ErrorList {
	var agg utilerrors.Aggregate
	if !errors.As(err, &agg) {
		return field.ErrorList{field.Invalid(path, field.OmitValueType{}, err.Error())}
	}
	var errs field.ErrorList
	for _, e := range agg.Errors() {
		var fe *field.Error
		if !errors.As(e, &fe) {
			fe = field.Invalid(path, field.OmitValueType{}, e.Error())
		}
		errs = append(errs, fe)
	}
	return errs
}

// validatePodTemplate checks the containers of a decoded pod template: the
// reconciler merges the one named mcp with the MCP server's settings and
// keeps every other one as a sidecar, so names must be unique and valid.
func validatePodTemplate(s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec, path *field.Path) (admission.Warnings, field.ErrorList) {
	var warnings admission.Warnings
	var errs field.ErrorList
	seen := map[string]*field.Path{}
	checkName := func(p *field.Path, name string) {
		if name == "" {
			errs = append(errs, field.Required(p.Child("name"), "every container needs a name"))
			return
		}
		for _, msg := range validation.IsDNS1123Label(name) {
			errs = append(errs, field.Invalid(p.Child("name"), name, msg))
		}
		if first, dup := seen[name]; dup {
			errs = append(errs, duplicate(p.Child("name"), name, fmt.Sprintf("already used by %s: give every container a unique name", first)))
		}
		seen[name] = p.Child("name")
	}
	for i, c := range tmpl.Spec.InitContainers {
		checkName(path.Child("spec", "initContainers").Index(i), c.Name)
	}
	containers := path.Child("spec", "containers")
	hasMCP := false
	for i, c := range tmpl.Spec.Containers {
		p := containers.Index(i)
		checkName(p, c.Name)
		switch {
		case c.Name == naming.MCPContainer:
			hasMCP = true
			if c.Image != "" && c.Image != s.Spec.Image {
				warnings = append(warnings, fmt.Sprintf("%s is ignored: spec.image (%s) is the MCP server's image; remove the image from the mcp container", p.Child("image"), s.Spec.Image))
			}
		case c.Image == "":
			errs = append(errs, field.Required(p.Child("image"), fmt.Sprintf("sidecar container %q needs an image (only the mcp container takes spec.image)", c.Name)))
		}
	}
	if len(tmpl.Spec.Containers) > 0 && !hasMCP {
		errs = append(errs, field.Required(containers, `the MCP server container must be named "mcp": rename it, or add a container named "mcp" (other containers run as sidecars)`))
	}
	return warnings, errs
}

// validateEnvNames rejects two sources writing the same variable of the mcp
// container, which would silently lose one of them. spec.env names are
// already unique (a list map in the schema).
func validateEnvNames(s *v1beta1.MCPServer, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	owner := map[string]string{}
	for i, e := range s.Spec.Env {
		owner[e.Name] = spec.Child("env").Index(i).String()
	}
	for i, sec := range s.Spec.Secrets {
		p := spec.Child("secrets").Index(i).Child("targetEnvName")
		name := sec.TargetEnvName
		if name == "" { // not defaulted yet when called outside admission
			name = sec.Key
		}
		if first, dup := owner[name]; dup {
			errs = append(errs, duplicate(p, name, fmt.Sprintf("already set by %s: an environment variable comes from one place only; set a different targetEnvName", first)))
			continue
		}
		owner[name] = p.String()
	}
	return errs
}

// duplicate is field.Duplicate with a detail saying what to do.
func duplicate(p *field.Path, value, detail string) *field.Error {
	e := field.Duplicate(p, value)
	e.Detail = detail
	return e
}
