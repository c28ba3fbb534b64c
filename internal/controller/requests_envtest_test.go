package controller_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// apiRequests are the requests the operator under test has sent.
var apiRequests requestLog

// apiRequest is one request to the API server.
type apiRequest struct {
	method, path, accept string
}

// String is the method and the path below the namespace, if any:
// "PATCH statefulsets/osv".
func (r apiRequest) String() string {
	path := r.path
	if _, after, ok := strings.Cut(path, "/namespaces/"); ok {
		if _, rest, ok := strings.Cut(after, "/"); ok {
			path = rest
		}
	}
	return r.method + " " + path
}

func (r apiRequest) write() bool { return r.method != http.MethodGet && r.method != http.MethodHead }

type requestLog struct {
	mu  sync.Mutex
	all []apiRequest
}

// wrap is a rest.Config's WrapTransport that records every request.
func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		l.mu.Lock()
		l.all = append(l.all, apiRequest{method: req.Method, path: req.URL.Path, accept: req.Header.Get("Accept")})
		l.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

// mark is where the requests sent from now on begin.
func (l *requestLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.all)
}

// since are the requests in namespace ns (all with ns "") sent since mark.
func (l *requestLog) since(mark int, ns string) []apiRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []apiRequest
	for _, r := range l.all[mark:] {
		if ns == "" || strings.Contains(r.path, "/namespaces/"+ns+"/") {
			out = append(out, r)
		}
	}
	return out
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// writes are the distinct requests that change something, sorted. Once
// each: a reconcile that starts before the cache has seen the operator's
// own last write sends it again, as a no-op.
func writes(reqs []apiRequest) []string {
	var out []string
	for _, r := range reqs {
		if r.write() {
			out = append(out, r.String())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// settled waits until the operator has sent nothing in ns for a second.
func settled(t *testing.T, ns string) {
	t.Helper()
	eventually(t, "the operator settles in "+ns, func() error {
		mark := apiRequests.mark()
		time.Sleep(time.Second)
		if reqs := apiRequests.since(mark, ns); len(reqs) > 0 {
			return fmt.Errorf("still sending %v", reqs)
		}
		return nil
	})
}

// reconciles is how many reconciles of MCPServers have finished.
func reconciles(t *testing.T) float64 {
	t.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "mcpserver" {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// reconciled waits until an MCPServer has been reconciled since the count
// before, and the operator has settled in ns.
func reconciled(t *testing.T, ns string, before float64) {
	t.Helper()
	eventually(t, "a reconcile", func() error {
		if reconciles(t) <= before {
			return errors.New("none yet")
		}
		return nil
	})
	settled(t, ns)
}

// TestUnchangedServerCostsNoRequests: once a server's children stand, a
// reconcile that finds nothing changed sends the API server no request at
// all (it compares the children in the cache, and the server references
// nothing to read), also after a workload's status changed; a child that
// someone changed, or that the spec now wants otherwise, is applied again,
// and only that one. No Secret or ConfigMap is ever cached whole.
func TestUnchangedServerCostsNoRequests(t *testing.T) {
	ns := namespace(t)
	createServer(t, ns, "osv", v1beta1.MCPServerSpec{Image: "example/osv:1", Transport: v1beta1.TransportStreamableHTTP})
	workloads(t, ns, "osv", "workloads", nil)
	settled(t, ns)

	mark, before := apiRequests.mark(), reconciles(t)
	// A pod of the server requeues it; one that has not started changes
	// nothing in its status.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "osv-extra",
			Labels: map[string]string{naming.LabelName: naming.AppName, naming.LabelInstance: "osv"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example/c:1"}}},
	}
	if err := k8s.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	reconciled(t, ns, before)
	if reqs := apiRequests.since(mark, ns); len(reqs) > 0 {
		t.Errorf("the reconcile of an unchanged server sent %v, want no request", reqs)
	}

	// The Deployment controller writes the status, as it does at every pod
	// that starts: nothing to apply.
	mark, before = apiRequests.mark(), reconciles(t)
	var dep appsv1.Deployment
	if err := get(t, ns, "osv", &dep); err != nil {
		t.Fatal(err)
	}
	dep.Status = appsv1.DeploymentStatus{ObservedGeneration: dep.Generation, Replicas: 1, UnavailableReplicas: 1}
	if err := k8s.Status().Update(ctx, &dep); err != nil {
		t.Fatal(err)
	}
	reconciled(t, ns, before)
	if reqs := apiRequests.since(mark, ns); len(reqs) > 0 {
		t.Errorf("after a status write on the proxy Deployment the operator sent %v, want no request", reqs)
	}

	// Someone takes a label off: the Deployment is applied again.
	mark = apiRequests.mark()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := get(t, ns, "osv", &dep); err != nil {
			return err
		}
		delete(dep.Labels, naming.LabelComponent)
		return k8s.Update(ctx, &dep)
	})
	if err != nil {
		t.Fatal(err)
	}
	workloads(t, ns, "osv", "the label back", func(dep *appsv1.Deployment, _ *appsv1.StatefulSet) error {
		if _, ok := dep.Labels[naming.LabelComponent]; !ok {
			return fmt.Errorf("labels %v", dep.Labels)
		}
		return nil
	})
	settled(t, ns)
	if got, want := writes(apiRequests.since(mark, ns)), []string{"PATCH deployments/osv"}; !slices.Equal(got, want) {
		t.Errorf("after a label was taken off the proxy Deployment the operator wrote %v, want %v", got, want)
	}

	mark = apiRequests.mark()
	updateServer(t, ns, "osv", func(s *v1beta1.MCPServer) {
		s.Spec.Env = []v1beta1.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}}
	})
	workloads(t, ns, "osv", "the new env applied", func(_ *appsv1.Deployment, sts *appsv1.StatefulSet) error {
		for _, e := range sts.Spec.Template.Spec.Containers[0].Env {
			if e.Name == "LOG_LEVEL" {
				return nil
			}
		}
		return errors.New("no LOG_LEVEL in the backend's env")
	})
	settled(t, ns)
	want := []string{"PATCH mcpservers/osv/status", "PATCH statefulsets/osv"}
	if got := writes(apiRequests.since(mark, ns)); !slices.Equal(got, want) {
		t.Errorf("after a change of spec.env the operator wrote %v, want %v", got, want)
	}

	for _, r := range apiRequests.since(0, "") {
		collection := strings.HasSuffix(r.path, "/secrets") || strings.HasSuffix(r.path, "/configmaps")
		if r.method == http.MethodGet && collection && !strings.Contains(r.accept, "as=PartialObjectMetadata") {
			t.Errorf("%s %s (Accept %q): Secrets and ConfigMaps are cached as metadata only", r.method, r.path, r.accept)
		}
	}
}

// TestSecretChangeTouchesOnlyItsServers: a change of a referenced Secret
// requeues the servers that reference it, which read it again and write
// nothing unless its value changed; then only their backend is applied
// again, with a new hash. Another server in the namespace is left alone.
func TestSecretChangeTouchesOnlyItsServers(t *testing.T) {
	ns := namespace(t)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "token"}, StringData: map[string]string{"value": "one"}}
	if err := k8s.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	createServer(t, ns, "github", v1beta1.MCPServerSpec{Image: "example/github:1", Transport: v1beta1.TransportStreamableHTTP,
		Secrets: []v1beta1.SecretRef{{Name: "token", Key: "value", TargetEnvName: "TOKEN"}}})
	createServer(t, ns, "osv", v1beta1.MCPServerSpec{Image: "example/osv:1", Transport: v1beta1.TransportStreamableHTTP})
	hash := func(sts *appsv1.StatefulSet) string {
		return sts.Spec.Template.Annotations[naming.SecretsHashAnnotation]
	}
	_, github := workloads(t, ns, "github", "github's backend with the Secret's hash", func(_ *appsv1.Deployment, sts *appsv1.StatefulSet) error {
		if hash(sts) == "" {
			return errors.New("no secrets hash on the pod template")
		}
		return nil
	})
	workloads(t, ns, "osv", "osv's workloads", nil)
	settled(t, ns)
	var osv appsv1.StatefulSet
	if err := get(t, ns, "osv", &osv); err != nil {
		t.Fatal(err)
	}

	changeSecret := func(change func(*corev1.Secret)) {
		t.Helper()
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := get(t, ns, "token", secret); err != nil {
				return err
			}
			change(secret)
			return k8s.Update(ctx, secret)
		})
		if err != nil {
			t.Fatalf("update Secret: %v", err)
		}
	}

	mark := apiRequests.mark()
	changeSecret(func(s *corev1.Secret) { s.Labels = map[string]string{"team": "tools"} })
	eventually(t, "github reads the Secret again", func() error {
		for _, r := range apiRequests.since(mark, ns) {
			if r.String() == "GET secrets/token" {
				return nil
			}
		}
		return errors.New("no GET of the Secret yet")
	})
	settled(t, ns)
	if got := writes(apiRequests.since(mark, ns)); len(got) > 0 {
		t.Errorf("a new label on the Secret made the operator write %v, want nothing", got)
	}

	mark = apiRequests.mark()
	changeSecret(func(s *corev1.Secret) { s.Data = map[string][]byte{"value": []byte("two")} })
	workloads(t, ns, "github", "github's backend rolls", func(_ *appsv1.Deployment, sts *appsv1.StatefulSet) error {
		if hash(sts) == hash(github) {
			return fmt.Errorf("hash still %s", hash(sts))
		}
		return nil
	})
	settled(t, ns)
	if got, want := writes(apiRequests.since(mark, ns)), []string{"PATCH statefulsets/github"}; !slices.Equal(got, want) {
		t.Errorf("a new value in the Secret made the operator write %v, want %v", got, want)
	}
	var now appsv1.StatefulSet
	if err := get(t, ns, "osv", &now); err != nil {
		t.Fatal(err)
	}
	if now.ResourceVersion != osv.ResourceVersion {
		t.Errorf("osv's backend changed (resourceVersion %s, was %s); it references no Secret", now.ResourceVersion, osv.ResourceVersion)
	}
}

