package v1beta1

import (
	"context"
	"fmt"
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
	var warnings admission.Warnings
	for _, ref := range s.References() {
		if w := check(ctx, r, s.Namespace, ref); w != "" {
			warnings = append(warnings, w)
		}
	}
	return warnings
}

// check returns the warning for this reference, or "" when it resolves.
// A ConfigMap's default key is not checked: the controller reports a
// missing one in the ConfigRefsResolved condition.
func check(ctx context.Context, r client.Reader, ns string, ref v1beta1.Reference) string {
	obj := newObject(ref.Kind)
	err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, obj)
	then := "the server will wait for it"
	if ref.RunsWithout {
		then = "the server runs without exporting telemetry until it exists"
	}
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Sprintf("%s: %s %q not found in namespace %q; %s", ref.Path, ref.Kind, ref.Name, ns, then)
	case err != nil:
		return fmt.Sprintf("%s: could not look up %s %q in namespace %q (%v); if it is missing, %s", ref.Path, ref.Kind, ref.Name, ns, err, then)
	case ref.Key != "" && !ref.KeyDefaulted && !hasKey(obj, ref.Key):
		return fmt.Sprintf("%s: %s %q in namespace %q has no key %q; %s", ref.Path, ref.Kind, ref.Name, ns, ref.Key, then)
	}
	return ""
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
