package controller

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// apply sends obj with server-side apply under the operator's field manager.
// Fields the builder leaves out (replicas without spec.replicas, the
// restartedAt annotation of kubectl rollout restart) stay with whoever set
// them, so an HPA or a restart is never reverted.
func apply(ctx context.Context, c client.Client, obj client.Object) error {
	u, err := ApplyBody(obj)
	if err != nil {
		return err
	}
	return send(ctx, c, obj, u)
}

// ApplyBody is obj as the operator applies it (the bench applies the same
// bodies without an operator).
func ApplyBody(obj client.Object) (*unstructured.Unstructured, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("convert %T %s: %w", obj, obj.GetName(), err)
	}
	// Typed structs serialise empty status and null timestamps; applying
	// them would claim fields the operator does not mean to own.
	delete(u, "status")
	unstructured.RemoveNestedField(u, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u, "spec", "template", "metadata", "creationTimestamp")
	return &unstructured.Unstructured{Object: u}, nil
}

// send applies body, and leaves in it the object the API server returned.
func send(ctx context.Context, c client.Client, obj client.Object, body *unstructured.Unstructured) error {
	ac := client.ApplyConfigurationFromUnstructured(body)
	if err := c.Apply(ctx, ac, client.FieldOwner(naming.ManagedBy), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
	}
	return nil
}

// applier applies the children of MCPServers and skips the ones whose last
// apply still stands.
//
// Server-side apply is idempotent, but each apply is still a PATCH request:
// a thousand Ready servers, requeued every minute to read their proxies'
// health, would send thousands of no-op PATCHes a minute, more than all
// their other requests together. So the applier remembers, per child, a
// hash of what it last sent and the resourceVersion the API server
// answered with. While the child in the informer cache still has that
// resourceVersion and the desired object hashes the same, there is nothing
// to send. Any write by anyone bumps the resourceVersion, so drift is
// corrected at the next reconcile as before; after a restart the applier
// remembers nothing and applies every child once.
//
// The workloads' controllers write their status at every pod that starts,
// bumping the resourceVersion with nothing to correct; for them the
// generation (which the API server bumps at every change of spec) and the
// metadata stand in for it.
type applier struct {
	mu   sync.Mutex
	sent map[types.NamespacedName]map[childKey]appliedChild // by server
}

type childKey struct {
	gvk schema.GroupVersionKind
	client.ObjectKey
}

// appliedChild is what the applier last sent for a child, and what of the
// object it got back tells whether it still stands.
type appliedChild struct {
	hash            [sha256.Size]byte
	resourceVersion string
	// generation and meta (a hash of the labels, annotations and owner
	// references) for the kinds in statusChurns; generation 0 otherwise.
	generation int64
	meta       [sha256.Size]byte
}

// statusChurns are the kinds whose status is written often and whose
// generation follows every change of their spec.
var statusChurns = map[schema.GroupKind]bool{
	{Group: "apps", Kind: "Deployment"}:  true,
	{Group: "apps", Kind: "StatefulSet"}: true,
}

// standsIn tells whether the last apply still stands in live, the child as
// the cache has it.
func (last appliedChild) standsIn(live client.Object) bool {
	if live.GetResourceVersion() == last.resourceVersion {
		return true
	}
	return last.generation != 0 && live.GetGeneration() == last.generation && metaHash(live) == last.meta
}

func metaHash(obj metav1.Object) [sha256.Size]byte {
	data, _ := json.Marshal([]any{obj.GetLabels(), obj.GetAnnotations(), obj.GetOwnerReferences()}) // cannot fail
	return sha256.Sum256(data)
}

// apply applies obj, a child of server, unless it is as last applied.
func (a *applier) apply(ctx context.Context, c client.Client, server types.NamespacedName, obj client.Object) error {
	body, err := ApplyBody(obj)
	if err != nil {
		return err
	}
	data, err := json.Marshal(body.Object) // map keys sorted: the same object, the same bytes
	if err != nil {
		return fmt.Errorf("hash %T %s: %w", obj, obj.GetName(), err)
	}
	key := childKey{body.GroupVersionKind(), client.ObjectKeyFromObject(obj)}
	want := appliedChild{hash: sha256.Sum256(data)}
	if last, ok := a.last(server, key); ok && last.hash == want.hash {
		live := cachedShape(obj)
		if err := c.Get(ctx, key.ObjectKey, live); err == nil && last.standsIn(live) {
			return nil
		}
	}
	if err := send(ctx, c, obj, body); err != nil {
		a.forget(server, key)
		return err
	}
	want.resourceVersion = body.GetResourceVersion()
	if statusChurns[key.gvk.GroupKind()] {
		want.generation, want.meta = body.GetGeneration(), metaHash(body)
	}
	a.remember(server, key, want)
	return nil
}

// deleteIfOwned removes obj, a child of server, when it exists and server
// controls it, leaving alone an object of the same name that a user made.
// It reads from the cache: an object the cache has not seen yet is deleted
// at the reconcile its creation triggers.
func (a *applier) deleteIfOwned(ctx context.Context, c client.Client, server metav1.Object, obj client.Object) error {
	key := childKey{gvkOf(c, obj), client.ObjectKeyFromObject(obj)}
	a.forget(types.NamespacedName{Namespace: server.GetNamespace(), Name: server.GetName()}, key)
	live := cachedShape(obj)
	if err := c.Get(ctx, key.ObjectKey, live); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !metav1.IsControlledBy(live, server) {
		return nil
	}
	// The UID precondition fails (a conflict) when the cache is behind and
	// the name is now another object's, which is not ours to delete.
	err := c.Delete(ctx, live, client.Preconditions{UID: ptr.To(live.GetUID())})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete %T %s: %w", obj, obj.GetName(), err)
	}
	return nil
}

// forgetServer drops what the applier remembers of a server that is gone.
func (a *applier) forgetServer(server types.NamespacedName) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sent, server)
}

func (a *applier) last(server types.NamespacedName, key childKey) (appliedChild, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	last, ok := a.sent[server][key]
	return last, ok
}

func (a *applier) remember(server types.NamespacedName, key childKey, sent appliedChild) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sent == nil {
		a.sent = map[types.NamespacedName]map[childKey]appliedChild{}
	}
	if a.sent[server] == nil {
		a.sent[server] = map[childKey]appliedChild{}
	}
	a.sent[server][key] = sent
}

func (a *applier) forget(server types.NamespacedName, key childKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sent[server], key)
}

// cachedShape is an empty object to read obj's kind from the informer cache
// into. ConfigMaps are read as metadata, the way SetupWithManager watches
// them: reading one whole would start an informer that holds every
// ConfigMap in the watched namespaces, values included.
func cachedShape(obj client.Object) client.Object {
	if _, ok := obj.(*corev1.ConfigMap); ok {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
		return m
	}
	return obj.DeepCopyObject().(client.Object)
}

// gvkOf is obj's kind, from its TypeMeta or else the client's scheme.
func gvkOf(c client.Client, obj client.Object) schema.GroupVersionKind {
	if gvk := obj.GetObjectKind().GroupVersionKind(); !gvk.Empty() {
		return gvk
	}
	gvk, _ := c.GroupVersionKindFor(obj)
	return gvk
}
