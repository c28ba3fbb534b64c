package v1beta1

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/access"
)

// +kubebuilder:webhook:path=/validate-toolhive-stacklok-dev-v1beta1-mcpoidcconfig,mutating=false,failurePolicy=fail,sideEffects=None,groups=toolhive.stacklok.dev,resources=mcpoidcconfigs,verbs=create;update,versions=v1beta1,name=vmcpoidcconfig-v1beta1.kb.io,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-toolhive-stacklok-dev-v1beta1-mcpauthzconfig,mutating=false,failurePolicy=fail,sideEffects=None,groups=toolhive.stacklok.dev,resources=mcpauthzconfigs,verbs=create;update,versions=v1beta1,name=vmcpauthzconfig-v1beta1.kb.io,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-toolhive-stacklok-dev-v1beta1-mcptoolconfig,mutating=false,failurePolicy=fail,sideEffects=None,groups=toolhive.stacklok.dev,resources=mcptoolconfigs,verbs=create;update,versions=v1beta1,name=vmcptoolconfig-v1beta1.kb.io,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-toolhive-stacklok-dev-v1beta1-mcptelemetryconfig,mutating=false,failurePolicy=fail,sideEffects=None,groups=toolhive.stacklok.dev,resources=mcptelemetryconfigs,verbs=create;update,versions=v1beta1,name=vmcptelemetryconfig-v1beta1.kb.io,admissionReviewVersions=v1

// SetupConfigWebhooksWithManager registers the validating webhooks of the
// config kinds: what the proxy could not enforce is refused at kubectl
// apply, not found later in a status.
func SetupConfigWebhooksWithManager(mgr ctrl.Manager) error {
	oidc := ctrl.NewWebhookManagedBy(mgr, &v1beta1.MCPOIDCConfig{}).WithValidator(configValidator[*v1beta1.MCPOIDCConfig]{
		kind: "MCPOIDCConfig", spec: func(c *v1beta1.MCPOIDCConfig) any { return c.Spec },
		check: func(c *v1beta1.MCPOIDCConfig) error { return access.ValidateOIDC(&c.Spec) },
		warn:  func(c *v1beta1.MCPOIDCConfig) []string { return access.OIDCWarnings(&c.Spec) },
	}).Complete()
	authz := ctrl.NewWebhookManagedBy(mgr, &v1beta1.MCPAuthzConfig{}).WithValidator(configValidator[*v1beta1.MCPAuthzConfig]{
		kind: "MCPAuthzConfig", spec: func(c *v1beta1.MCPAuthzConfig) any { return c.Spec },
		check: func(c *v1beta1.MCPAuthzConfig) error {
			_, err := access.AuthzFromMCPAuthzConfig(&c.Spec, "")
			return err
		},
	}).Complete()
	tools := ctrl.NewWebhookManagedBy(mgr, &v1beta1.MCPToolConfig{}).WithValidator(configValidator[*v1beta1.MCPToolConfig]{
		kind: "MCPToolConfig", spec: func(c *v1beta1.MCPToolConfig) any { return c.Spec },
		check: func(c *v1beta1.MCPToolConfig) error {
			_, err := access.Tools(&c.Spec)
			return err
		},
		warn: func(c *v1beta1.MCPToolConfig) []string { return access.ToolsWarnings(&c.Spec) },
	}).Complete()
	telemetry := ctrl.NewWebhookManagedBy(mgr, &v1beta1.MCPTelemetryConfig{}).WithValidator(configValidator[*v1beta1.MCPTelemetryConfig]{
		kind: "MCPTelemetryConfig", spec: func(c *v1beta1.MCPTelemetryConfig) any { return c.Spec },
		check: func(c *v1beta1.MCPTelemetryConfig) error { return access.ValidateTelemetry(&c.Spec) },
		warn:  func(c *v1beta1.MCPTelemetryConfig) []string { return access.TelemetryWarnings(&c.Spec) },
	}).Complete()
	for _, err := range []error{oidc, authz, tools, telemetry} {
		if err != nil {
			return fmt.Errorf("set up config webhooks: %w", err)
		}
	}
	return nil
}

// configValidator refuses a config kind the proxy could not enforce.
type configValidator[T client.Object] struct {
	kind  string
	spec  func(T) any
	check func(T) error
	// warn, if set, says what applies but does nothing.
	warn func(T) []string
}

// ValidateCreate implements admission.Validator.
func (v configValidator[T]) ValidateCreate(_ context.Context, c T) (admission.Warnings, error) {
	return v.warnings(c), v.validate(c)
}

func (v configValidator[T]) warnings(c T) admission.Warnings {
	if v.warn == nil {
		return nil
	}
	return v.warn(c)
}

// ValidateUpdate implements admission.Validator; an update that leaves the
// spec alone is always allowed (see Validator.ValidateUpdate).
func (v configValidator[T]) ValidateUpdate(_ context.Context, old, c T) (admission.Warnings, error) {
	if equality.Semantic.DeepEqual(v.spec(old), v.spec(c)) {
		return nil, nil
	}
	return v.warnings(c), v.validate(c)
}

// ValidateDelete implements admission.Validator: deleting is always allowed.
func (configValidator[T]) ValidateDelete(context.Context, T) (admission.Warnings, error) {
	return nil, nil
}

func (v configValidator[T]) validate(c T) error {
	err := v.check(c)
	if err == nil {
		return nil
	}
	// The checks name the field first ("spec.inline.issuer: ..."): keep it
	// as the error's path, as the API server's own errors do.
	path, detail, ok := strings.Cut(err.Error(), ": ")
	if !ok || !strings.HasPrefix(path, "spec") {
		path, detail = "spec", err.Error()
	}
	gk := schema.GroupKind{Group: v1beta1.GroupVersion.Group, Kind: v.kind}
	return apierrors.NewInvalid(gk, c.GetName(), field.ErrorList{field.Invalid(field.NewPath(path), field.OmitValueType{}, detail)})
}
