//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// Who rejects a manifest: the API server itself (OpenAPI schema and CEL
// rules in the CRD, which hold even with the webhook down) or the
// operator's admission webhooks, reached through the in-cluster Service.
const (
	byAPIServer = "api-server"
	byWebhook   = "webhook"
)

// Invalid manifests are refused at `kubectl apply`, before anything is
// stored: kubectl exits non-zero, its message names the offending field
// and says what to do, and the API server's Status shows which side
// (schema/CEL or webhook) refused it (design §2).
func TestInvalidManifestsAreRejectedAtApply(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	cases := []struct {
		name  string
		spec  string // the MCPServer's spec, indented by two spaces
		by    string
		field string
		says  string
	}{{
		name:  "stdio-with-two-backends",
		spec:  "  transport: stdio\n  backendReplicas: 2\n",
		by:    byAPIServer,
		field: "spec.backendReplicas",
		says:  "a stdio MCP server accepts a single client connection, so it runs as one backend pod: set backendReplicas to 0 or 1",
	}, {
		name: "template-without-mcp-container",
		spec: `  podTemplateSpec:
    spec:
      containers:
      - name: server
        image: ` + testServer + "\n",
		by:    byWebhook,
		field: "spec.podTemplateSpec.spec.containers",
		says:  `the MCP server container must be named "mcp"`,
	}, {
		name: "template-misspelt-volume-mounts",
		spec: `  podTemplateSpec:
    spec:
      containers:
      - name: mcp
        volumeMount:
        - {name: data, mountPath: /projects}
`,
		by:    byWebhook,
		field: "spec.podTemplateSpec.spec.containers[0].volumeMount",
		says:  `unknown field "volumeMount" in a PodTemplateSpec: check its spelling and indentation`,
	}, {
		name:  "template-unknown-pod-field",
		spec:  "  podTemplateSpec:\n    spec:\n      containerz: [{name: mcp}]\n",
		by:    byWebhook,
		field: "spec.podTemplateSpec.spec.containerz",
		says:  `unknown field "containerz"`,
	}, {
		name: "template-two-containers-one-name",
		spec: `  podTemplateSpec:
    spec:
      containers:
      - {name: mcp}
      - {name: mcp, image: ` + testServer + "}\n",
		by:    byWebhook,
		field: "spec.podTemplateSpec.spec.containers[1].name",
		says:  "give every container a unique name",
	}, {
		name:  "redis-without-address",
		spec:  "  sessionStorage: {provider: redis}\n",
		by:    byAPIServer,
		field: "spec.sessionStorage.address",
		says:  "sessionStorage.address is required when provider is redis: set it to the host:port of your Redis server",
	}, {
		name:  "proxy-port-above-65535",
		spec:  "  proxyPort: 70000\n",
		by:    byAPIServer,
		field: "spec.proxyPort",
		says:  "less than or equal to 65535",
	}, {
		name:  "mcp-port-zero",
		spec:  "  transport: streamable-http\n  mcpPort: 0\n",
		by:    byWebhook, // the defaulter would otherwise turn 0 into 8080
		field: "spec.mcpPort",
		says:  "must be between 1 and 65535: set a port, or remove mcpPort to use the default",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := fmt.Sprintf("apiVersion: toolhive.stacklok.dev/v1beta1\nkind: MCPServer\nmetadata:\n  name: %s\nspec:\n  image: %s\n%s", tc.name, testServer, tc.spec)

			out, err := n.apply(doc)
			if err == nil {
				t.Fatalf("kubectl apply accepted it; want a rejection naming %s:\n%s", tc.field, out)
			}
			if !strings.Contains(out, tc.field+": ") {
				t.Errorf("kubectl apply's message does not name the field %s:\n%s", tc.field, out)
			}
			if !strings.Contains(out, tc.says) {
				t.Errorf("kubectl apply's message does not say %q:\n%s", tc.says, out)
			}
			if got, err := n.run("get", "mcpserver/"+tc.name, "-o", "name"); err == nil {
				t.Errorf("a rejected MCPServer was stored: %s", got)
			}

			status := dryRunCreate(t, n.name, doc)
			webhook := strings.Contains(status.Message, "admission webhook")
			if (tc.by == byWebhook) != webhook {
				t.Errorf("want it rejected by the %s; the API server said: %s", tc.by, status.Message)
			}
			if !namesCause(status, tc.field) {
				t.Errorf("the Status' causes do not name %s: %+v", tc.field, status.Details)
			}
		})
	}
}

// dryRunCreate posts doc to the API server (dry run: nothing is stored even
// if it is admitted) and returns the Status it refused it with. kubectl
// prints only the causes; the message also says who refused.
func dryRunCreate(t *testing.T, namespace, doc string) metav1.Status {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		t.Fatalf("load $KUBECONFIG: %v", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatalf("parse manifest: %v\n%s", err, doc)
	}
	gvr := schema.GroupVersionResource{Group: "toolhive.stacklok.dev", Version: "v1beta1", Resource: "mcpservers"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = dyn.Resource(gvr).Namespace(namespace).Create(ctx, obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	var status *apierrors.StatusError
	if !errors.As(err, &status) || !apierrors.IsInvalid(err) {
		t.Fatalf("dry-run create: %v; want an Invalid status", err)
	}
	return status.ErrStatus
}

// namesCause reports whether one of the Status' causes is field.
func namesCause(s metav1.Status, field string) bool {
	if s.Details == nil {
		return false
	}
	for _, c := range s.Details.Causes {
		if c.Field == field {
			return true
		}
	}
	return false
}

// The webhooks above are the in-cluster ones: reached through the
// operator's Service, with a serving certificate cert-manager issued and a
// CA bundle cert-manager's cainjector put into both configurations.
func TestWebhookCertificateComesFromCertManager(t *testing.T) {
	t.Parallel()
	field := func(obj, jsonpath string) string {
		t.Helper()
		out, err := kubectl("-n", operatorNamespace, "get", obj, "-o", "jsonpath="+jsonpath)
		if err != nil {
			t.Fatalf("kubectl get %s: %v\n%s", obj, err, out)
		}
		return out
	}
	const cert = "certificate/toolhive-operator-serving-cert"
	if ready := field(cert, `{.status.conditions[?(@.type=="Ready")].status}`); ready != "True" {
		t.Fatalf("%s Ready=%q; want True", cert, ready)
	}
	ca := field("secret/"+field(cert, "{.spec.secretName}"), `{.data.ca\.crt}`)
	if ca == "" {
		t.Fatal("the serving certificate's Secret has no ca.crt")
	}
	for _, kind := range []string{"mutating", "validating"} {
		cfg := kind + "webhookconfiguration/toolhive-operator-" + kind + "-webhook-configuration"
		if got := field(cfg, "{.webhooks[0].clientConfig.caBundle}"); got != ca {
			t.Errorf("%s caBundle is not the CA cert-manager issued the serving certificate with", cfg)
		}
		if svc := field(cfg, "{.webhooks[0].clientConfig.service.namespace}/{.webhooks[0].clientConfig.service.name}"); svc != operatorNamespace+"/toolhive-operator-webhook-service" {
			t.Errorf("%s calls %q; want the operator's Service %s/toolhive-operator-webhook-service", cfg, svc, operatorNamespace)
		}
	}
}
