//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// secretServerManifest is the streamable-http test server given key
// "token" of Secret secret as $API_TOKEN, as the seed's github example
// does. Its whoami tool answers --name, which the kubelet expands from
// $(API_TOKEN): what whoami says is the value the server's process got.
func secretServerManifest(t *testing.T, name, secret string) string {
	t.Helper()
	const addr = `"--addr=:8080"`
	m := manifest(name, "streamable-http")
	if !strings.Contains(m, addr) {
		t.Fatalf("manifest() no longer passes %s; adapt secretServerManifest:\n%s", addr, m)
	}
	m = strings.Replace(m, addr, addr+`, "--name=$(API_TOKEN)"`, 1)
	return m + fmt.Sprintf("  secrets:\n  - name: %s\n    key: token\n    targetEnvName: API_TOKEN\n", secret)
}

// applySecret creates or updates Secret name with data, as
// `kubectl create secret --dry-run=client -o yaml | kubectl apply` does.
func (n *ns) applySecret(name string, data map[string]string) {
	n.t.Helper()
	args := []string{"create", "secret", "generic", name, "--dry-run=client", "-o", "yaml"}
	for k, v := range data {
		args = append(args, "--from-literal="+k+"="+v)
	}
	n.mustApply(n.must(args...))
}

// A Secret applied after the MCPServer that uses it (GitOps tools apply in
// any order): admission only warns, the server waits with a condition
// naming the Secret (then the key), starts by itself once the key exists,
// and its process sees the value; rotating the value rolls the backend pod
// and the new value reaches the server. The proxy never references it.
func TestSecretAppliedAfterItsServer(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	const name, secret = "secretive", "api-token"
	backend := "statefulset/" + naming.BackendStatefulSetName(name)
	pod := naming.BackendStatefulSetName(name) + "-0"

	out, err := n.apply(secretServerManifest(t, name, secret))
	if err != nil {
		t.Fatalf("kubectl apply of a server whose Secret does not exist yet: %v\n%s", err, out)
	}
	if !strings.Contains(out, `Secret "`+secret+`" not found`) {
		t.Errorf("kubectl apply printed no warning about the missing Secret:\n%s", out)
	}

	t.Log("no Secret: both conditions name it")
	n.waitCondition(name, v1beta1.ConditionSecretsResolved, "False", v1beta1.ReasonSecretMissing, `Secret "`+secret+`"`)
	n.waitCondition(name, v1beta1.ConditionReady, "False", "", `Secret "`+secret+`"`)

	t.Log("the Secret without the key: the condition names the key")
	n.applySecret(secret, map[string]string{"other": "x"})
	n.waitCondition(name, v1beta1.ConditionSecretsResolved, "False", "", `key "token" in Secret "`+secret+`"`)

	t.Log("the key: the server starts by itself")
	n.applySecret(secret, map[string]string{"token": "first-value"})
	n.waitReady(name)
	n.waitCondition(name, v1beta1.ConditionSecretsResolved, "True", v1beta1.ReasonSecretsFound)

	ref, err := n.field("pod/"+pod, `{.spec.containers[?(@.name=="mcp")].env[?(@.name=="API_TOKEN")]}`)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Value     string
		ValueFrom struct{ SecretKeyRef struct{ Name, Key string } }
	}
	if err := json.Unmarshal([]byte(ref), &env); err != nil || env.Value != "" ||
		env.ValueFrom.SecretKeyRef.Name != secret || env.ValueFrom.SecretKeyRef.Key != "token" {
		t.Errorf("pod %s env API_TOKEN is %s (%v); want valueFrom.secretKeyRef {name: %s, key: token} and no literal value", pod, ref, err, secret)
	}
	if proxy := n.must("get", "deployment/"+naming.ProxyDeploymentName(name), "-o", "json"); strings.Contains(proxy, secret) {
		t.Errorf("the proxy Deployment references Secret %s; only the MCP pod may:\n%s", secret, proxy)
	}

	endpoint := n.portForward("service/"+naming.ProxyServiceName(name), 8080) + "/mcp"
	waitWhoami(t, endpoint, "first-value")

	hashPath := "{.spec.template.metadata.annotations." + jsonpathKey(naming.SecretsHashAnnotation) + "}"
	hash, err := n.field(backend, hashPath)
	if err != nil || hash == "" {
		t.Fatalf("%s has no pod template annotation %s: %q %v", backend, naming.SecretsHashAnnotation, hash, err)
	}
	uid := n.uidOf("pod/" + pod)

	t.Log("rotate the value: the backend rolls and the server sees the new one")
	n.applySecret(secret, map[string]string{"token": "second-value"})
	eventually(t, 2*time.Minute, func() string {
		if now, err := n.field(backend, hashPath); err != nil || now == hash {
			return fmt.Sprintf("%s annotation %s is still %q (%v) after the Secret changed", backend, naming.SecretsHashAnnotation, now, err)
		}
		return ""
	})
	eventually(t, 3*time.Minute, func() string {
		now := n.uidOf("pod/" + pod)
		if now == "" || now == uid {
			return fmt.Sprintf("pod %s was not replaced (uid %q, before %q)", pod, now, uid)
		}
		return ""
	})
	waitWhoami(t, endpoint, "second-value")
}

// waitWhoami waits until the server behind endpoint answers whoami with want.
func waitWhoami(t *testing.T, endpoint, want string) {
	t.Helper()
	eventually(t, 2*time.Minute, func() string {
		got, err := switchboard("mcp", "call-tool", "--server", endpoint, "--tool", "whoami")
		if err != nil || strings.TrimSpace(got) != want {
			return fmt.Sprintf("whoami answered %q (%v); want %q", strings.TrimSpace(got), err, want)
		}
		return ""
	})
}
