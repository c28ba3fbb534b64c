package v1beta1_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// applyYAML applies a manifest as `kubectl apply` does: create it, or
// update it when it exists.
func applyYAML(ctx context.Context, k client.Client, doc string, dryRun bool) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	if err := ensureNamespace(ctx, k, u.GetNamespace()); err != nil {
		return nil, err
	}
	var create []client.CreateOption
	var update []client.UpdateOption
	if dryRun {
		create, update = append(create, client.DryRunAll), append(update, client.DryRunAll)
	}
	existing := &unstructured.Unstructured{}
	existing.SetGroupVersionKind(u.GroupVersionKind())
	err := k.Get(ctx, client.ObjectKeyFromObject(u), existing)
	if apierrors.IsNotFound(err) {
		return u, k.Create(ctx, u.DeepCopy(), create...)
	}
	if err != nil {
		return u, err
	}
	u.SetResourceVersion(existing.GetResourceVersion())
	return u, k.Update(ctx, u.DeepCopy(), update...)
}

// expectations reads the "# <tag>: text" comment lines of a manifest.
func expectations(t *testing.T, path, tag string) (string, []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "# "+tag+": "); ok {
			want = append(want, rest)
		}
	}
	return string(data), want
}

func TestInvalidManifestsAreRejectedNamingTheFieldAndTheFix(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) < 25 {
		t.Fatalf("only %d invalid manifests in testdata/invalid", len(files))
	}
	k, _ := newClient(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc, want := expectations(t, f, "want")
			if len(want) == 0 {
				t.Fatalf("%s has no '# want:' line", f)
			}
			_, err := applyYAML(context.Background(), k, doc, false)
			if err == nil {
				t.Fatalf("accepted; want a rejection saying %q", want)
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestSeedManifestsAreAcceptedUnchanged(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc, wantWarnings := expectations(t, f, "warns")
			k, got := newClient(t)
			if _, err := applyYAML(context.Background(), k, doc, false); err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if len(wantWarnings) == 1 && wantWarnings[0] == "nothing" {
				wantWarnings = nil
			}
			if len(got.list) != len(wantWarnings) {
				t.Fatalf("warnings %q, want %q", got.list, wantWarnings)
			}
			for i, w := range wantWarnings {
				if !strings.Contains(got.list[i], w) {
					t.Errorf("warning %q does not say %q", got.list[i], w)
				}
			}
		})
	}
}

func TestDefaulterThroughTheAPIServer(t *testing.T) {
	ctx := context.Background()
	k, warned := newClient(t)
	u, err := applyYAML(ctx, k, `apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServer
metadata: {name: legacy, namespace: defaults}
spec:
  image: example/server
  transport: sse
  port: 9090
  targetPort: 3000
  secrets: [{name: s, key: TOKEN}]
`, false)
	if err != nil {
		t.Fatal(err)
	}
	var s v1beta1.MCPServer
	if err := k.Get(ctx, client.ObjectKeyFromObject(u), &s); err != nil {
		t.Fatal(err)
	}
	if s.Spec.ProxyPort != 9090 || s.Spec.MCPPort != 3000 || s.Spec.ProxyMode != v1beta1.ProxyModeSSE || s.Spec.Secrets[0].TargetEnvName != "TOKEN" {
		t.Errorf("stored proxyPort %d mcpPort %d proxyMode %q targetEnvName %q; want 9090, 3000, sse, TOKEN",
			s.Spec.ProxyPort, s.Spec.MCPPort, s.Spec.ProxyMode, s.Spec.Secrets[0].TargetEnvName)
	}
	joined := strings.Join(warned.list, "\n")
	for _, w := range []string{"spec.port is deprecated: use spec.proxyPort", "spec.targetPort is deprecated: use spec.mcpPort"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings %q lack %q", warned.list, w)
		}
	}

	// Changing only the deprecated port moves the proxyPort derived from it.
	s.Spec.Port = 9191
	if err := k.Update(ctx, &s); err != nil {
		t.Fatalf("update port: %v", err)
	}
	if err := k.Get(ctx, client.ObjectKeyFromObject(u), &s); err != nil {
		t.Fatal(err)
	}
	if s.Spec.ProxyPort != 9191 {
		t.Errorf("proxyPort %d after changing port to 9191", s.Spec.ProxyPort)
	}
}

func TestReplicasWithoutRedisWarns(t *testing.T) {
	k, warned := newClient(t)
	_, err := applyYAML(context.Background(), k, `apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServer
metadata: {name: scaled-no-redis, namespace: defaults}
spec: {image: example/server, transport: streamable-http, replicas: 2, backendReplicas: 2}
`, false)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(warned.list, "\n")
	for _, w := range []string{v1beta1.SessionStorageWarningMessage, "spec.backendReplicas > 1 without Redis session storage"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings %q lack %q", warned.list, w)
		}
	}
}

func TestStdioBackendReplicasRuleHoldsOnUpdate(t *testing.T) {
	ctx := context.Background()
	k, _ := newClient(t)
	u, err := applyYAML(ctx, k, "apiVersion: toolhive.stacklok.dev/v1beta1\nkind: MCPServer\nmetadata: {name: one, namespace: defaults}\nspec: {image: example/server}\n", false)
	if err != nil {
		t.Fatal(err)
	}
	var s v1beta1.MCPServer
	if err := k.Get(ctx, client.ObjectKeyFromObject(u), &s); err != nil {
		t.Fatal(err)
	}
	s.Spec.BackendReplicas = ptr.To[int32](2)
	if err := k.Update(ctx, &s); err == nil || !strings.Contains(err.Error(), "spec.backendReplicas") {
		t.Errorf("update to backendReplicas 2 on a stdio server: %v", err)
	}
}

func poll(f func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
