package controller

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// Field indexes on MCPServers by the names of what they reference, so a
// change to a Secret requeues only the servers that use it.
const (
	indexSecrets          = "spec.secretRefs"
	indexConfigMaps       = "spec.configMapRefs"
	indexToolConfigs      = "spec.toolConfigRef"
	indexOIDCConfigs      = "spec.oidcConfigRef"
	indexAuthzConfigs     = "spec.authzConfigRef"
	indexTelemetryConfigs = "spec.telemetryConfigRef"
)

// indexedKinds maps each index field to the kind of the references it holds.
var indexedKinds = map[string]v1beta1.ReferenceKind{
	indexSecrets:          v1beta1.ReferenceSecret,
	indexConfigMaps:       v1beta1.ReferenceConfigMap,
	indexToolConfigs:      v1beta1.ReferenceMCPToolConfig,
	indexOIDCConfigs:      v1beta1.ReferenceMCPOIDCConfig,
	indexAuthzConfigs:     v1beta1.ReferenceMCPAuthzConfig,
	indexTelemetryConfigs: v1beta1.ReferenceMCPTelemetryConfig,
}

func indexReferences(ctx context.Context, idx client.FieldIndexer) error {
	for field, kind := range indexedKinds {
		if err := idx.IndexField(ctx, &v1beta1.MCPServer{}, field, func(o client.Object) []string {
			return referencedNames(o.(*v1beta1.MCPServer), kind)
		}); err != nil {
			return err
		}
	}
	return nil
}

// referencedNames are the names of the objects of one kind the server
// references.
func referencedNames(s *v1beta1.MCPServer, kind v1beta1.ReferenceKind) []string {
	var names []string
	for _, ref := range s.References() {
		if ref.Kind == kind {
			names = append(names, ref.Name)
		}
	}
	return names
}

// referencing maps a referenced object to the MCPServers in its namespace
// whose index field names it.
func (r *MCPServerReconciler) referencing(field string) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		return r.serversNaming(ctx, field, o.GetNamespace(), o.GetName())
	})
}

// referencingDirectlyOrThroughConfigs is referencing, plus the servers
// whose MCPOIDCConfig or MCPTelemetryConfig reads the object (a CA bundle
// ConfigMap, a client or header Secret), which the MCPServer itself does
// not name.
func (r *MCPServerReconciler) referencingDirectlyOrThroughConfigs(field string, kind v1beta1.ReferenceKind) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		ns, name := o.GetNamespace(), o.GetName()
		reqs := r.serversNaming(ctx, field, ns, name)
		reads := func(refs []v1beta1.Reference) bool {
			return slices.ContainsFunc(refs, func(ref v1beta1.Reference) bool { return ref.Kind == kind && ref.Name == name })
		}
		var oidc v1beta1.MCPOIDCConfigList
		if err := r.List(ctx, &oidc, client.InNamespace(ns)); err == nil {
			for i := range oidc.Items {
				if reads(oidc.Items[i].References()) {
					reqs = append(reqs, r.serversNaming(ctx, indexOIDCConfigs, ns, oidc.Items[i].Name)...)
				}
			}
		}
		var telemetry v1beta1.MCPTelemetryConfigList
		if err := r.List(ctx, &telemetry, client.InNamespace(ns)); err == nil {
			for i := range telemetry.Items {
				if reads(telemetry.Items[i].References()) {
					reqs = append(reqs, r.serversNaming(ctx, indexTelemetryConfigs, ns, telemetry.Items[i].Name)...)
				}
			}
		}
		return reqs
	})
}

// serversNaming are the MCPServers in ns whose index field names name.
func (r *MCPServerReconciler) serversNaming(ctx context.Context, field, ns, name string) []reconcile.Request {
	var list v1beta1.MCPServerList
	if err := r.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{field: name}); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, s := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: s.Name}})
	}
	return reqs
}

// podToServer maps a pod of an MCPServer (by its labels) to the server, so a
// crash loop or an image pull error shows in the status at once.
func podToServer() handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		l := o.GetLabels()
		if l[naming.LabelName] != naming.AppName || l[naming.LabelInstance] == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: l[naming.LabelInstance]}}}
	})
}
