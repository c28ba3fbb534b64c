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

// reference is one object an MCPServer names, and the key it needs in it.
type reference struct {
	path, kind, name, key string
	obj                   client.Object
	hasKey                func() bool // nil when no key is needed
}

// referenceWarnings warns about referenced objects that do not exist yet.
// They are never errors: GitOps tools apply objects in any order, and the
// controller proceeds the moment they appear.
func referenceWarnings(ctx context.Context, r client.Reader, s *v1beta1.MCPServer) admission.Warnings {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	var warnings admission.Warnings
	for _, ref := range references(s) {
		if w := ref.check(ctx, r, s.Namespace); w != "" {
			warnings = append(warnings, w)
		}
	}
	return warnings
}

// references lists what the server names, in spec order.
func references(s *v1beta1.MCPServer) []reference {
	var refs []reference
	for i, sec := range s.Spec.Secrets {
		refs = append(refs, secretRef(fmt.Sprintf("spec.secrets[%d]", i), sec.Name, sec.Key))
	}
	if ss := s.Spec.SessionStorage; ss != nil && ss.PasswordRef != nil {
		refs = append(refs, secretRef("spec.sessionStorage.passwordRef", ss.PasswordRef.Name, ss.PasswordRef.Key))
	}
	if ref := s.Spec.OIDCConfigRef; ref != nil {
		refs = append(refs, configMapRef("spec.oidcConfigRef", ref))
	}
	if a := s.Spec.AuthzConfig; a != nil && a.ConfigMap != nil {
		refs = append(refs, configMapRef("spec.authzConfig.configMap", a.ConfigMap))
	}
	if ref := s.Spec.ToolConfigRef; ref != nil {
		refs = append(refs, reference{path: "spec.toolConfigRef", kind: "MCPToolConfig", name: ref.Name, obj: &v1beta1.MCPToolConfig{}})
	}
	return refs
}

func secretRef(path, name, key string) reference {
	sec := &corev1.Secret{}
	return reference{path: path, kind: "Secret", name: name, key: key, obj: sec,
		hasKey: func() bool { _, ok := sec.Data[key]; return ok }}
}

// configMapRef checks the key only when the user names one: the default key
// is the controller's business, and it reports a missing one in the
// ConfigRefsResolved condition.
func configMapRef(path string, ref *v1beta1.ConfigMapKeyRef) reference {
	cm := &corev1.ConfigMap{}
	r := reference{path: path, kind: "ConfigMap", name: ref.Name, key: ref.Key, obj: cm}
	if ref.Key != "" {
		r.hasKey = func() bool {
			_, inData := cm.Data[ref.Key]
			_, inBinary := cm.BinaryData[ref.Key]
			return inData || inBinary
		}
	}
	return r
}

// check returns the warning for this reference, or "" when it resolves.
func (ref reference) check(ctx context.Context, r client.Reader, ns string) string {
	err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.name}, ref.obj)
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Sprintf("%s: %s %q not found in namespace %q; the server will wait for it", ref.path, ref.kind, ref.name, ns)
	case err != nil:
		return fmt.Sprintf("%s: could not look up %s %q in namespace %q (%v); if it is missing, the server will wait for it", ref.path, ref.kind, ref.name, ns, err)
	case ref.hasKey != nil && !ref.hasKey():
		return fmt.Sprintf("%s: %s %q in namespace %q has no key %q; the server will wait for it", ref.path, ref.kind, ref.name, ns, ref.key)
	}
	return ""
}
