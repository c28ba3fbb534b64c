package controller

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/access"
)

// +kubebuilder:rbac:groups=toolhive.stacklok.dev,resources=mcptoolconfigs/status;mcpoidcconfigs/status;mcpauthzconfigs/status;mcptelemetryconfigs/status,verbs=get;update;patch

// ConfigReconciler keeps the status of one config kind (MCPOIDCConfig,
// MCPAuthzConfig, MCPToolConfig, MCPTelemetryConfig): whether the proxy can enforce it (the same
// check admission makes, for objects admitted while the webhook was down), a
// hash of its spec, and the MCPServers that reference it.
type ConfigReconciler struct {
	client.Client
	kind configKind
}

// configKind is what differs between the config kinds.
type configKind struct {
	name     string
	newObj   func() client.Object
	index    string // the MCPServer field index that names objects of this kind
	spec     func(client.Object) any
	status   func(client.Object) *v1beta1.ConfigStatus
	validate func(client.Object) error
}

// ConfigKinds are the config kinds an MCPServer references.
var configKinds = []configKind{
	{
		name: "MCPOIDCConfig", newObj: func() client.Object { return &v1beta1.MCPOIDCConfig{} }, index: indexOIDCConfigs,
		spec:     func(o client.Object) any { return o.(*v1beta1.MCPOIDCConfig).Spec },
		status:   func(o client.Object) *v1beta1.ConfigStatus { return &o.(*v1beta1.MCPOIDCConfig).Status },
		validate: func(o client.Object) error { return access.ValidateOIDC(&o.(*v1beta1.MCPOIDCConfig).Spec) },
	},
	{
		name: "MCPAuthzConfig", newObj: func() client.Object { return &v1beta1.MCPAuthzConfig{} }, index: indexAuthzConfigs,
		spec:   func(o client.Object) any { return o.(*v1beta1.MCPAuthzConfig).Spec },
		status: func(o client.Object) *v1beta1.ConfigStatus { return &o.(*v1beta1.MCPAuthzConfig).Status },
		validate: func(o client.Object) error {
			_, err := access.AuthzFromMCPAuthzConfig(&o.(*v1beta1.MCPAuthzConfig).Spec, "")
			return err
		},
	},
	{
		name: "MCPToolConfig", newObj: func() client.Object { return &v1beta1.MCPToolConfig{} }, index: indexToolConfigs,
		spec:   func(o client.Object) any { return o.(*v1beta1.MCPToolConfig).Spec },
		status: func(o client.Object) *v1beta1.ConfigStatus { return &o.(*v1beta1.MCPToolConfig).Status },
		validate: func(o client.Object) error {
			_, err := access.Tools(&o.(*v1beta1.MCPToolConfig).Spec)
			return err
		},
	},
	{
		name: "MCPTelemetryConfig", newObj: func() client.Object { return &v1beta1.MCPTelemetryConfig{} }, index: indexTelemetryConfigs,
		spec:     func(o client.Object) any { return o.(*v1beta1.MCPTelemetryConfig).Spec },
		status:   func(o client.Object) *v1beta1.ConfigStatus { return &o.(*v1beta1.MCPTelemetryConfig).Status },
		validate: func(o client.Object) error { return access.ValidateTelemetry(&o.(*v1beta1.MCPTelemetryConfig).Spec) },
	},
}

// SetupConfigControllers starts one ConfigReconciler per config kind.
func SetupConfigControllers(mgr ctrl.Manager) error {
	for _, k := range configKinds {
		r := &ConfigReconciler{Client: mgr.GetClient(), kind: k}
		if err := ctrl.NewControllerManagedBy(mgr).
			For(k.newObj(), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
			// A server that starts or stops referencing the config changes
			// its referencingServers.
			Watches(&v1beta1.MCPServer{}, r.referencedBy(), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
			Named(k.name).
			Complete(r); err != nil {
			return fmt.Errorf("set up %s status controller: %w", k.name, err)
		}
	}
	return nil
}

// Reconcile writes the config's status.
func (r *ConfigReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	obj := r.kind.newObj()
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	var servers v1beta1.MCPServerList
	if err := r.List(ctx, &servers, client.InNamespace(req.Namespace), client.MatchingFields{r.kind.index: req.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list MCPServers referencing %s %s: %w", r.kind.name, req, err)
	}
	st := r.kind.status(obj)
	next := configStatus(*st, obj.GetGeneration(), r.kind.spec(obj), r.kind.validate(obj), servers.Items)
	if equality.Semantic.DeepEqual(*st, next) {
		return ctrl.Result{}, nil
	}
	base := obj.DeepCopyObject().(client.Object)
	*st = next
	if err := r.Status().Patch(ctx, obj, client.MergeFrom(base)); err != nil {
		return ctrl.Result{}, fmt.Errorf("update status of %s %s: %w", r.kind.name, req, err)
	}
	return ctrl.Result{}, nil
}

// configStatus is the status of a config: Valid from its check, the hash
// of its spec and the servers that reference it.
func configStatus(prev v1beta1.ConfigStatus, generation int64, spec any, invalid error, servers []v1beta1.MCPServer) v1beta1.ConfigStatus {
	st := v1beta1.ConfigStatus{Conditions: slices.Clone(prev.Conditions), ObservedGeneration: generation, ConfigHash: specHash(spec)}
	for _, s := range servers {
		st.ReferencingServers = append(st.ReferencingServers, s.Name)
	}
	slices.Sort(st.ReferencingServers)
	c := metav1.Condition{Type: v1beta1.ConditionValid, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonConfigValid,
		Message: "the proxy can enforce this configuration", ObservedGeneration: generation}
	if invalid != nil {
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, v1beta1.ReasonConfigInvalid, invalid.Error()
	}
	meta.SetStatusCondition(&st.Conditions, c)
	return st
}

// specHash is a config's status.configHash, which an MCPServer's status
// repeats for the config it was configured from.
func specHash(spec any) string {
	data, _ := json.Marshal(spec) // API types: cannot fail
	sum := sha256.Sum256(data)
	return shortHash(sum[:])
}

// referencedBy maps an MCPServer to the configs of this kind it names.
func (r *ConfigReconciler) referencedBy() handler.EventHandler {
	kind := indexedKinds[r.kind.index]
	return handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		s := o.(*v1beta1.MCPServer)
		var reqs []reconcile.Request
		for _, name := range referencedNames(s, kind) {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: name}})
		}
		return reqs
	})
}
