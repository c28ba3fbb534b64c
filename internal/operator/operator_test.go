package operator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/operator"
)

// In namespace mode the operator ignores MCPServers outside its namespaces,
// as the seed's troubleshooting section describes. The suite's operator
// watches "allowed" (and "phases", which only the metrics test uses).
func TestWatchNamespacesIgnoresOtherNamespaces(t *testing.T) {
	k := apiServer(t)
	ctx := context.Background()
	for _, ns := range []string{"allowed", "elsewhere"} {
		if err := k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
		s := &v1beta1.MCPServer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "osv"}, Spec: v1beta1.MCPServerSpec{Image: "example/osv"}}
		if err := k.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}

	deadline := time.Now().Add(20 * time.Second)
	for {
		err := k.Get(ctx, client.ObjectKey{Namespace: "allowed", Name: "osv"}, &appsv1.Deployment{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the MCPServer in an allowed namespace was not reconciled: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The allowed server is done; the other has had the same time and more.
	time.Sleep(time.Second)
	var ignored v1beta1.MCPServer
	if err := k.Get(ctx, client.ObjectKey{Namespace: "elsewhere", Name: "osv"}, &ignored); err != nil {
		t.Fatal(err)
	}
	if ignored.Status.Phase != "" {
		t.Errorf("an MCPServer outside --watch-namespaces got status %+v", ignored.Status)
	}
	var deps appsv1.DeploymentList
	if err := k.List(ctx, &deps, client.InNamespace("elsewhere")); err != nil {
		t.Fatal(err)
	}
	if len(deps.Items) != 0 {
		t.Errorf("the operator created %d Deployments outside --watch-namespaces", len(deps.Items))
	}
}

func TestAProxyImageIsRequired(t *testing.T) {
	if _, err := operator.New(nil, operator.Options{}); err == nil || !strings.Contains(err.Error(), "--proxy-image") {
		t.Errorf("New without a proxy image: %v, want an error naming --proxy-image", err)
	}
}
