// Package v1beta1 holds the MCPServer admission webhooks: the defaulter
// fills the defaults that depend on other fields, the validator checks what
// the CRD schema and CEL cannot (podTemplateSpec, cross-entry rules, what
// the generated objects need) and warns about what must not be an error
// (missing referenced objects). It then checks the objects the server
// generates as the API server will (with the API server's own validation,
// in process, or with a dry run against the cluster), so that a server
// whose objects would be refused later is refused at kubectl apply, naming
// its own field.
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

// Options are the operator's settings the MCPServer webhooks need.
type Options struct {
	// ProxyImage and NetworkPolicy: the generated objects are built as the
	// reconciler builds them.
	ProxyImage    string
	NetworkPolicy controller.NetworkPolicyOptions
	// DryRun checks the generated objects with a dry run against the
	// cluster instead of in process (Validator.DryRun).
	DryRun bool
}

// SetupMCPServerWebhookWithManager registers both webhooks with the manager's
// webhook server. Secrets and ConfigMaps are read through the API reader,
// uncached, so admission starts no Secret or ConfigMap informer across the
// cluster; the config kinds come from the manager's cache, which holds them
// for the controller's watches. A dry run goes through the manager's client
// (writes go straight to the API server).
func SetupMCPServerWebhookWithManager(mgr ctrl.Manager, o Options) error {
	return ctrl.NewWebhookManagedBy(mgr, &v1beta1.MCPServer{}).
		WithDefaulter(Defaulter{}).
		WithValidator(Validator{
			Reader: mgr.GetAPIReader(), Configs: mgr.GetCache(), Client: mgr.GetClient(),
			ProxyImage: o.ProxyImage, NetworkPolicy: o.NetworkPolicy, DryRun: o.DryRun,
		}).
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
// +kubebuilder:rbac:groups=toolhive.stacklok.dev,resources=mcptoolconfigs;mcpoidcconfigs;mcpauthzconfigs;mcptelemetryconfigs,verbs=get;list;watch
// The dry run (--admission-dry-run) needs what the reconciler's apply
// needs (create and patch of the generated kinds), which the controller's
// markers grant.

// Validator rejects what cannot work and warns about what may not work yet.
type Validator struct {
	// Reader looks up referenced Secrets and ConfigMaps, uncached, and the
	// config kinds Configs has not seen.
	Reader client.Reader
	// Configs reads the referenced MCPToolConfigs, MCPOIDCConfigs,
	// MCPAuthzConfigs and MCPTelemetryConfigs (the manager's cache). Nil
	// reads them through Reader.
	Configs client.Reader
	// DryRun checks the generated objects by applying them with
	// dryRun=All through Client, so that the cluster's own admission
	// (quotas, policy engines, other webhooks) is consulted at kubectl
	// apply, at the cost of a round trip per object. Without it the API
	// server's validation runs in process (controller.ValidateApply).
	DryRun bool
	// Client dry-runs the generated objects. Nil skips the dry run (unit
	// tests only: admission must then fail closed where it would have
	// asked).
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
// precise, then checks the generated objects as the API server would.
func (v Validator) validate(ctx context.Context, s *v1beta1.MCPServer) (admission.Warnings, error) {
	tmpl, warnings, errs := validateSpec(s)
	if len(errs) > 0 {
		return warnings, apierrors.NewInvalid(mcpServerKind, s.Name, errs)
	}
	warnings = append(warnings, referenceWarnings(ctx, v.references(), s)...)
	w, errs, err := v.checkGenerated(ctx, s, tmpl)
	warnings = append(warnings, w...)
	switch {
	case err != nil:
		return warnings, err
	case len(errs) > 0:
		return warnings, apierrors.NewInvalid(mcpServerKind, s.Name, errs)
	}
	return warnings, nil
}

// references is where referenced objects are read.
func (v Validator) references() client.Reader {
	if v.Configs == nil {
		return v.Reader
	}
	return configsFirst{cache: v.Configs, api: v.Reader}
}
