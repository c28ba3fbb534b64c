package operator_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/switchboard-mcp/switchboard/internal/operator"
	"github.com/switchboard-mcp/switchboard/internal/testenv"
)

// suite is an API server (envtest) with the CRDs and webhook configurations
// of config/, and one operator assembled by operator.New as a cluster runs
// it: as the ServiceAccount that config/rbac binds its roles to, with those
// roles, watching the namespaces "allowed" and "phases", serving its metrics
// and webhooks. The tests share it because controller-runtime allows one
// controller of a name per process. It starts on the first test that needs it.
var suite struct {
	once        sync.Once
	err         error
	admin       client.Client // the API server's administrator
	metricsAddr string
	webhookAddr string
	stop        func()
}

// managerAccount is the ServiceAccount config/rbac grants the manager's
// roles to, before kustomize prefixes its names.
var managerAccount = client.ObjectKey{Namespace: "system", Name: "controller-manager"}

func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	code := m.Run()
	if suite.stop != nil {
		suite.stop()
	}
	os.Exit(code)
}

// apiServer returns the administrator's client, starting the suite on first use.
func apiServer(t *testing.T) client.Client {
	t.Helper()
	suite.once.Do(func() { suite.err = startSuite() })
	if suite.err != nil {
		t.Fatal(suite.err)
	}
	return suite.admin
}

func startSuite() error {
	env, cfg, err := testenv.Start(true)
	if err != nil {
		return fmt.Errorf("start envtest: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = env.Stop()
		}
	}()
	scheme, err := operator.Scheme()
	if err != nil {
		return err
	}
	admin, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: managerAccount.Namespace}}); err != nil {
		return err
	}
	for _, f := range []string{"service_account.yaml", "role.yaml", "role_binding.yaml",
		"metrics_auth_role.yaml", "metrics_auth_role_binding.yaml", "metrics_reader_role.yaml"} {
		if err := createFromFile(ctx, admin, filepath.Join(testenv.Root(), "config", "rbac", f)); err != nil {
			return err
		}
	}
	token, err := serviceAccountToken(ctx, admin, managerAccount)
	if err != nil {
		return err
	}
	asManager := rest.AnonymousClientConfig(cfg)
	asManager.BearerToken = token

	metricsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	wo := env.WebhookInstallOptions
	mgr, err := operator.New(asManager, operator.Options{
		WatchNamespaces: []string{"allowed", phasesNamespace}, ProxyImage: "proxy:test", MetricsAddr: metricsAddr, ProbeAddr: "0",
		Webhooks: true, WebhookHost: wo.LocalServingHost, WebhookPort: wo.LocalServingPort, WebhookCertDir: wo.LocalServingCertDir,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	suite.admin, suite.metricsAddr = admin, metricsAddr
	suite.webhookAddr = net.JoinHostPort(wo.LocalServingHost, fmt.Sprint(wo.LocalServingPort))
	suite.stop = func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "operator:", err)
		}
		_ = env.Stop()
	}
	ok = true
	started := mgr.GetWebhookServer().StartedChecker()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-done:
			return fmt.Errorf("the operator stopped: %w", err)
		default:
		}
		if started(nil) == nil && listening(metricsAddr) {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the operator's webhook and metrics servers did not start within 30s")
		}
	}
}

// createFromFile creates the objects of a YAML file as they are written.
func createFromFile(ctx context.Context, k client.Client, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var u unstructured.Unstructured
		if err := d.Decode(&u.Object); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if err := k.Create(ctx, &u); err != nil {
			return fmt.Errorf("%s: create %s %s: %w", path, u.GetKind(), u.GetName(), err)
		}
	}
}

// serviceAccountToken asks the API server for a token of the account.
func serviceAccountToken(ctx context.Context, k client.Client, account client.ObjectKey) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: account.Namespace, Name: account.Name}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}
	if err := k.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", fmt.Errorf("token of %s: %w", account, err)
	}
	return tr.Status.Token, nil
}

// freeAddr is a loopback host:port nothing listens on right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
