package controller_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

const (
	restartedAt   = "mcpserver.toolhive.stacklok.dev/restarted-at"
	lastProcessed = "mcpserver.toolhive.stacklok.dev/last-processed-restart"
)

// annotate sets annotations on the MCPServer, as kubectl annotate does: the
// generation does not change.
func annotate(t *testing.T, ns, name string, kv map[string]string) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var s v1beta1.MCPServer
		if err := get(t, ns, name, &s); err != nil {
			return err
		}
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		maps.Copy(s.Annotations, kv)
		return k8s.Update(ctx, &s)
	})
	if err != nil {
		t.Fatalf("annotate MCPServer %s: %v", name, err)
	}
}

// processed waits until the server records at as its last processed restart.
func processed(t *testing.T, ns, name, at string) {
	t.Helper()
	eventually(t, "last-processed-restart "+at, func() error {
		var s v1beta1.MCPServer
		if err := get(t, ns, name, &s); err != nil {
			return err
		}
		if got := s.Annotations[lastProcessed]; got != at {
			return fmt.Errorf("last-processed-restart %q", got)
		}
		return nil
	})
}

// TestRestartAnnotations: ToolHive's restart annotation alone (no spec
// change) rolls both workloads; with the immediate strategy it deletes the
// server's proxy and backend pods, once per value; a time that is not one
// restarts nothing and says so in a Warning event.
func TestRestartAnnotations(t *testing.T) {
	ns := namespace(t)
	createServer(t, ns, "osv", v1beta1.MCPServerSpec{Image: "example/osv:1", Transport: v1beta1.TransportStreamableHTTP})
	workloads(t, ns, "osv", "workloads", nil)

	const t1, t2 = "2026-01-02T15:04:05Z", "2026-01-02T16:00:00Z"
	annotate(t, ns, "osv", map[string]string{restartedAt: t1})
	dep, sts := workloads(t, ns, "osv", "both pod templates carry the restart", func(dep *appsv1.Deployment, sts *appsv1.StatefulSet) error {
		if a, b := dep.Spec.Template.Annotations[restartedAt], sts.Spec.Template.Annotations[restartedAt]; a != t1 || b != t1 {
			return fmt.Errorf("restarted-at on the proxy %q, on the backend %q", a, b)
		}
		return nil
	})
	processed(t, ns, "osv", t1)

	pod := func(name string, labels map[string]string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example/c:1"}}}}
		if err := k8s.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	other := maps.Clone(sts.Spec.Template.Labels)
	other["app.kubernetes.io/instance"] = "other"
	restarted := []*corev1.Pod{pod("osv-proxy", dep.Spec.Template.Labels), pod("osv-0", sts.Spec.Template.Labels)}
	kept := pod("other-0", other)
	annotate(t, ns, "osv", map[string]string{restartedAt: t2, "mcpserver.toolhive.stacklok.dev/restart-strategy": "immediate"})
	processed(t, ns, "osv", t2)
	for _, p := range restarted {
		if err := get(t, ns, p.Name, &corev1.Pod{}); !apierrors.IsNotFound(err) {
			t.Errorf("pod %s: %v, want it deleted by the immediate restart", p.Name, err)
		}
	}
	if err := get(t, ns, kept.Name, &corev1.Pod{}); err != nil {
		t.Errorf("another server's pod: %v", err)
	}

	// Once per value: a pod made after the restart outlives the next
	// reconcile (a spec change, seen in the backend's template).
	later := pod("osv-1", sts.Spec.Template.Labels)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var s v1beta1.MCPServer
		if err := get(t, ns, "osv", &s); err != nil {
			return err
		}
		s.Spec.Args = []string{"--verbose"}
		return k8s.Update(ctx, &s)
	})
	if err != nil {
		t.Fatal(err)
	}
	workloads(t, ns, "osv", "the spec change applied", func(_ *appsv1.Deployment, sts *appsv1.StatefulSet) error {
		if args := sts.Spec.Template.Spec.Containers[0].Args; len(args) != 1 {
			return fmt.Errorf("backend args %v", args)
		}
		return nil
	})
	if err := get(t, ns, later.Name, &corev1.Pod{}); err != nil {
		t.Errorf("pod made after the restart: %v, want it kept", err)
	}

	annotate(t, ns, "osv", map[string]string{restartedAt: "yesterday"})
	eventually(t, "a warning naming the annotation", func() error {
		var evs eventsv1.EventList
		if err := k8s.List(ctx, &evs, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.Reason == "InvalidRestartAnnotation" && e.Type == corev1.EventTypeWarning && strings.Contains(e.Note, restartedAt) {
				return nil
			}
		}
		return fmt.Errorf("no InvalidRestartAnnotation warning among %d events", len(evs.Items))
	})
}
