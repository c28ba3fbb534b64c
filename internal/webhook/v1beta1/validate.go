package v1beta1

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// validateSpec checks what needs decoding or spans list entries; it needs
// no cluster and is a pure function of the (defaulted) server.
func validateSpec(s *v1beta1.MCPServer) (admission.Warnings, field.ErrorList) {
	spec := field.NewPath("spec")
	var warnings admission.Warnings
	var errs field.ErrorList

	tmpl, err := s.Spec.DecodePodTemplate()
	if err != nil {
		var fe *field.Error
		if errors.As(err, &fe) {
			errs = append(errs, fe)
		} else {
			errs = append(errs, field.Invalid(spec.Child("podTemplateSpec"), "<object>", err.Error()))
		}
	} else if tmpl != nil {
		w, e := validatePodTemplate(s, tmpl, spec.Child("podTemplateSpec"))
		warnings, errs = append(warnings, w...), append(errs, e...)
	}
	errs = append(errs, validateEnvNames(s, spec)...)

	if s.Spec.Port != 0 {
		warnings = append(warnings, "spec.port is deprecated: use spec.proxyPort")
	}
	if s.Spec.TargetPort != 0 {
		warnings = append(warnings, "spec.targetPort is deprecated: use spec.mcpPort")
	}
	if !s.Spec.UsesRedis() {
		if s.Spec.Replicas != nil && *s.Spec.Replicas > 1 {
			warnings = append(warnings, v1beta1.SessionStorageWarningMessage)
		}
		if s.Spec.BackendReplicas != nil && *s.Spec.BackendReplicas > 1 {
			warnings = append(warnings, "spec.backendReplicas > 1 without Redis session storage: sessions rely on ClientIP affinity, which is unreliable behind NAT or shared egress IPs; Redis session storage is strongly recommended")
		}
	}
	return warnings, errs
}

// validatePodTemplate checks the containers of a decoded pod template.
func validatePodTemplate(s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec, path *field.Path) (admission.Warnings, field.ErrorList) {
	var warnings admission.Warnings
	var errs field.ErrorList
	containers := path.Child("spec", "containers")
	seen := map[string]*field.Path{}
	check := func(p *field.Path, name string) {
		if name == "" {
			errs = append(errs, field.Required(p.Child("name"), "every container needs a name"))
			return
		}
		for _, msg := range validation.IsDNS1123Label(name) {
			errs = append(errs, field.Invalid(p.Child("name"), name, msg))
		}
		if first, dup := seen[name]; dup {
			errs = append(errs, field.Duplicate(p.Child("name"), fmt.Sprintf("%s (already used by %s); give every container a unique name", name, first)))
		}
		seen[name] = p.Child("name")
	}
	for i, c := range tmpl.Spec.InitContainers {
		check(path.Child("spec", "initContainers").Index(i), c.Name)
	}
	hasMCP := false
	for i, c := range tmpl.Spec.Containers {
		p := containers.Index(i)
		check(p, c.Name)
		switch {
		case c.Name == naming.MCPContainer:
			hasMCP = true
			if c.Image != "" && c.Image != s.Spec.Image {
				warnings = append(warnings, fmt.Sprintf("%s is ignored: spec.image (%s) is the MCP server's image", p.Child("image"), s.Spec.Image))
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
// container, which would silently lose one of them.
func validateEnvNames(s *v1beta1.MCPServer, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	owner := map[string]string{}
	for i, e := range s.Spec.Env {
		owner[e.Name] = spec.Child("env").Index(i).String()
	}
	for i, sec := range s.Spec.Secrets {
		p := spec.Child("secrets").Index(i).Child("targetEnvName")
		name := sec.TargetEnvName
		if name == "" {
			name = sec.Key
		}
		if first, dup := owner[name]; dup {
			errs = append(errs, field.Duplicate(p, fmt.Sprintf("%s (already set by %s); each environment variable may come from one place only", name, first)))
			continue
		}
		owner[name] = p.String()
	}
	return errs
}
