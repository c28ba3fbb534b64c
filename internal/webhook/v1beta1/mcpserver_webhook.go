// Package v1beta1 holds the MCPServer admission webhooks: the defaulter
// fills the defaults that depend on other fields, the validator checks what
// the CRD schema and CEL cannot (podTemplateSpec, cross-entry rules) and
// warns about what must not be an error (missing referenced objects).
package v1beta1

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// SetupMCPServerWebhookWithManager registers both webhooks with the manager's
// webhook server. References are looked up uncached (no Secret informer).
func SetupMCPServerWebhookWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &v1beta1.MCPServer{}).
		WithDefaulter(Defaulter{}).
		WithValidator(Validator{Reader: mgr.GetAPIReader()}).
		Complete()
}

// +kubebuilder:webhook:path=/mutate-toolhive-stacklok-dev-v1beta1-mcpserver,mutating=true,failurePolicy=fail,sideEffects=None,groups=toolhive.stacklok.dev,resources=mcpservers,verbs=create;update,versions=v1beta1,name=mmcpserver-v1beta1.kb.io,admissionReviewVersions=v1

// Defaulter applies (*MCPServer).Default, with the stored object on update
// so that a proxyPort derived from the deprecated port keeps following it.
type Defaulter struct{}

// Default implements admission.Defaulter.
func (Defaulter) Default(ctx context.Context, s *v1beta1.MCPServer) error {
	var old *v1beta1.MCPServer
	if req, err := admission.RequestFromContext(ctx); err == nil && len(req.OldObject.Raw) > 0 {
		old = &v1beta1.MCPServer{}
		if err := json.Unmarshal(req.OldObject.Raw, old); err != nil {
			return fmt.Errorf("decode the stored MCPServer: %w", err)
		}
	}
	s.Default(old)
	return nil
}

// +kubebuilder:webhook:path=/validate-toolhive-stacklok-dev-v1beta1-mcpserver,mutating=false,failurePolicy=fail,sideEffects=None,groups=toolhive.stacklok.dev,resources=mcpservers,verbs=create;update,versions=v1beta1,name=vmcpserver-v1beta1.kb.io,admissionReviewVersions=v1

// Validator rejects what cannot work and warns about what may not work yet.
type Validator struct {
	// Reader looks up referenced Secrets, ConfigMaps and MCPToolConfigs.
	Reader client.Reader
}

// ValidateCreate implements admission.Validator.
func (v Validator) ValidateCreate(ctx context.Context, s *v1beta1.MCPServer) (admission.Warnings, error) {
	return v.validate(ctx, s)
}

// ValidateUpdate implements admission.Validator.
func (v Validator) ValidateUpdate(ctx context.Context, _, s *v1beta1.MCPServer) (admission.Warnings, error) {
	return v.validate(ctx, s)
}

// ValidateDelete implements admission.Validator: deleting is always allowed.
func (Validator) ValidateDelete(context.Context, *v1beta1.MCPServer) (admission.Warnings, error) {
	return nil, nil
}

func (v Validator) validate(ctx context.Context, s *v1beta1.MCPServer) (admission.Warnings, error) {
	warnings, errs := validateSpec(s)
	if len(errs) > 0 {
		return warnings, apierrors.NewInvalid(v1beta1.GroupVersion.WithKind("MCPServer").GroupKind(), s.Name, errs)
	}
	return append(warnings, referenceWarnings(ctx, v.Reader, s)...), nil
}
