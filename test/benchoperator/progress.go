package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/controller"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// expected is every object the operator creates for a server, by kind: what
// its admission dry-runs (controller.GeneratedObjects), so the bench's list
// cannot drift from the operator's.
func expected(c client.Client, s *v1beta1.MCPServer) (map[schema.GroupVersionKind][]string, error) {
	d := s.DeepCopy()
	d.Default(nil)
	tmpl, err := d.Spec.DecodePodTemplate()
	if err != nil {
		return nil, err
	}
	out := map[schema.GroupVersionKind][]string{}
	for _, obj := range controller.GeneratedObjects(d, tmpl, "proxy", controller.NetworkPolicyOptions{}) {
		gvk, err := apiutil.GVKForObject(obj, c.Scheme())
		if err != nil {
			return nil, err
		}
		out[gvk] = append(out[gvk], obj.GetName())
	}
	return out, nil
}

// progress is when each milestone of a run was reached, from the first
// apply.
type progress struct {
	objects, podsReady, ready time.Duration
	// untilReady is each server's time to Ready, from the first apply;
	// afterPods, from when both its pods were Ready: the operator's share.
	untilReady, afterPods []time.Duration
	// reasons counts the Ready condition's reasons once all are Ready:
	// Ready means a proxy's /health said the server answered MCP,
	// ProxyHealthUnreachable that the operator could not read it.
	reasons map[string]int
}

// watchUntilReady polls the cache (which watches the bench namespace)
// until every server has all its objects and is Ready and every pod is
// Ready, or the timeout.
func watchUntilReady(ctx context.Context, c client.Reader, ns string, want []map[schema.GroupVersionKind][]string, start time.Time, timeout time.Duration) (progress, error) {
	t := tracker{c: c, ns: ns, want: want, haveObjects: make([]bool, len(want)),
		readyAt: make([]time.Duration, len(want)), podsReadyAt: make([]time.Duration, len(want))}
	t.p.reasons = map[string]int{}
	t.objectsLeft = len(want)
	deadline := time.After(timeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return t.p, ctx.Err()
		case <-deadline:
			return t.p, fmt.Errorf("after %s: %d servers lack objects, %d are not Ready", timeout, t.objectsLeft, t.readyLeft)
		case <-tick.C:
		}
		now := time.Since(start)
		done, err := t.look(ctx, now)
		if err != nil || done {
			return t.p, err
		}
		if now.Truncate(10*time.Second) != (now - 250*time.Millisecond).Truncate(10*time.Second) {
			logf("%s: %d servers have their objects, %d both pods Ready, %d are Ready", now.Round(time.Second), len(want)-t.objectsLeft, t.podsDone(), len(want)-t.readyLeft)
		}
	}
}

// tracker is what watchUntilReady has seen so far.
type tracker struct {
	c                      client.Reader
	ns                     string
	want                   []map[schema.GroupVersionKind][]string
	haveObjects            []bool
	readyAt, podsReadyAt   []time.Duration
	objectsLeft, readyLeft int
	p                      progress
}

// look records the milestones reached at now, and whether all are.
func (t *tracker) look(ctx context.Context, now time.Duration) (bool, error) {
	if err := t.lookObjects(ctx, now); err != nil {
		return false, err
	}
	if err := t.lookPods(ctx, now); err != nil {
		return false, err
	}
	if err := t.lookReady(ctx, now); err != nil {
		return false, err
	}
	if t.readyLeft > 0 || t.objectsLeft > 0 || t.p.podsReady == 0 {
		return false, nil
	}
	t.p.ready = now
	t.p.untilReady = slices.Sorted(slices.Values(t.readyAt))
	for i, r := range t.readyAt {
		t.p.afterPods = append(t.p.afterPods, r-t.podsReadyAt[i])
	}
	slices.Sort(t.p.afterPods)
	return true, nil
}

func (t *tracker) podsDone() int {
	n := 0
	for _, at := range t.podsReadyAt {
		if at != 0 {
			n++
		}
	}
	return n
}

// lookPods records when both pods of each server were first seen Ready.
func (t *tracker) lookPods(ctx context.Context, now time.Duration) error {
	if t.p.podsReady != 0 {
		return nil
	}
	var pods corev1.PodList
	if err := t.c.List(ctx, &pods, client.InNamespace(t.ns)); err != nil {
		return err
	}
	ready := map[string]int{}
	for _, p := range pods.Items {
		if podReady(p) {
			ready[p.Labels[naming.LabelInstance]]++
		}
	}
	left := 0
	for i := range t.podsReadyAt {
		if t.podsReadyAt[i] == 0 && ready[serverName(i)] == 2 {
			t.podsReadyAt[i] = now
		}
		if t.podsReadyAt[i] == 0 {
			left++
		}
	}
	if left == 0 {
		t.p.podsReady = now
	}
	return nil
}

func (t *tracker) lookObjects(ctx context.Context, now time.Duration) error {
	if t.objectsLeft == 0 {
		return nil
	}
	present, err := names(ctx, t.c, t.ns, t.want[0])
	if err != nil {
		return err
	}
	for i := range t.want {
		if !t.haveObjects[i] && hasAll(present, t.want[i]) {
			t.haveObjects[i] = true
			t.objectsLeft--
		}
	}
	if t.objectsLeft == 0 {
		t.p.objects = now
	}
	return nil
}

// lookReady counts the servers whose status, for their current
// generation, says Ready.
func (t *tracker) lookReady(ctx context.Context, now time.Duration) error {
	var servers v1beta1.MCPServerList
	if err := t.c.List(ctx, &servers, client.InNamespace(t.ns)); err != nil {
		return err
	}
	t.readyLeft = len(t.want)
	clear(t.p.reasons)
	for _, s := range servers.Items {
		if s.Status.Phase != v1beta1.PhaseReady || s.Status.ObservedGeneration != s.Generation {
			continue
		}
		t.readyLeft--
		if c := meta.FindStatusCondition(s.Status.Conditions, v1beta1.ConditionReady); c != nil {
			t.p.reasons[c.Reason]++
		}
		var i int
		if _, err := fmt.Sscanf(s.Name, "s%d", &i); err == nil && i < len(t.readyAt) && t.readyAt[i] == 0 {
			t.readyAt[i] = now
		}
	}
	return nil
}

// names lists, from the cache, the objects of each kind in ns.
func names(ctx context.Context, c client.Reader, ns string, kinds map[schema.GroupVersionKind][]string) (map[schema.GroupVersionKind]map[string]bool, error) {
	out := map[schema.GroupVersionKind]map[string]bool{}
	for gvk := range kinds {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("list %s: %w", gvk.Kind, err)
		}
		out[gvk] = map[string]bool{}
		for _, item := range list.Items {
			out[gvk][item.Name] = true
		}
	}
	return out, nil
}

func hasAll(present map[schema.GroupVersionKind]map[string]bool, want map[schema.GroupVersionKind][]string) bool {
	for gvk, ns := range want {
		for _, name := range ns {
			if !present[gvk][name] {
				return false
			}
		}
	}
	return true
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
