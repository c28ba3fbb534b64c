package operator_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The metrics endpoint answers, over HTTPS, only a caller whose token the
// API server authenticates and whom RBAC lets get /metrics: the
// metrics-reader ClusterRole of config/rbac, bound to Prometheus's account
// in a cluster. The operator itself runs with config/rbac's roles, so this
// also proves they let it ask the API server.
func TestMetricsAnswerOnlyAuthorizedCallers(t *testing.T) {
	k := apiServer(t)
	ctx := context.Background()
	if err := k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "monitoring"}}); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, name := range []string{"prometheus", "stranger"} {
		if err := k.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: name}}); err != nil {
			t.Fatal(err)
		}
		token, err := serviceAccountToken(ctx, k, client.ObjectKey{Namespace: "monitoring", Name: name})
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = token
	}
	if err := k.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-reads-metrics"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "monitoring", Name: "prometheus"}},
	}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"a request without a token is refused", "", http.StatusUnauthorized},
		// controller-runtime's filter answers a token that the TokenReview
		// rejects with 500 "Authentication failed", not 401.
		{"a token the API server does not know is refused", "not-a-token", http.StatusInternalServerError},
		{"an account not allowed to get /metrics is forbidden", tokens["stranger"], http.StatusForbidden},
		{"an account bound to metrics-reader gets the metrics", tokens["prometheus"], http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := getMetrics(t, tt.token)
			if code != tt.want {
				t.Fatalf("GET /metrics: %d %s, want %d", code, body, tt.want)
			}
			if code != http.StatusOK {
				if strings.Contains(body, "controller_runtime_") {
					t.Errorf("a refused request got metrics:\n%s", body)
				}
				return
			}
			// The controller's metrics appear once its caches have synced.
			const reconciles = `controller_runtime_reconcile_total{controller="mcpserver"`
			for deadline := time.Now().Add(30 * time.Second); !strings.Contains(body, reconciles); time.Sleep(200 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the metrics lack %s:\n%s", reconciles, body)
				}
				code, body = getMetrics(t, tt.token)
				if code != http.StatusOK {
					t.Fatalf("GET /metrics again: %d %s", code, body)
				}
			}
		})
	}
}

// getMetrics asks the metrics endpoint with a bearer token ("" for none).
// The server's certificate is controller-runtime's self-signed one, which
// a scraper inside the cluster also accepts without verifying.
func getMetrics(t *testing.T, token string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // self-signed, see above
	}}
	req, err := http.NewRequest(http.MethodGet, "https://"+suite.metricsAddr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// Neither the webhook nor the metrics server agrees to HTTP/2 by default
// (CVE-2023-44487, CVE-2023-39325): a client that offers h2 in the TLS
// handshake gets HTTP/1.1.
func TestServersRefuseHTTP2(t *testing.T) {
	apiServer(t)
	for name, addr := range map[string]string{"webhook": suite.webhookAddr, "metrics": suite.metricsAddr} {
		t.Run(name, func(t *testing.T) {
			conn, err := tls.Dial("tcp", addr, &tls.Config{
				InsecureSkipVerify: true, // only the negotiated protocol matters here
				NextProtos:         []string{"h2", "http/1.1"},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			if got := conn.ConnectionState().NegotiatedProtocol; got != "http/1.1" {
				t.Errorf("the %s server negotiated %q, want http/1.1", name, got)
			}
		})
	}
}
