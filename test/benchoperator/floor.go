package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/internal/controller"
)

// floorResult is what the cluster alone takes for the servers' workloads.
type floorResult struct {
	objects   int
	applied   time.Duration
	podsReady time.Duration
}

// floor applies, for each server, the objects the operator would generate
// for it — from the bench itself: no MCPServer, no webhook, no operator —
// into a namespace of their own, and times until every pod is Ready. That
// is what the control plane, the scheduler and KWOK take for the same
// workloads on this machine: the floor under "every server Ready", which
// the operator's figure is a ratio of. The namespace is deleted after.
func floor(ctx context.Context, c client.Client, cfg *rest.Config, o options) (floorResult, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.namespace + "-floor"}}
	if err := c.Create(ctx, ns); err != nil {
		return floorResult{}, fmt.Errorf("create namespace %s (left by an earlier run? delete it): %w", ns.Name, err)
	}
	defer deleteNamespace(c, ns)
	watched, err := watchNamespace(ctx, cfg, ns.Name)
	if err != nil {
		return floorResult{}, err
	}
	var objs [][]client.Object
	for i := range o.servers {
		s, err := server(ns.Name, i, 0, int32(o.proxyPort)) //nolint:gosec // a port
		if err != nil {
			return floorResult{}, err
		}
		s.Default(nil)
		tmpl, err := s.Spec.DecodePodTemplate()
		if err != nil {
			return floorResult{}, err
		}
		generated := controller.GeneratedObjects(s, tmpl, "switchboard/proxy:dev", controller.NetworkPolicyOptions{})
		for _, obj := range generated {
			obj.SetOwnerReferences(nil) // no MCPServer: the garbage collector would take them
		}
		objs = append(objs, generated)
	}
	r := floorResult{objects: len(objs[0])}
	logf("floor: applying the objects of %d servers (%d each) with no operator, %d at once", o.servers, r.objects, o.workers)
	start := time.Now()
	if err := applyEach(ctx, c, objs, o.workers); err != nil {
		return r, err
	}
	r.applied = time.Since(start)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		var pods corev1.PodList
		if err := watched.List(ctx, &pods, client.InNamespace(ns.Name)); err != nil {
			return r, err
		}
		ready := 0
		for _, p := range pods.Items {
			if podReady(p) {
				ready++
			}
		}
		if ready == 2*o.servers {
			r.podsReady = time.Since(start)
			logf("floor: every pod Ready after %s", r.podsReady.Round(time.Millisecond))
			return r, nil
		}
		if time.Since(start) > o.timeout {
			return r, fmt.Errorf("floor: %d of %d pods Ready after %s", ready, 2*o.servers, o.timeout)
		}
		<-tick.C
	}
	return r, ctx.Err()
}

// applyEach server-side applies each server's objects, in order, from
// workers at once.
func applyEach(ctx context.Context, c client.Client, objs [][]client.Object, workers int) error {
	next := make(chan []client.Object)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for set := range next {
				for _, obj := range set {
					if err := applyObject(ctx, c, obj, "benchoperator-floor"); err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("apply %T %s: %w", obj, obj.GetName(), err)
						}
						mu.Unlock()
					}
				}
			}
		})
	}
	for _, set := range objs {
		next <- set
	}
	close(next)
	wg.Wait()
	return firstErr
}

// applyObject server-side applies obj as the operator applies it, under
// the field manager owner.
func applyObject(ctx context.Context, c client.Client, obj client.Object, owner string) error {
	body, err := controller.ApplyBody(obj)
	if err != nil {
		return err
	}
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(body), client.FieldOwner(owner), client.ForceOwnership)
}
