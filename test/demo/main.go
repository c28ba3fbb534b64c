// Command demo shows Switchboard end to end on a local API server: it starts
// kube-apiserver and etcd (built by hack/build-k8s.sh), runs the operator with
// its admission webhooks, and drives everything with the real kubectl, as a
// user would. No kubelet runs here, so the demo plays kube-controller-manager
// where pods would become ready, and says so.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/switchboard-mcp/switchboard/internal/operator"
	"github.com/switchboard-mcp/switchboard/internal/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run() error {
	ctrl.SetLogger(zap.New(zap.Level(zapcore.ErrorLevel)))
	say("Starting kube-apiserver and etcd on 127.0.0.1, with the MCPServer CRDs and webhook configurations")
	env, cfg, err := testenv.Start(true)
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()

	wo := env.WebhookInstallOptions
	mgr, err := operator.New(cfg, operator.Options{
		ProxyImage: "switchboard/proxy:dev", MetricsAddr: "0", ProbeAddr: "0",
		Webhooks: true, WebhookHost: wo.LocalServingHost, WebhookPort: wo.LocalServingPort, WebhookCertDir: wo.LocalServingCertDir,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = mgr.Start(ctx) }()
	say("Operator started (controller + admission webhooks)")

	dir, err := os.MkdirTemp("", "switchboard-demo-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	user, err := env.AddUser(envtest.User{Name: "demo", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return err
	}
	k := kubectl{kubeconfig: filepath.Join(dir, "kubeconfig"), dir: dir}
	if err := os.WriteFile(k.kubeconfig, kubeconfig, 0o600); err != nil {
		return err
	}
	if err := waitWebhook(k); err != nil {
		return err
	}
	return story(k)
}

// story is what a user does, in the seed guide's own commands.
func story(k kubectl) error {
	samples := filepath.Join(testenv.Root(), "config", "samples")
	steps := []func() error{
		func() error { return k.run("api-resources", "--api-group=toolhive.stacklok.dev") },
		func() error { return k.run("create", "namespace", "my-namespace") },
		func() error {
			return k.run("-n", "my-namespace", "apply", "-f", filepath.Join(samples, "toolhive_v1beta1_mcpserver_osv.yaml"))
		},
		func() error { return k.eventually("-n", "my-namespace", "get", "statefulset", "osv") },
		func() error {
			return k.run("-n", "my-namespace", "get", "deployment,statefulset,service,serviceaccount,role,rolebinding",
				"-l", "app.kubernetes.io/instance=osv")
		},
		func() error { return k.run("-n", "my-namespace", "get", "mcpservers") },
		func() error {
			say("No kubelet runs in this demo: marking the workloads ready, as kube-controller-manager would")
			for _, obj := range []string{"statefulset/osv", "deployment/osv"} {
				if err := k.quiet("-n", "my-namespace", "patch", obj, "--subresource=status", "--type=merge",
					"-p", `{"status":{"replicas":1,"readyReplicas":1,"availableReplicas":1,"updatedReplicas":1}}`); err != nil {
					return err
				}
			}
			return k.waitFor("-n", "my-namespace", "get", "mcpserver", "osv", "-o", "jsonpath={.status.phase}", "Ready")
		},
		func() error { return k.run("-n", "my-namespace", "get", "mcpservers") },
		func() error {
			say("A stdio server whose Secret does not exist yet: accepted with a warning, and it waits")
			return k.run("create", "namespace", "production")
		},
		func() error {
			return k.run("-n", "production", "apply", "-f", filepath.Join(samples, "toolhive_v1beta1_mcpserver_github.yaml"))
		},
		func() error {
			return k.waitFor("-n", "production", "get", "mcpserver", "github", "-o",
				`jsonpath={.status.conditions[?(@.type=="SecretsResolved")].status}`, "False")
		},
		func() error { return k.run("-n", "production", "describe", "mcpserver", "github") },
		func() error {
			return k.run("-n", "production", "create", "secret", "generic", "github-token", "--from-literal=token=demo")
		},
		func() error {
			return k.waitFor("-n", "production", "get", "mcpserver", "github", "-o",
				`jsonpath={.status.conditions[?(@.type=="SecretsResolved")].status}`, "True")
		},
		func() error { return k.run("-n", "production", "get", "mcpserver", "github", "-o", "wide") },
		func() error {
			say("Invalid manifests are rejected at kubectl apply, naming the field and the fix")
			return k.rejected(`apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServer
metadata: {name: bad-stdio, namespace: production}
spec: {image: ghcr.io/github/github-mcp-server, transport: stdio, backendReplicas: 2}`)
		},
		func() error {
			return k.rejected(`apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServer
metadata: {name: bad-template, namespace: production}
spec:
  image: ghcr.io/stackloklabs/gofetch/server
  podTemplateSpec:
    spec:
      containers:
      - name: server
        image: ghcr.io/stackloklabs/gofetch/server`)
		},
		func() error { return k.run("explain", "mcpserver.spec.backendReplicas") },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	say("Done. Everything ran on 127.0.0.1 and is stopped now; nothing to clean up.")
	return nil
}

func say(s string) { fmt.Printf("\n### %s\n", s) }

type kubectl struct{ kubeconfig, dir string }

func (k kubectl) cmd(args ...string) *exec.Cmd {
	c := exec.Command("kubectl", append([]string{"--kubeconfig", k.kubeconfig}, args...)...)
	// kubectl caches discovery under $HOME; keep the demo's to itself.
	c.Env = append(os.Environ(), "KUBECACHEDIR="+filepath.Join(k.dir, "cache"))
	return c
}

// run prints the command as a user would type it, then its output.
func (k kubectl) run(args ...string) error {
	fmt.Printf("\n$ kubectl %s\n", strings.Join(args, " "))
	c := k.cmd(args...)
	c.Stdout, c.Stderr = os.Stdout, os.Stdout
	if err := c.Run(); err != nil {
		return fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

func (k kubectl) quiet(args ...string) error {
	if out, err := k.cmd(args...).CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// rejected applies a manifest that must fail, and shows the error.
func (k kubectl) rejected(manifest string) error {
	fmt.Printf("\n$ kubectl apply -f - <<EOF\n%s\nEOF\n", manifest)
	c := k.cmd("apply", "-f", "-")
	c.Stdin = strings.NewReader(manifest)
	out, err := c.CombinedOutput()
	fmt.Print(string(out))
	if err == nil {
		return fmt.Errorf("the invalid manifest was accepted")
	}
	return nil
}

func (k kubectl) eventually(args ...string) error {
	return poll(func() error { return k.quiet(args...) })
}

func (k kubectl) waitFor(args ...string) error {
	want := args[len(args)-1]
	args = args[:len(args)-1]
	return poll(func() error {
		out, err := k.cmd(args...).Output()
		if err != nil || strings.TrimSpace(string(out)) != want {
			return fmt.Errorf("kubectl %s: got %q, want %q", strings.Join(args, " "), out, want)
		}
		return nil
	})
}

// waitWebhook waits until the webhook server answers admission requests.
func waitWebhook(k kubectl) error {
	probe := `{"apiVersion":"toolhive.stacklok.dev/v1beta1","kind":"MCPServer","metadata":{"name":"probe","namespace":"default"},"spec":{"image":"x"}}`
	return poll(func() error {
		c := k.cmd("apply", "--dry-run=server", "-f", "-")
		c.Stdin = strings.NewReader(probe)
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("webhook not ready: %s", out)
		}
		return nil
	})
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
