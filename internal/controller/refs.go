package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/access"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
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
	// invalidConfigs are referenced configs the proxy cannot enforce.
	invalidConfigs []string
	// access is the document the proxy enforces (nil: none).
	access *proxyconfig.Access
	// oidcClientSecret is the introspection client secret of the
	// referenced MCPOIDCConfig, given to the proxy as an env var.
	oidcClientSecret *v1beta1.SecretKeyRef
	// telemetry is what the proxy exports; nil while nothing is, which
	// never holds the server back.
	telemetry *access.TelemetryExport
	// telemetryHash is the spec hash of the referenced MCPTelemetryConfig.
	telemetryHash string
	// oidcHash, authzHash and toolHash are the status.configHash of the
	// referenced MCPOIDCConfig, MCPAuthzConfig and MCPToolConfig.
	oidcHash, authzHash, toolHash string
	// telemetryReason and telemetryMessage are the TelemetryConfigRefValidated
	// condition's, while spec.telemetryConfigRef is set.
	telemetryReason, telemetryMessage string
}

// refResolver reads referenced Secrets and ConfigMaps straight from the API
// server, so the operator keeps no cache of every Secret and ConfigMap in
// the cluster. The config kinds it reads from the cache, which holds them
// anyway for the watches that requeue their servers: a server's periodic
// reconcile then costs no request for them.
type refResolver struct {
	reader  client.Reader // Secrets and ConfigMaps: uncached
	configs client.Reader // MCPToolConfig, MCPOIDCConfig, MCPAuthzConfig, MCPTelemetryConfig: cached
}

// resolve looks up every object the server references and hashes the
// Secret values by the workload that reads them.
func (r refResolver) resolve(ctx context.Context, s *v1beta1.MCPServer) (resolvedRefs, error) {
	var out resolvedRefs
	hashes := map[v1beta1.Consumer]hash.Hash{}
	hashOf := func(c v1beta1.Consumer) hash.Hash {
		h, ok := hashes[c]
		if !ok {
			h = sha256.New()
			hashes[c] = h
		}
		return h
	}
	for _, ref := range s.References() {
		if ref.RunsWithout {
			continue // resolveTelemetry: the server does not wait for it
		}
		var missing string
		var err error
		switch ref.Kind {
		case v1beta1.ReferenceSecret:
			err = r.secretValue(ctx, s.Namespace, ref.Name, ref.Key, hashOf(ref.Consumer), &out)
		case v1beta1.ReferenceConfigMap:
			_, missing, err = r.keyValue(ctx, s.Namespace, ref)
		case v1beta1.ReferenceMCPToolConfig, v1beta1.ReferenceMCPOIDCConfig, v1beta1.ReferenceMCPAuthzConfig:
			missing, err = r.configObject(ctx, s.Namespace, ref, &out)
		}
		if err != nil {
			return out, err
		}
		out.missingConfigs = appendIf(out.missingConfigs, missing)
	}
	if err := r.resolveAccess(ctx, s, &out); err != nil {
		return out, err
	}
	if sec := out.oidcClientSecret; sec != nil {
		if err := r.secretValue(ctx, s.Namespace, sec.Name, sec.Key, hashOf(v1beta1.ConsumerProxy), &out); err != nil {
			return out, err
		}
	}
	if err := r.resolveTelemetry(ctx, s, &out, hashOf); err != nil {
		return out, err
	}
	if h, ok := hashes[v1beta1.ConsumerBackend]; ok {
		out.backendSecretsHash = shortHash(h.Sum(nil))
	}
	if h, ok := hashes[v1beta1.ConsumerProxy]; ok {
		out.proxySecretsHash = shortHash(h.Sum(nil))
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

// keyValue is the value of a Secret's or ConfigMap's key, or, in words,
// what is missing.
func (r refResolver) keyValue(ctx context.Context, ns string, ref v1beta1.Reference) ([]byte, string, error) {
	key := client.ObjectKey{Namespace: ns, Name: ref.Name}
	if ref.Kind == v1beta1.ReferenceSecret {
		var sec corev1.Secret
		switch err := r.reader.Get(ctx, key, &sec); {
		case apierrors.IsNotFound(err):
			return nil, fmt.Sprintf("Secret %q", ref.Name), nil
		case err != nil:
			return nil, "", fmt.Errorf("get Secret %s: %w", ref.Name, err)
		}
		if v, ok := sec.Data[ref.Key]; ok {
			return v, "", nil
		}
		return nil, fmt.Sprintf("key %q in Secret %q", ref.Key, ref.Name), nil
	}
	var cm corev1.ConfigMap
	switch err := r.reader.Get(ctx, key, &cm); {
	case apierrors.IsNotFound(err):
		return nil, fmt.Sprintf("ConfigMap %q", ref.Name), nil
	case err != nil:
		return nil, "", fmt.Errorf("get ConfigMap %s: %w", ref.Name, err)
	}
	if v, ok := cm.Data[ref.Key]; ok {
		return []byte(v), "", nil
	}
	if v, ok := cm.BinaryData[ref.Key]; ok {
		return v, "", nil
	}
	return nil, fmt.Sprintf("key %q in ConfigMap %q", ref.Key, ref.Name), nil
}

// configObject looks up a referenced config kind (MCPToolConfig,
// MCPOIDCConfig, MCPAuthzConfig) and records its status.configHash in out.
func (r refResolver) configObject(ctx context.Context, ns string, ref v1beta1.Reference, out *resolvedRefs) (string, error) {
	var obj client.Object
	var status *v1beta1.ConfigStatus
	var hash *string
	switch ref.Kind {
	case v1beta1.ReferenceMCPOIDCConfig:
		c := &v1beta1.MCPOIDCConfig{}
		obj, status, hash = c, &c.Status, &out.oidcHash
	case v1beta1.ReferenceMCPAuthzConfig:
		c := &v1beta1.MCPAuthzConfig{}
		obj, status, hash = c, &c.Status, &out.authzHash
	default:
		c := &v1beta1.MCPToolConfig{}
		obj, status, hash = c, &c.Status, &out.toolHash
	}
	err := r.configs.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, obj)
	if apierrors.IsNotFound(err) {
		return fmt.Sprintf("%s %q (%s)", ref.Kind, ref.Name, ref.Path), nil
	}
	if err != nil {
		return "", fmt.Errorf("get %s %s: %w", ref.Kind, ref.Name, err)
	}
	*hash = status.ConfigHash
	return "", nil
}

func appendIf(list []string, s string) []string {
	if s == "" {
		return list
	}
	return append(list, s)
}

func shortHash(sum []byte) string { return hex.EncodeToString(sum)[:16] }
