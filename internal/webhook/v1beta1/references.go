package v1beta1

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// lookupTimeout bounds all reference lookups of one admission request. A
// slow API server must cost a warning, not the request: the webhook fails
// closed, so running past the API server's webhook timeout would reject it.
const lookupTimeout = 3 * time.Second

// referenceWarnings warns about referenced objects that do not exist yet.
// They are never errors: GitOps tools apply objects in any order, and the
// controller proceeds the moment they appear.
func referenceWarnings(ctx context.Context, r client.Reader, s *v1beta1.MCPServer) admission.Warnings {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	refs := s.References()
	found := lookUp(ctx, r, s.Namespace, refs)
	var warnings admission.Warnings
	for _, ref := range refs {
		if w := check(found[referenced{ref.Kind, ref.Name}], s.Namespace, ref); w != "" {
			warnings = append(warnings, w)
		}
	}
	return warnings
}

// referenced is an object references name: several references (keys of
// one Secret) may name the same.
type referenced struct {
	kind v1beta1.ReferenceKind
	name string
}

// lookup is the answer to reading a referenced object.
type lookup struct {
	obj client.Object
	err error
}

// lookUp reads every object the references name once, all at once: a
// server that reads three keys of one Secret costs one request, and
// several requests cost the slowest of them.
func lookUp(ctx context.Context, r client.Reader, ns string, refs []v1beta1.Reference) map[referenced]*lookup {
	found := map[referenced]*lookup{}
	var wg sync.WaitGroup
	for _, ref := range refs {
		key := referenced{ref.Kind, ref.Name}
		if found[key] != nil {
			continue
		}
		l := &lookup{obj: newObject(ref.Kind)}
		found[key] = l
		wg.Go(func() { l.err = r.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, l.obj) })
	}
	wg.Wait()
	return found
}

// check returns the warning for this reference, or "" when it resolves.
// A ConfigMap's default key is not checked: the controller reports a
// missing one in the ConfigRefsResolved condition.
func check(l *lookup, ns string, ref v1beta1.Reference) string {
	then := "the server will wait for it"
	if ref.RunsWithout {
		then = "the server runs without exporting telemetry until it exists"
	}
	switch {
	case apierrors.IsNotFound(l.err):
		return fmt.Sprintf("%s: %s %q not found in namespace %q; %s", ref.Path, ref.Kind, ref.Name, ns, then)
	case l.err != nil:
		return fmt.Sprintf("%s: could not look up %s %q in namespace %q (%v); if it is missing, %s", ref.Path, ref.Kind, ref.Name, ns, l.err, then)
	case ref.Key != "" && !ref.KeyDefaulted && !hasKey(l.obj, ref.Key):
		return fmt.Sprintf("%s: %s %q in namespace %q has no key %q; %s", ref.Path, ref.Kind, ref.Name, ns, ref.Key, then)
	}
	return ""
}

// configsFirst reads the config kinds (MCPToolConfig, MCPOIDCConfig,
// MCPAuthzConfig, MCPTelemetryConfig) from the manager's cache, which
// holds them for the controller's watches, and Secrets and ConfigMaps from
// the API server: no cache of every Secret in the cluster. What the cache
// does not have (an object applied a moment before its server, in the
// same kubectl apply; a namespace it does not watch) is read from the API
// server too, so a warning never says an existing object is missing.
type configsFirst struct {
	cache, api client.Reader
}

func (r configsFirst) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	switch obj.(type) {
	case *corev1.Secret, *corev1.ConfigMap:
	default:
		if err := r.cache.Get(ctx, key, obj, opts...); err == nil {
			return nil
		}
	}
	return r.api.Get(ctx, key, obj, opts...)
}

func (r configsFirst) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return r.api.List(ctx, list, opts...)
}

func newObject(kind v1beta1.ReferenceKind) client.Object {
	switch kind {
	case v1beta1.ReferenceSecret:
		return &corev1.Secret{}
	case v1beta1.ReferenceConfigMap:
		return &corev1.ConfigMap{}
	case v1beta1.ReferenceMCPOIDCConfig:
		return &v1beta1.MCPOIDCConfig{}
	case v1beta1.ReferenceMCPAuthzConfig:
		return &v1beta1.MCPAuthzConfig{}
	case v1beta1.ReferenceMCPTelemetryConfig:
		return &v1beta1.MCPTelemetryConfig{}
	default: // v1beta1.ReferenceMCPToolConfig
		return &v1beta1.MCPToolConfig{}
	}
}

func hasKey(obj client.Object, key string) bool {
	switch o := obj.(type) {
	case *corev1.Secret:
		_, ok := o.Data[key]
		return ok
	case *corev1.ConfigMap:
		_, inData := o.Data[key]
		_, inBinary := o.BinaryData[key]
		return inData || inBinary
	}
	return true
}
