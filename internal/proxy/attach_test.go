package proxy_test

import (
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
	"github.com/switchboard-mcp/switchboard/internal/testenv"
)

// fakeKubelet answers attach requests where no kubelet runs: each pod is a
// real MCP server (named after the pod) on the other end of the stream.
type fakeKubelet struct {
	mu   sync.Mutex
	open int
}

func (f *fakeKubelet) attach(ctx context.Context, pod *corev1.Pod) (io.WriteCloser, io.ReadCloser, error) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	f.mu.Lock()
	f.open++
	f.mu.Unlock()
	go func() {
		_ = mcptest.NewServerNamed(pod.Name).Run(ctx, &mcp.IOTransport{Reader: inR, Writer: outW})
		_ = outW.Close()
		f.mu.Lock()
		f.open--
		f.mu.Unlock()
	}()
	go func() { <-ctx.Done(); _ = inR.Close() }()
	return inW, outR, nil
}

func (f *fakeKubelet) streams() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open
}

func runningPod(t *testing.T, k kubernetes.Interface, ns, name string) {
	t.Helper()
	ctx := context.Background()
	pod, err := k.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/instance": "github", "app.kubernetes.io/component": "mcp"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "mcp", Image: "ghcr.io/github/github-mcp-server", Stdin: true}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "mcp", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	if _, err := k.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestStdioPodIsAttachedAndReattachedWhenReplaced(t *testing.T) {
	env, cfg, err := testenv.Start(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	k := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	ns := "production"
	if _, err := k.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	runningPod(t, k, ns, "github-0")
	kubelet := &fakeKubelet{}
	r := startProxy(t, func(o *proxy.Options) {
		o.BackendCommand = nil
		o.BackendSelector = "app.kubernetes.io/instance=github,app.kubernetes.io/component=mcp"
		o.Namespace, o.KubeConfig, o.Attach = ns, cfg, kubelet.attach
	})
	cs := connect(t, r, sessionful, nil)
	if got := callText(t, cs, "whoami", nil); got != "github-0" {
		t.Fatalf("attached to %q, want github-0", got)
	}

	// The pod is replaced: detach at once (unhealthy, no stream left open)…
	if err := k.CoreV1().Pods(ns).Delete(ctx, "github-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.waitHealth(t, http.StatusServiceUnavailable)
	for deadline := time.Now().Add(5 * time.Second); kubelet.streams() != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d attach streams still open after the pod went away", kubelet.streams())
		}
	}
	// …and attach to the new pod, where the same session goes on.
	runningPod(t, k, ns, "github-0")
	r.waitHealth(t, http.StatusOK)
	var got string
	for deadline := time.Now().Add(10 * time.Second); got != "github-0" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if res, err := cs.CallTool(callCtx, &mcp.CallToolParams{Name: "whoami"}); err == nil && !res.IsError {
			got = res.Content[0].(*mcp.TextContent).Text
		}
		cancel()
	}
	if got != "github-0" {
		t.Fatal("the session did not go on after the pod was replaced")
	}
	if n := kubelet.streams(); n != 1 {
		t.Errorf("%d attach streams open, want exactly 1", n)
	}
}
