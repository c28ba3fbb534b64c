package v1beta1_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/switchboard-mcp/switchboard/internal/operator"
	"github.com/switchboard-mcp/switchboard/internal/testenv"
)

// cfg reaches the envtest API server, whose admission calls the operator's
// webhook server on 127.0.0.1.
var cfg *rest.Config

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	env, c, err := testenv.Start(true)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start envtest:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	cfg = c
	wo := env.WebhookInstallOptions
	mgr, err := operator.New(cfg, operator.Options{
		ProxyImage: "proxy:test", MetricsAddr: "0", ProbeAddr: "0",
		Webhooks: true, WebhookHost: wo.LocalServingHost, WebhookPort: wo.LocalServingPort, WebhookCertDir: wo.LocalServingCertDir,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = mgr.Start(ctx) }()
	if err := waitForWebhook(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// warnings collects the warnings the API server returns to one client.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// newClient returns a client and the warnings it receives.
func newClient(t *testing.T) (client.Client, *warnings) {
	t.Helper()
	w := &warnings{}
	c := rest.CopyConfig(cfg)
	c.WarningHandler = w
	scheme, err := operator.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	k, err := client.New(c, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return k, w
}

func ensureNamespace(ctx context.Context, k client.Client, name string) error {
	err := k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// waitForWebhook waits until admission requests reach the webhook server.
func waitForWebhook(ctx context.Context) error {
	scheme, err := operator.Scheme()
	if err != nil {
		return err
	}
	k, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	probe := func() error {
		_, err := applyYAML(ctx, k, "apiVersion: toolhive.stacklok.dev/v1beta1\nkind: MCPServer\nmetadata: {name: probe, namespace: default}\nspec: {image: x}\n", true)
		return err
	}
	return poll(probe)
}