// TestATerminatingNamespaceIsNotRetried: when a server's namespace is being
// deleted, the API server refuses to re-create a child that is gone; the
// operator takes that as final (the server goes with its namespace) and
// does not retry it with back-off, which at 1,000 servers filled its queue
// with thousands of refused PATCHes.
func TestATerminatingNamespaceIsNotRetried(t *testing.T) {
	ns := namespace(t)
	createServer(t, ns, "osv", v1beta1.MCPServerSpec{Image: "example/osv:1", Transport: v1beta1.TransportStreamableHTTP})
	workloads(t, ns, "osv", "workloads", nil)
	settled(t, ns)
	// envtest runs no namespace controller: the namespace stays
	// Terminating, its objects stay until deleted by hand.
	if err := k8s.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	mark := apiRequests.mark()
	if err := k8s.Delete(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: naming.ProxyServiceAccountName("osv")}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // a retry with back-off would be at its tenth attempt by now
	var refused []string
	for _, r := range apiRequests.since(mark, ns) {
		if r.write() && strings.Contains(r.path, "/serviceaccounts/") {
			refused = append(refused, r.String())
		}
	}
	if len(refused) != 1 {
		t.Errorf("the operator tried to re-create the ServiceAccount %d times (%v), want once", len(refused), refused)
	}
}
