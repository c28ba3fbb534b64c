package controller

import (
	"context"

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
	indexSecrets     = "spec.secretRefs"
	indexConfigMaps  = "spec.configMapRefs"
	indexToolConfigs = "spec.toolConfigRef"
)

func indexReferences(ctx context.Context, idx client.FieldIndexer) error {
	fns := map[string]func(*v1beta1.MCPServer) []string{
		indexSecrets:     secretNames,
		indexConfigMaps:  configMapNames,
		indexToolConfigs: toolConfigNames,
	}
	for field, fn := range fns {
		if err := idx.IndexField(ctx, &v1beta1.MCPServer{}, field, func(o client.Object) []string {
			return fn(o.(*v1beta1.MCPServer))
		}); err != nil {
			return err
		}
	}
	return nil
}

func secretNames(s *v1beta1.MCPServer) []string {
	var names []string
	for _, ref := range s.Spec.Secrets {
		names = append(names, ref.Name)
	}
	if ss := s.Spec.SessionStorage; ss != nil && ss.PasswordRef != nil {
		names = append(names, ss.PasswordRef.Name)
	}
	return names
}

func configMapNames(s *v1beta1.MCPServer) []string {
	var names []string
	if s.Spec.OIDCConfigRef != nil {
		names = append(names, s.Spec.OIDCConfigRef.Name)
	}
	if a := s.Spec.AuthzConfig; a != nil && a.ConfigMap != nil {
		names = append(names, a.ConfigMap.Name)
	}
	return names
}

func toolConfigNames(s *v1beta1.MCPServer) []string {
	if s.Spec.ToolConfigRef == nil {
		return nil
	}
	return []string{s.Spec.ToolConfigRef.Name}
}

// referencing maps a referenced object to the MCPServers in its namespace
// whose index field names it.
func (r *MCPServerReconciler) referencing(field string) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		var list v1beta1.MCPServerList
		if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{field: o.GetName()}); err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(list.Items))
		for _, s := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: s.Name}})
		}
		return reqs
	})
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
