package controller_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

var ctx = context.Background()

func createServer(t *testing.T, ns, name string, spec v1beta1.MCPServerSpec) *v1beta1.MCPServer {
	t.Helper()
	s := &v1beta1.MCPServer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	if err := k8s.Create(ctx, s); err != nil {
		t.Fatalf("create MCPServer: %v", err)
	}
	return s
}

func get(t *testing.T, ns, name string, obj client.Object) error {
	t.Helper()
	return k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj)
}

// statusOf waits until the server's status satisfies cond.
func statusOf(t *testing.T, ns, name, what string, cond func(v1beta1.MCPServerStatus) error) v1beta1.MCPServerStatus {
	t.Helper()
	var s v1beta1.MCPServer
	eventually(t, what, func() error {
		if err := get(t, ns, name, &s); err != nil {
			return err
		}
		return cond(s.Status)
	})
	return s.Status
}

// workloads waits until the server's proxy Deployment and backend
// StatefulSet exist and pass ok (nil: as they are).
func workloads(t *testing.T, ns, name, what string, ok func(*appsv1.Deployment, *appsv1.StatefulSet) error) (*appsv1.Deployment, *appsv1.StatefulSet) {
	t.Helper()
	var dep appsv1.Deployment
	var sts appsv1.StatefulSet
	eventually(t, what, func() error {
		if err := get(t, ns, name, &dep); err != nil {
			return err
		}
		if err := get(t, ns, name, &sts); err != nil {
			return err
		}
		if ok == nil {
			return nil
		}
		return ok(&dep, &sts)
	})
	return &dep, &sts
}

func condition(st v1beta1.MCPServerStatus, typ string) *metav1.Condition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == typ {
			return &st.Conditions[i]
		}
	}
	return nil
}

func TestEveryChildIsCreatedOwnedAndApplied(t *testing.T) {
	ns := namespace(t)
	createServer(t, ns, "osv", v1beta1.MCPServerSpec{Image: "ghcr.io/stackloklabs/osv-mcp/server", Transport: "streamable-http"})

	children := []struct {
		name string
		obj  client.Object
	}{
		{"osv", &corev1.ServiceAccount{}}, {"osv", &rbacv1.Role{}}, {"osv", &rbacv1.RoleBinding{}},
		{"osv-sa", &corev1.ServiceAccount{}}, {"mcp-osv-proxy", &corev1.Service{}}, {"mcp-osv-headless", &corev1.Service{}},
		{"osv", &appsv1.StatefulSet{}}, {"osv", &appsv1.Deployment{}},
	}
	for _, c := range children {
		eventually(t, fmt.Sprintf("%T %s", c.obj, c.name), func() error {
			if err := get(t, ns, c.name, c.obj); err != nil {
				return err
			}
			refs := c.obj.GetOwnerReferences()
			if len(refs) != 1 || refs[0].Kind != "MCPServer" || refs[0].Name != "osv" || !ptr.Deref(refs[0].Controller, false) {
				return fmt.Errorf("owner references %+v, want the MCPServer as controller", refs)
			}
			for _, mf := range c.obj.GetManagedFields() {
				if mf.Manager == "switchboard" && mf.Operation == metav1.ManagedFieldsOperationApply {
					return nil
				}
			}
			return fmt.Errorf("no server-side apply by field manager switchboard in %+v", c.obj.GetManagedFields())
		})
	}

	st := statusOf(t, ns, "osv", "pending status", func(st v1beta1.MCPServerStatus) error {
		if st.Phase != v1beta1.PhasePending || !strings.Contains(st.Message, "waiting for backend StatefulSet osv") {
			return fmt.Errorf("phase %q message %q", st.Phase, st.Message)
		}
		return nil
	})
	if st.URL != "http://mcp-osv-proxy."+ns+".svc.cluster.local:8080/mcp" {
		t.Errorf("url = %q", st.URL)
	}
	for _, c := range st.Conditions {
		if c.ObservedGeneration != 1 {
			t.Errorf("condition %s has observedGeneration %d, want 1", c.Type, c.ObservedGeneration)
		}
	}
}

func TestDeletedChildIsRecreated(t *testing.T) {
	ns := namespace(t)
	createServer(t, ns, "fetch", v1beta1.MCPServerSpec{Image: "ghcr.io/stackloklabs/gofetch/server", Transport: "streamable-http"})
	var svc corev1.Service
	eventually(t, "proxy service", func() error { return get(t, ns, "mcp-fetch-proxy", &svc) })
	oldUID := svc.UID
	if err := k8s.Delete(ctx, &svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, "proxy service re-created", func() error {
		var again corev1.Service
		if err := get(t, ns, "mcp-fetch-proxy", &again); err != nil {
			return err
		}
		if again.UID == oldUID {
			return fmt.Errorf("still the old service")
		}
		return nil
	})
}

