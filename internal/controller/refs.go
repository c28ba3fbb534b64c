package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// Default keys of the ConfigMaps that oidcConfigRef and authzConfig name.
const (
	defaultOIDCKey  = "oidc.json"
	defaultAuthzKey = "authz.json"
)

// resolvedRefs is what the reconciler learned about the objects an MCPServer
// references: which are missing (in words) and hashes of the Secret values
// that each workload consumes, so a rotation rolls it.
type resolvedRefs struct {
	backendSecretsHash string
	proxySecretsHash   string
	missingSecrets     []string
	// secretAbsent is true when a referenced Secret itself is missing, not
	// just a key of one that exists.
	secretAbsent   bool
	missingConfigs []string
}

// refResolver reads referenced objects straight from the API server, so the
// operator keeps no cache of every Secret and ConfigMap in the cluster.
type refResolver struct {
	reader client.Reader
}

func (r refResolver) resolve(ctx context.Context, s *v1beta1.MCPServer) (resolvedRefs, error) {
	var out resolvedRefs
	backend := sha256.New()
	for _, ref := range s.Spec.Secrets {
		if err := r.secretValue(ctx, s.Namespace, ref.Name, ref.Key, backend, &out); err != nil {
			return out, err
		}
	}
	if len(s.Spec.Secrets) > 0 {
		out.backendSecretsHash = shortHash(backend.Sum(nil))
	}
	if s.Spec.UsesRedis() && s.Spec.SessionStorage.PasswordRef != nil {
		ref := s.Spec.SessionStorage.PasswordRef
		proxy := sha256.New()
		if err := r.secretValue(ctx, s.Namespace, ref.Name, ref.Key, proxy, &out); err != nil {
			return out, err
		}
		out.proxySecretsHash = shortHash(proxy.Sum(nil))
	}

	if ref := s.Spec.OIDCConfigRef; ref != nil {
		missing, err := r.configMapKey(ctx, s.Namespace, ref.Name, keyOr(ref.Key, defaultOIDCKey))
		if err != nil {
			return out, err
		}
		out.missingConfigs = appendIf(out.missingConfigs, missing)
	}
	if a := s.Spec.AuthzConfig; a != nil && a.ConfigMap != nil {
		missing, err := r.configMapKey(ctx, s.Namespace, a.ConfigMap.Name, keyOr(a.ConfigMap.Key, defaultAuthzKey))
		if err != nil {
			return out, err
		}
		out.missingConfigs = appendIf(out.missingConfigs, missing)
	}
	if ref := s.Spec.ToolConfigRef; ref != nil {
		err := r.reader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: ref.Name}, &v1beta1.MCPToolConfig{})
		switch {
		case apierrors.IsNotFound(err):
			out.missingConfigs = append(out.missingConfigs, fmt.Sprintf("MCPToolConfig %q (spec.toolConfigRef)", ref.Name))
		case err != nil:
			return out, fmt.Errorf("get MCPToolConfig %s: %w", ref.Name, err)
		}
	}
	return out, nil
}

// secretValue feeds the key's value into h, or records in out what is
// missing.
func (r refResolver) secretValue(ctx context.Context, ns, name, key string, h io.Writer, out *resolvedRefs) error {
	var sec corev1.Secret
	err := r.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &sec)
	if apierrors.IsNotFound(err) {
		out.missingSecrets = append(out.missingSecrets, fmt.Sprintf("Secret %q", name))
		out.secretAbsent = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("get Secret %s: %w", name, err)
	}
	v, ok := sec.Data[key]
	if !ok {
		out.missingSecrets = append(out.missingSecrets, fmt.Sprintf("key %q in Secret %q", key, name))
		return nil
	}
	for _, b := range [][]byte{[]byte(name), {0}, []byte(key), {0}, v, {0}} {
		_, _ = h.Write(b)
	}
	return nil
}

// secretReason is the reason for what is missing: SecretNotFound when a
// whole Secret is, SecretKeyNotFound when only keys of existing ones are.
func (r resolvedRefs) secretReason() string {
	if r.secretAbsent {
		return v1beta1.ReasonSecretMissing
	}
	return v1beta1.ReasonSecretKeyMissing
}

func (r refResolver) configMapKey(ctx context.Context, ns, name, key string) (string, error) {
	var cm corev1.ConfigMap
	err := r.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &cm)
	if apierrors.IsNotFound(err) {
		return fmt.Sprintf("ConfigMap %q", name), nil
	}
	if err != nil {
		return "", fmt.Errorf("get ConfigMap %s: %w", name, err)
	}
	if _, ok := cm.Data[key]; !ok {
		if _, ok := cm.BinaryData[key]; !ok {
			return fmt.Sprintf("key %q in ConfigMap %q", key, name), nil
		}
	}
	return "", nil
}

func appendIf(list []string, s string) []string {
	if s == "" {
		return list
	}
	return append(list, s)
}

func keyOr(key, def string) string {
	if key == "" {
		return def
	}
	return key
}

func shortHash(sum []byte) string { return hex.EncodeToString(sum)[:16] }
