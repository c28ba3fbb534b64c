package v1beta1

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// referenceWarnings warns about referenced objects that do not exist yet.
// They are never errors: GitOps tools apply objects in any order, and the
// controller proceeds the moment they appear.
func referenceWarnings(ctx context.Context, r client.Reader, s *v1beta1.MCPServer) admission.Warnings {
	if r == nil {
		return nil
	}
	var out admission.Warnings
	warn := func(path, what string, obj client.Object, name, key string, hasKey func() bool) {
		err := r.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: name}, obj)
		switch {
		case apierrors.IsNotFound(err):
			out = append(out, fmt.Sprintf("%s: %s %q not found in namespace %q; the server will wait for it", path, what, name, s.Namespace))
		case err != nil:
			out = append(out, fmt.Sprintf("%s: could not check %s %q: %v", path, what, name, err))
		case hasKey != nil && !hasKey():
			out = append(out, fmt.Sprintf("%s: %s %q has no key %q; the server will wait for it", path, what, name, key))
		}
	}
	for i, ref := range s.Spec.Secrets {
		sec := &corev1.Secret{}
		warn(fmt.Sprintf("spec.secrets[%d]", i), "Secret", sec, ref.Name, ref.Key, func() bool { _, ok := sec.Data[ref.Key]; return ok })
	}
	if ss := s.Spec.SessionStorage; ss != nil && ss.PasswordRef != nil {
		sec := &corev1.Secret{}
		key := ss.PasswordRef.Key
		warn("spec.sessionStorage.passwordRef", "Secret", sec, ss.PasswordRef.Name, key, func() bool { _, ok := sec.Data[key]; return ok })
	}
	if ref := s.Spec.OIDCConfigRef; ref != nil {
		warn("spec.oidcConfigRef", "ConfigMap", &corev1.ConfigMap{}, ref.Name, "", nil)
	}
	if a := s.Spec.AuthzConfig; a != nil && a.ConfigMap != nil {
		warn("spec.authzConfig.configMap", "ConfigMap", &corev1.ConfigMap{}, a.ConfigMap.Name, "", nil)
	}
	if ref := s.Spec.ToolConfigRef; ref != nil {
		warn("spec.toolConfigRef", "MCPToolConfig", &v1beta1.MCPToolConfig{}, ref.Name, "", nil)
	}
	return out
}
