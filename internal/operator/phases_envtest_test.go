package operator_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/operator"
)

// hold is a finalizer of the test's own that keeps a deleted MCPServer
// Terminating until the test lets it go.
const hold = "test.switchboard.dev/hold"

// The operator's /metrics counts the MCPServers of each watched namespace by
// phase, from its cache, for the caller Prometheus's account would be; the
// servers of a namespace it does not watch are not counted.
func TestMetricsCountMCPServersByPhase(t *testing.T) {
	k := apiServer(t)
	ctx := context.Background()
	for _, ns := range []string{phasesNamespace, "phases-unwatched"} {
		if err := k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	create := func(ns, name string, spec v1beta1.MCPServerSpec, finalizers ...string) {
		t.Helper()
		spec.Image = "example/osv"
		s := &v1beta1.MCPServer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Finalizers: finalizers}, Spec: spec}
		if err := k.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	create(phasesNamespace, "waiting-a", v1beta1.MCPServerSpec{})
	create(phasesNamespace, "waiting-b", v1beta1.MCPServerSpec{})
	create(phasesNamespace, "ready", v1beta1.MCPServerSpec{})
	create(phasesNamespace, "failed", v1beta1.MCPServerSpec{})
	create(phasesNamespace, "stopped", v1beta1.MCPServerSpec{Replicas: ptr.To[int32](0)})
	create(phasesNamespace, "leaving", v1beta1.MCPServerSpec{}, hold)
	create("phases-unwatched", "ignored", v1beta1.MCPServerSpec{})
	t.Cleanup(func() { release(t, k, client.ObjectKey{Namespace: phasesNamespace, Name: "leaving"}) })
	if err := k.Delete(ctx, &v1beta1.MCPServer{ObjectMeta: metav1.ObjectMeta{Namespace: phasesNamespace, Name: "leaving"}}); err != nil {
		t.Fatal(err)
	}

	// No kube-controller-manager runs in envtest: play its part for the
	// workloads of "ready" (all up) and "failed" (no pod can be created).
	playWorkloads(t, k, "ready", func(sts *appsv1.StatefulSet, dep *appsv1.Deployment) {
		sts.Status = appsv1.StatefulSetStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, CurrentReplicas: 1, UpdatedReplicas: 1}
		dep.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 1}
	})
	playWorkloads(t, k, "failed", func(_ *appsv1.StatefulSet, dep *appsv1.Deployment) {
		dep.Status.Conditions = []appsv1.DeploymentCondition{{
			Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate",
			Message: `pods "failed-0" is forbidden: exceeded quota`,
		}}
	})
	want := map[string]float64{"Pending": 2, "Ready": 1, "Failed": 1, "Stopped": 1, "Terminating": 1}
	for name, phase := range map[string]v1beta1.MCPServerPhase{
		"waiting-a": v1beta1.PhasePending, "waiting-b": v1beta1.PhasePending, "ready": v1beta1.PhaseReady,
		"failed": v1beta1.PhaseFailed, "stopped": v1beta1.PhaseStopped, "leaving": v1beta1.PhaseTerminating,
	} {
		waitFor(t, name+" "+string(phase), func() error {
			var s v1beta1.MCPServer
			if err := k.Get(ctx, client.ObjectKey{Namespace: phasesNamespace, Name: name}, &s); err != nil {
				return err
			}
			if s.Status.Phase != phase {
				return fmt.Errorf("phase %q (%s)", s.Status.Phase, s.Status.Message)
			}
			return nil
		})
	}

	prometheus := readerToken(t, k)
	var got map[string]map[string]float64
	waitFor(t, "the counts in /metrics", func() error {
		code, body := getMetrics(t, prometheus)
		if code != http.StatusOK {
			return fmt.Errorf("GET /metrics: %d %s", code, body)
		}
		var err error
		if got, err = mcpServerCounts(body); err != nil {
			return err
		}
		if diff := cmp.Diff(want, got[phasesNamespace]); diff != "" {
			return fmt.Errorf("%s{namespace=%q} (-want +got):\n%s", operator.MCPServersMetric, phasesNamespace, diff)
		}
		return nil
	})
	if _, ok := got["phases-unwatched"]; ok {
		t.Errorf("a namespace the operator does not watch is counted: %v", got["phases-unwatched"])
	}
}

// phasesNamespace is the suite operator's second watched namespace, which
// only TestMetricsCountMCPServersByPhase uses, so that it knows every
// server there.
const phasesNamespace = "phases"

// playWorkloads waits for the server's backend StatefulSet and proxy
// Deployment and writes the status set gives them.
func playWorkloads(t *testing.T, k client.Client, name string, set func(*appsv1.StatefulSet, *appsv1.Deployment)) {
	t.Helper()
	ctx := context.Background()
	key := client.ObjectKey{Namespace: phasesNamespace, Name: name}
	var sts appsv1.StatefulSet
	var dep appsv1.Deployment
	waitFor(t, "the workloads of "+name, func() error {
		if err := k.Get(ctx, key, &sts); err != nil {
			return err
		}
		return k.Get(ctx, key, &dep)
	})
	set(&sts, &dep)
	if err := k.Status().Update(ctx, &sts); err != nil {
		t.Fatalf("status of StatefulSet %s: %v", key, err)
	}
	if err := k.Status().Update(ctx, &dep); err != nil {
		t.Fatalf("status of Deployment %s: %v", key, err)
	}
}

// readerToken is the token of an account bound to the metrics-reader
// ClusterRole, as Prometheus's is in a cluster.
func readerToken(t *testing.T, k client.Client) string {
	t.Helper()
	ctx := context.Background()
	account := client.ObjectKey{Namespace: phasesNamespace, Name: "scraper"}
	if err := k.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: account.Namespace, Name: account.Name}}); err != nil {
		t.Fatal(err)
	}
	if err := k.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "phases-scraper-reads-metrics"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: account.Namespace, Name: account.Name}},
	}); err != nil {
		t.Fatal(err)
	}
	token, err := serviceAccountToken(ctx, k, account)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// mcpServerCounts parses an exposition and returns the MCPServer gauge by
// namespace and phase.
func mcpServerCounts(body string) (map[string]map[string]float64, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse /metrics: %w", err)
	}
	f, ok := families[operator.MCPServersMetric]
	if !ok {
		return nil, fmt.Errorf("/metrics has no %s among %v", operator.MCPServersMetric, slices.Sorted(maps.Keys(families)))
	}
	out := map[string]map[string]float64{}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if out[labels["namespace"]] == nil {
			out[labels["namespace"]] = map[string]float64{}
		}
		out[labels["namespace"]][labels["phase"]] = m.GetGauge().GetValue()
	}
	return out, nil
}

// release removes the test's finalizer so that the server goes away.
func release(t *testing.T, k client.Client, key client.ObjectKey) {
	t.Helper()
	ctx := context.Background()
	var s v1beta1.MCPServer
	if err := k.Get(ctx, key, &s); apierrors.IsNotFound(err) {
		return
	} else if err != nil {
		t.Error(err)
		return
	}
	patch := client.MergeFrom(s.DeepCopy())
	s.Finalizers = nil
	if err := k.Patch(ctx, &s, patch); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("release %s: %v", key, err)
	}
}

// waitFor retries check for up to 30 s.
func waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
