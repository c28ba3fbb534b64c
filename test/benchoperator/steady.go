package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// leaderLease is the Lease the operator's leader election renews
// (operator.New's LeaderElectionID).
const leaderLease = "switchboard.toolhive.stacklok.dev"

// quietPeriod counts the manager's API requests and reconciles while
// nothing changes, after a settle: every Ready server is requeued once a
// minute to read its proxies' health again. The lease's renewals are
// counted apart, by watching it.
func quietPeriod(ctx context.Context, cs kubernetes.Interface, m *scraper, o options) (steady, error) {
	logf("settling %s, then counting requests for %s", o.settle, o.quiet)
	time.Sleep(o.settle)
	w, err := cs.CoordinationV1().Leases(o.operatorNamespace).Watch(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", leaderLease).String(),
	})
	if err != nil {
		return steady{}, fmt.Errorf("watch the leader election's Lease: %w", err)
	}
	defer w.Stop()
	drain(w, 2*time.Second) // the watch's first event is the Lease as it is
	before, err := m.read(ctx)
	if err != nil {
		return steady{}, err
	}
	renewals := drain(w, o.quiet)
	after, err := m.read(ctx)
	if err != nil {
		return steady{}, err
	}
	s := delta(before, after, o.quiet)
	s.leaseRenewals = renewals
	return s, nil
}

// drain counts the watch's modifications for d.
func drain(w watch.Interface, d time.Duration) int {
	n := 0
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return n
			}
			if ev.Type == watch.Modified {
				n++
			}
		case <-timeout:
			return n
		}
	}
}

// secretChange is what a change of the Secret that the first servers
// reference touched.
type secretChange struct {
	referencing        int
	statefulSets       []string // whose generation changed
	deployments        []string
	onlyReferencing    bool
	reconciles         float64
	took, watchedAfter time.Duration
}

// changeSecret changes sharedSecret, waits until the StatefulSets of the
// servers that reference it have rolled and a while longer, and compares
// every StatefulSet's and proxy Deployment's generation with before.
func changeSecret(ctx context.Context, c client.Client, watched client.Reader, m *scraper, secret *corev1.Secret, o options) (secretChange, error) {
	const after = 15 * time.Second
	ch := secretChange{referencing: o.referencing, watchedAfter: after}
	stsBefore, depBefore, err := generations(ctx, watched, o.namespace)
	if err != nil {
		return ch, err
	}
	before, err := m.read(ctx)
	if err != nil {
		return ch, err
	}
	logf("changing Secret %s, which %d servers reference", secret.Name, o.referencing)
	start := time.Now()
	secret.StringData = map[string]string{"token": "two"}
	if err := c.Update(ctx, secret); err != nil {
		return ch, fmt.Errorf("change Secret %s: %w", secret.Name, err)
	}
	for {
		sts, _, err := generations(ctx, watched, o.namespace)
		if err != nil {
			return ch, err
		}
		if len(changed(stsBefore, sts)) >= o.referencing {
			ch.took = time.Since(start)
			break
		}
		if time.Since(start) > 2*time.Minute {
			return ch, fmt.Errorf("after 2 min only %d of the %d StatefulSets changed", len(changed(stsBefore, sts)), o.referencing)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(after)
	sts, dep, err := generations(ctx, watched, o.namespace)
	if err != nil {
		return ch, err
	}
	ch.statefulSets, ch.deployments = changed(stsBefore, sts), changed(depBefore, dep)
	var want []string
	for i := range o.referencing {
		want = append(want, naming.BackendStatefulSetName(serverName(i)))
	}
	slices.Sort(want)
	ch.onlyReferencing = slices.Equal(ch.statefulSets, want)
	afterCounters, err := m.read(ctx)
	if err != nil {
		return ch, err
	}
	ch.reconciles = afterCounters.reconciles - before.reconciles
	return ch, nil
}

func generations(ctx context.Context, c client.Reader, ns string) (sts, dep map[string]int64, err error) {
	var ss appsv1.StatefulSetList
	var ds appsv1.DeploymentList
	if err := c.List(ctx, &ss, client.InNamespace(ns)); err != nil {
		return nil, nil, err
	}
	if err := c.List(ctx, &ds, client.InNamespace(ns)); err != nil {
		return nil, nil, err
	}
	sts, dep = map[string]int64{}, map[string]int64{}
	for _, s := range ss.Items {
		sts[s.Name] = s.Generation
	}
	for _, d := range ds.Items {
		dep[d.Name] = d.Generation
	}
	return sts, dep, nil
}

func changed(before, after map[string]int64) []string {
	var out []string
	for name, g := range after {
		if g != before[name] {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