func TestRolloutRestartAndHPAAreNotReverted(t *testing.T) {
	ns := namespace(t)
	createServer(t, ns, "web", v1beta1.MCPServerSpec{Image: "example/web:1", Transport: "streamable-http"})
	var dep appsv1.Deployment
	eventually(t, "proxy deployment", func() error { return get(t, ns, "web", &dep) })

	// What `kubectl rollout restart` and an HPA do, under their own managers.
	restart := []byte(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-24T10:00:00Z"}}}}}`)
	if err := k8s.Patch(ctx, &dep, client.RawPatch(types.StrategicMergePatchType, restart), client.FieldOwner("kubectl-rollout")); err != nil {
		t.Fatalf("restart: %v", err)
	}
	scale := []byte(`{"spec":{"replicas":5}}`)
	if err := k8s.Patch(ctx, &dep, client.RawPatch(types.MergePatchType, scale), client.FieldOwner("horizontal-pod-autoscaler")); err != nil {
		t.Fatalf("scale: %v", err)
	}

	// A spec change makes the operator apply again.
	updateServer(t, ns, "web", func(s *v1beta1.MCPServer) {
		s.Spec.Resources.Limits = corev1.ResourceList{"memory": mustQuantity("256Mi")}
	})
	eventually(t, "re-applied deployment", func() error {
		if err := get(t, ns, "web", &dep); err != nil {
			return err
		}
		if _, ok := dep.Spec.Template.Spec.Containers[0].Resources.Limits["memory"]; !ok {
			return fmt.Errorf("operator has not applied the new spec yet")
		}
		return nil
	})
	if dep.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Error("the operator reverted kubectl rollout restart")
	}
	if ptr.Deref(dep.Spec.Replicas, 0) != 5 {
		t.Errorf("replicas = %d, the operator reverted the HPA's 5", ptr.Deref(dep.Spec.Replicas, 0))
	}
}

func TestStatusFollowsTheWorkloadsAndPods(t *testing.T) {
	ns := namespace(t)
	createServer(t, ns, "osv", v1beta1.MCPServerSpec{Image: "ghcr.io/stackloklabs/osv-mcp/server", Transport: "streamable-http"})
	dep, sts := workloads(t, ns, "osv", "workloads", nil)

	// No kube-controller-manager runs in envtest: play its part.
	sts.Status = appsv1.StatefulSetStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, CurrentReplicas: 1, UpdatedReplicas: 1}
	if err := k8s.Status().Update(ctx, sts); err != nil {
		t.Fatalf("statefulset status: %v", err)
	}
	dep.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 1}
	if err := k8s.Status().Update(ctx, dep); err != nil {
		t.Fatalf("deployment status: %v", err)
	}
	st := statusOf(t, ns, "osv", "ready", func(st v1beta1.MCPServerStatus) error {
		if st.Phase != v1beta1.PhaseReady || st.ReadyReplicas != 1 {
			return fmt.Errorf("phase %q readyReplicas %d message %q", st.Phase, st.ReadyReplicas, st.Message)
		}
		return nil
	})
	if c := condition(st, v1beta1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Ready condition = %+v", c)
	}

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "osv-0", Labels: sts.Spec.Template.Labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "mcp", Image: "ghcr.io/stackloklabs/osv-mcp/server"}}},
	}
	if err := k8s.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "mcp", Image: "ghcr.io/stackloklabs/osv-mcp/server",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}}}
	if err := k8s.Status().Update(ctx, pod); err != nil {
		t.Fatal(err)
	}
	statusOf(t, ns, "osv", "failed on the image pull", func(st v1beta1.MCPServerStatus) error {
		if st.Phase != v1beta1.PhaseFailed || !strings.Contains(st.Message, "backend pod osv-0, container mcp: image") {
			return fmt.Errorf("phase %q message %q", st.Phase, st.Message)
		}
		return nil
	})
	eventually(t, "a warning event", func() error {
		var evs eventsv1.EventList
		if err := k8s.List(ctx, &evs, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.Regarding.Kind == "MCPServer" && e.Reason == "ImagePullFailed" && e.Type == corev1.EventTypeWarning {
				if e.Series != nil {
					return fmt.Errorf("the transition was recorded %d times", e.Series.Count)
				}
				return nil
			}
		}
		return fmt.Errorf("no ImagePullFailed warning among %d events", len(evs.Items))
	})
}

