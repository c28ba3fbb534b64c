// Package v1beta1 holds the MCPServer admission webhooks: the defaulter
// fills the defaults that depend on other fields, the validator checks what
// the CRD schema and CEL cannot (podTemplateSpec, cross-entry rules, what
// the generated objects need) and warns about what must not be an error
// (missing referenced objects). It then dry-runs the objects the server
// generates against the API server, so that a server whose objects would
// be refused later is refused at kubectl apply, naming its own field.
package v1beta1

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/controller"
)

// mcpServerKind prefixes every admission error, as the API server's own
// validation errors are: MCPServer.toolhive.stacklok.dev "name" is invalid.
var mcpServerKind = schema.GroupKind{Group: v1beta1.GroupVersion.Group, Kind: "MCPServer"}

// SetupMCPServerWebhookWithManager registers both webhooks with the manager's
// webhook server. References are read through the API reader, uncached, so
// admission starts no Secret or ConfigMap informer across the cluster; the
// generated objects are dry-run through the manager's client (writes go
// straight to the API server), built with proxyImage as the reconciler
// builds them (with the operator's NetworkPolicy settings np).
func SetupMCPServerWebhookWithManager(mgr ctrl.Manager, proxyImage string, np controller.NetworkPolicyOptions) error {
	return ctrl.NewWebhookManagedBy(mgr, &v1beta1.MCPServer{}).
		WithDefaulter(Defaulter{}).
		WithValidator(Validator{Reader: mgr.GetAPIReader(), Client: mgr.GetClient(), ProxyImage: proxyImage, NetworkPolicy: np}).
		Complete()
}

// +kubebuilder:webhook:path=/mutate-toolhive-stacklok-dev-v1beta1-mcpserver,mutating=true,failurePolicy=fail,sideEffects=None,groups=toolhive.stacklok.dev,resources=mcpservers,verbs=create;update,versions=v1beta1,name=mmcpserver-v1beta1.kb.io,admissionReviewVersions=v1

// Defaulter applies (*MCPServer).Default, with the stored object on update
// so that a proxyPort derived from the deprecated port keeps following it.
type Defaulter struct{}

// Default implements admission.Defaulter.
func (Defaulter) Default(ctx context.Context, s *v1beta1.MCPServer) error {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		// Not called by the webhook server: there is no stored object.
		s.Default(nil)
		return nil
	}
	if errs := explicitZeroPorts(req.Object.Raw); len(errs) > 0 {
		return apierrors.NewInvalid(mcpServerKind, s.Name, errs)
	}
	var old *v1beta1.MCPServer
	if len(req.OldObject.Raw) > 0 {
		old = &v1beta1.MCPServer{}
		if err := json.Unmarshal(req.OldObject.Raw, old); err != nil {
			return fmt.Errorf("decode the stored MCPServer: %w", err)
		}
	}
	s.Default(old)
	return nil
}

// explicitZeroPorts rejects a port written as 0. The Go type cannot tell 0
// from unset, so Default would replace proxyPort: 0 with 8080 and treat
// port: 0 as absent; the schema's minimum of 1, which runs after this
// webhook, would then never see the mistake, or report it twice.
func explicitZeroPorts(raw []byte) field.ErrorList {
	var given struct {
		Spec map[string]json.RawMessage `json:"spec"`
	}
	if json.Unmarshal(raw, &given) != nil {
		return nil // the typed decode that ran before this one would have failed
	}
	var errs field.ErrorList
	for _, name := range []string{"proxyPort", "mcpPort", "port", "targetPort"} {
		if string(given.Spec[name]) == "0" {
			errs = append(errs, field.Invalid(field.NewPath("spec", name), 0,
				fmt.Sprintf("must be between 1 and 65535: set a port, or remove %s to use the default", name)))
		}
	}
	return errs
}

// +kubebuilder:webhook:path=/validate-toolhive-stacklok-dev-v1beta1-mcpserver,mutating=false,failurePolicy=fail,sideEffects=None,groups=toolhive.stacklok.dev,resources=mcpservers,verbs=create;update,versions=v1beta1,name=vmcpserver-v1beta1.kb.io,admissionReviewVersions=v1
// +kubebuilder:rbac:groups="",resources=secrets;configmaps,verbs=get
// +kubebuilder:rbac:groups=toolhive.stacklok.dev,resources=mcptoolconfigs;mcpoidcconfigs;mcpauthzconfigs;mcptelemetryconfigs,verbs=get
// The dry run needs what the reconciler's apply needs (create and patch of
// the generated kinds), which the controller's markers grant.

// Validator rejects what cannot work and warns about what may not work yet.
type Validator struct {
	// Reader looks up referenced Secrets, ConfigMaps and MCPToolConfigs.
	Reader client.Reader
	// Client dry-runs the objects the server generates (server-side apply
	// with dryRun=All). Nil skips the dry run (unit tests only: admission
	// must then fail closed where it would have asked).
	Client client.Client
	// ProxyImage is the proxy image the reconciler generates.
	ProxyImage string
	// NetworkPolicy is the reconciler's NetworkPolicy settings.
	NetworkPolicy controller.NetworkPolicyOptions
}

// ValidateCreate implements admission.Validator.
func (v Validator) ValidateCreate(ctx context.Context, s *v1beta1.MCPServer) (admission.Warnings, error) {
	return v.validate(ctx, s)
}

// ValidateUpdate implements admission.Validator. An update that leaves the
// spec alone (labels, annotations, finalizers) is always allowed and says
// nothing: a rule added after the object was stored must not block its
// deletion, and its author has already seen the warnings.
func (v Validator) ValidateUpdate(ctx context.Context, old, s *v1beta1.MCPServer) (admission.Warnings, error) {
	if equality.Semantic.DeepEqual(old.Spec, s.Spec) {
		return nil, nil
	}
	return v.validate(ctx, s)
}

// ValidateDelete implements admission.Validator: deleting is always allowed.
func (Validator) ValidateDelete(context.Context, *v1beta1.MCPServer) (admission.Warnings, error) {
	return nil, nil
}

// validate runs the pure checks first, whose messages are the most
// precise, then asks the API server about the generated objects.
func (v Validator) validate(ctx context.Context, s *v1beta1.MCPServer) (admission.Warnings, error) {
	tmpl, warnings, errs := validateSpec(s)
	if len(errs) > 0 {
		return warnings, apierrors.NewInvalid(mcpServerKind, s.Name, errs)
	}
	warnings = append(warnings, referenceWarnings(ctx, v.Reader, s)...)
	w, errs, err := v.dryRun(ctx, s, tmpl)
	warnings = append(warnings, w...)
	switch {
	case err != nil:
		return warnings, err
	case len(errs) > 0:
		return warnings, apierrors.NewInvalid(mcpServerKind, s.Name, errs)
	}
	return warnings, nil
}
