//go:build e2e

// Package e2e proves Switchboard the way users meet it, on the cluster
// $KUBECONFIG names (`make test-e2e` starts the local one and installs
// cert-manager, the images and the operator first): kubectl as the seed
// writes it, port-forward, the switchboard CLI. Every test works in a
// namespace of its own.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	repoRoot       string
	kubectlBin     string // kubectl built with the cluster (or $KUBECTL)
	helmBin        string // bin/helm (make helm), for the seed's helm commands
	switchboardBin string // the CLI, built once per run
)

func TestMain(m *testing.M) {
	if os.Getenv("KUBECONFIG") == "" {
		fmt.Fprintln(os.Stderr, "e2e: KUBECONFIG is not set; run `make test-e2e`, which starts the local cluster")
		os.Exit(1)
	}
	root, _ := filepath.Abs("../..")
	repoRoot = root
	helmBin = filepath.Join(root, "bin", "helm")
	kubectlBin = os.Getenv("KUBECTL")
	if kubectlBin == "" {
		kubectlBin = filepath.Join(root, "bin", "k8s", "v"+k8sVersion(root), "kubectl")
	}
	dir, err := os.MkdirTemp("", "switchboard-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	switchboardBin = filepath.Join(dir, "switchboard")
	if out, err := exec.Command("go", "build", "-o", switchboardBin, "github.com/switchboard-mcp/switchboard/cmd/switchboard").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the switchboard CLI: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// k8sVersion reads K8S_VERSION from hack/versions.env, the one place it is pinned.
func k8sVersion(root string) string {
	b, _ := os.ReadFile(filepath.Join(root, "hack", "versions.env"))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "K8S_VERSION="); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// ns is a namespace of one test, deleted when it ends.
type ns struct {
	t    *testing.T
	name string
}

func newNamespace(t *testing.T) *ns {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return useNamespace(t, "e2e-"+hex.EncodeToString(b))
}

// namedNamespace is the namespace a seed manifest names; one an earlier run
// left terminating is waited out first.
func namedNamespace(t *testing.T, name string) *ns {
	t.Helper()
	if out, err := kubectl("wait", "--for=delete", "namespace/"+name, "--timeout=180s"); err != nil && !strings.Contains(out, "not found") {
		t.Fatalf("namespace %s of an earlier run is still there: %v\n%s", name, err, out)
	}
	return useNamespace(t, name)
}

func useNamespace(t *testing.T, name string) *ns {
	t.Helper()
	n := &ns{t: t, name: name}
	n.must("create", "namespace", n.name)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := kubectl("describe", "mcpservers,pods", "-n", n.name)
			t.Logf("namespace %s at failure:\n%s", n.name, out)
		}
		_, _ = kubectl("delete", "namespace", n.name, "--wait=false")
	})
	return n
}

// in is the namespace for subtest t (t.Fatal must be called on the test
// that runs it).
func (n *ns) in(t *testing.T) *ns { return &ns{t: t, name: n.name} }

// kubectl runs kubectl and returns its combined output.
func kubectl(args ...string) (string, error) {
	return kubectlIn("", args...)
}

func kubectlIn(stdin string, args ...string) (string, error) {
	return command(stdin, kubectlBin, args...)
}

// helm runs the helm CLI against the same cluster.
func helm(args ...string) (string, error) {
	return command("", helmBin, args...)
}

func command(stdin, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// run is kubectl in this namespace.
func (n *ns) run(args ...string) (string, error) {
	return kubectl(append([]string{"-n", n.name}, args...)...)
}

func (n *ns) must(args ...string) string {
	n.t.Helper()
	out, err := n.run(args...)
	if err != nil {
		n.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// apply is `kubectl apply -f -` of manifest in this namespace.
func (n *ns) apply(manifest string) (string, error) {
	return kubectlIn(manifest, "apply", "-n", n.name, "-f", "-")
}

func (n *ns) mustApply(manifest string) {
	n.t.Helper()
	if out, err := n.apply(manifest); err != nil {
		n.t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

// waitReady waits for the MCPServer's Ready condition.
func (n *ns) waitReady(server string) {
	n.t.Helper()
	n.must("wait", "mcpserver/"+server, "--for=condition=Ready", "--timeout=180s")
}

// eventually polls f until it returns "" (success) or the time is up.
func eventually(t *testing.T, within time.Duration, f func() string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if last = f(); last == "" {
			return
		}
	}
	t.Fatalf("not within %s: %s", within, last)
}

// portForward runs `kubectl port-forward <target> <local>:<remote>` and
// returns http://localhost:<local> once the forward is up.
//
//nolint:unparam // every test server listens on the seed's 8080 so far
func (n *ns) portForward(target string, remote int) string {
	n.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		n.t.Fatal(err)
	}
	local := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command(kubectlBin, "-n", n.name, "port-forward", target, fmt.Sprintf("%d:%d", local, remote))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := fmt.Sprintf("http://localhost:%d", local)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", local)); err == nil {
			_ = c.Close()
			return base
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("port-forward %s never listened: %s", target, out.String())
		}
	}
}

// health is the proxy's /health status word, or the error.
func health(base string) string {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(base + "/health")
	if err != nil {
		return err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	for _, s := range []string{"healthy", "degraded", "unhealthy"} {
		if strings.Contains(b.String(), `"status":"`+s+`"`) {
			return s
		}
	}
	return b.String()
}

// switchboard runs the CLI.
func switchboard(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, switchboardBin, args...).CombinedOutput()
	return string(out), err
}