func TestSecretAppliedAfterTheServer(t *testing.T) {
	ns := namespace(t)
	createServer(t, ns, "github", v1beta1.MCPServerSpec{Image: "ghcr.io/github/github-mcp-server",
		Secrets: []v1beta1.SecretRef{{Name: "github-token", Key: "token", TargetEnvName: "GITHUB_PERSONAL_ACCESS_TOKEN"}}})

	st := statusOf(t, ns, "github", "secret missing", func(st v1beta1.MCPServerStatus) error {
		c := condition(st, v1beta1.ConditionSecretsResolved)
		if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, `Secret "github-token"`) {
			return fmt.Errorf("SecretsResolved = %+v", c)
		}
		return nil
	})
	if st.Phase != v1beta1.PhasePending {
		t.Errorf("phase %q, want Pending while the secret is missing", st.Phase)
	}
	var sts appsv1.StatefulSet
	eventually(t, "backend created before the secret exists", func() error { return get(t, ns, "github", &sts) })

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "github-token"}, StringData: map[string]string{"token": "one"}}
	if err := k8s.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	statusOf(t, ns, "github", "secret resolved", func(st v1beta1.MCPServerStatus) error {
		if c := condition(st, v1beta1.ConditionSecretsResolved); c == nil || c.Status != metav1.ConditionTrue {
			return fmt.Errorf("SecretsResolved = %+v", c)
		}
		return nil
	})
	hash := func() string {
		var sts appsv1.StatefulSet
		if err := get(t, ns, "github", &sts); err != nil {
			return ""
		}
		return sts.Spec.Template.Annotations["switchboard.dev/secrets-hash"]
	}
	var first string
	eventually(t, "hash annotation", func() error {
		if first = hash(); first == "" {
			return fmt.Errorf("no secrets hash on the pod template")
		}
		return nil
	})
	secret.StringData = map[string]string{"token": "two"}
	if err := k8s.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}
	eventually(t, "rotation rolls the backend", func() error {
		if h := hash(); h == first {
			return fmt.Errorf("hash still %s", h)
		}
		return nil
	})
}

func TestSwitchingToStdioRemovesTheHeadlessService(t *testing.T) {
	ns := namespace(t)
	s := createServer(t, ns, "sw", v1beta1.MCPServerSpec{Image: "example/sw:1", Transport: "sse"})
	eventually(t, "headless service", func() error { return get(t, ns, "mcp-sw-headless", &corev1.Service{}) })
	updateServer(t, ns, s.Name, func(s *v1beta1.MCPServer) { s.Spec.Transport, s.Spec.ProxyMode = v1beta1.TransportStdio, "" })
	eventually(t, "headless service removed", func() error {
		err := get(t, ns, "mcp-sw-headless", &corev1.Service{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there (err %w)", err)
	})
	var role rbacv1.Role
	eventually(t, "stdio proxy may attach", func() error {
		if err := get(t, ns, "sw", &role); err != nil {
			return err
		}
		for _, r := range role.Rules {
			if r.Resources[0] == "pods/attach" {
				return nil
			}
		}
		return fmt.Errorf("rules %+v lack pods/attach", role.Rules)
	})
}

func TestStoppedAndSessionStorageWarning(t *testing.T) {
	ns := namespace(t)
	createServer(t, ns, "zero", v1beta1.MCPServerSpec{Image: "example/z:1", Replicas: ptr.To[int32](0)})
	statusOf(t, ns, "zero", "stopped", func(st v1beta1.MCPServerStatus) error {
		if st.Phase != v1beta1.PhaseStopped {
			return fmt.Errorf("phase %q", st.Phase)
		}
		return nil
	})
	createServer(t, ns, "two", v1beta1.MCPServerSpec{Image: "example/t:1", Transport: v1beta1.TransportStreamableHTTP, Replicas: ptr.To[int32](2)})
	statusOf(t, ns, "two", "session storage warning", func(st v1beta1.MCPServerStatus) error {
		if c := condition(st, v1beta1.ConditionSessionStorageWarning); c == nil || c.Status != metav1.ConditionTrue {
			return fmt.Errorf("SessionStorageWarning = %+v", c)
		}
		return nil
	})
	// A stdio server's sessions stay in the proxy pod that created them,
	// and the default ClientIP affinity keeps each client there.
	createServer(t, ns, "stdio-two", v1beta1.MCPServerSpec{Image: "example/t:1", Replicas: ptr.To[int32](2)})
	statusOf(t, ns, "stdio-two", "sessions kept by affinity", func(st v1beta1.MCPServerStatus) error {
		if c := condition(st, v1beta1.ConditionSessionStorageWarning); c == nil || c.Status != metav1.ConditionFalse || c.Reason != v1beta1.ReasonStdioAffinity {
			return fmt.Errorf("SessionStorageWarning = %+v", c)
		}
		return nil
	})
	eventually(t, "a SessionStorageWarning event for two, none for zero or stdio-two", func() error {
		var evs eventsv1.EventList
		if err := k8s.List(ctx, &evs, client.InNamespace(ns)); err != nil {
			return err
		}
		var got []string
		for _, e := range evs.Items {
			if e.Action == v1beta1.ConditionSessionStorageWarning {
				got = append(got, e.Regarding.Name+"/"+e.Type+"/"+e.Reason)
			}
		}
		if want := []string{"two/Warning/" + v1beta1.ReasonNoSharedSessions}; !slices.Equal(got, want) {
			return fmt.Errorf("SessionStorageWarning events %v, want %v", got, want)
		}
		return nil
	})
}

// updateServer changes the spec as a user would, again on a conflict with
// the operator's status writes.
func updateServer(t *testing.T, ns, name string, change func(*v1beta1.MCPServer)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var s v1beta1.MCPServer
		if err := get(t, ns, name, &s); err != nil {
			return err
		}
		change(&s)
		return k8s.Update(ctx, &s)
	})
	if err != nil {
		t.Fatalf("update MCPServer %s: %v", name, err)
	}
}
