package v1beta1_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/testenv"
	webhookv1beta1 "github.com/switchboard-mcp/switchboard/internal/webhook/v1beta1"
)

// suite is a kube-apiserver and etcd (envtest) with the CRDs and webhook
// configurations from config/, calling a manager that serves only these
// webhooks. It starts on the first test that needs it, so the unit tests of
// this package run without it; a test that needs it and cannot have it
// fails (never skips) with the reason.
var suite struct {
	once   sync.Once
	err    error
	cfg    *rest.Config
	scheme *runtime.Scheme
	stop   func()
}

func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	code := m.Run()
	if suite.stop != nil {
		suite.stop()
	}
	os.Exit(code)
}

// apiServer returns the suite's API server, starting it on first use.
func apiServer(t *testing.T) *rest.Config {
	t.Helper()
	suite.once.Do(func() { suite.err = startSuite() })
	if suite.err != nil {
		t.Fatal(suite.err)
	}
	return suite.cfg
}

func startSuite() error {
	// testenv.Start fails, naming `make envtest-assets`, when
	// KUBEBUILDER_ASSETS is unset.
	env, cfg, err := testenv.Start(true)
	if err != nil {
		return fmt.Errorf("start envtest: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), v1beta1.AddToScheme(scheme)); err != nil {
		_ = env.Stop()
		return err
	}
	wo := env.WebhookInstallOptions
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: wo.LocalServingHost, Port: wo.LocalServingPort, CertDir: wo.LocalServingCertDir,
		}),
	})
	if err == nil {
		err = errors.Join(webhookv1beta1.SetupMCPServerWebhookWithManager(mgr, webhookv1beta1.Options{ProxyImage: "switchboard/proxy:test"}), webhookv1beta1.SetupConfigWebhooksWithManager(mgr))
	}
	if err != nil {
		_ = env.Stop()
		return fmt.Errorf("webhook manager: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	suite.cfg, suite.scheme = cfg, scheme
	suite.stop = func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "webhook manager:", err)
		}
		_ = env.Stop()
	}
	return waitForWebhooks(mgr)
}

// waitForWebhooks waits until the webhook server answers and the API server
// calls it: a pod template without an mcp container, which only the
// validating webhook rejects, is rejected by it.
func waitForWebhooks(mgr ctrl.Manager) error {
	started := mgr.GetWebhookServer().StartedChecker()
	k, err := client.New(suite.cfg, client.Options{Scheme: suite.scheme})
	if err != nil {
		return err
	}
	probe := &v1beta1.MCPServer{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "default"},
		Spec:       v1beta1.MCPServerSpec{Image: "probe", PodTemplateSpec: rawJSON(`{"spec":{"containers":[{"name":"other","image":"x"}]}}`)},
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := started(nil)
		if err == nil {
			err = k.Create(context.Background(), probe.DeepCopy(), client.DryRunAll)
			if err == nil {
				err = errors.New("the API server admitted the probe without calling the validating webhook")
			} else if strings.Contains(err.Error(), `admission webhook "vmcpserver-v1beta1.kb.io" denied the request`) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("webhooks not serving after 30s: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// warningRecorder collects the warnings the API server returns to a client.
type warningRecorder struct {
	mu   sync.Mutex
	list []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.list
	w.list = nil
	return out
}

// newClient returns a client of the suite's API server and the warnings it
// receives.
func newClient(t *testing.T) (client.Client, *warningRecorder) {
	t.Helper()
	w := &warningRecorder{}
	cfg := rest.CopyConfig(apiServer(t))
	cfg.WarningHandler = w
	k, err := client.New(cfg, client.Options{Scheme: suite.scheme})
	if err != nil {
		t.Fatal(err)
	}
	return k, w
}

func ensureNamespace(t *testing.T, k client.Client, name string) {
	t.Helper()
	err := k.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}
