// Command benchoperator measures the operator at scale on a real cluster
// ($KUBECONFIG, else the local cluster's): a thousand MCPServers applied at
// once with their pods on KWOK nodes, until every one has its objects and
// is Ready; the manager's memory then; the API requests its reconciles cost
// once nothing changes; which workloads a referenced Secret's change
// touches; and the latency of the MCPServer admission webhooks. `make
// bench-operator` runs it; docs/benchmarks.md records its figures.
//
// It needs root on the cluster's host: it reads the manager's memory in
// /proc, and makes the KWOK pods' IP range local to the host so that the
// operator's real GETs of the proxies' /health reach the bench, which
// answers them as a proxy whose server answered MCP does.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crlog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/switchboard-mcp/switchboard/internal/operator"
)

type options struct {
	servers, workers, referencing, reviews int
	namespace, operatorNamespace, kwokCIDR string
	proxyPort                              int
	settle, quiet, timeout                 time.Duration
	keep, scaleOnly, floor, admissionOnly  bool
}

func main() {
	var o options
	flag.IntVar(&o.servers, "servers", 1000, "MCPServers to apply")
	flag.IntVar(&o.workers, "workers", 50, "applies, and admission reviews, at once")
	flag.IntVar(&o.referencing, "referencing", 10, "servers that reference the Secret the bench changes")
	flag.IntVar(&o.reviews, "reviews", 2000, "admission reviews per webhook and server kind")
	flag.StringVar(&o.namespace, "namespace", "bench-operator", "namespace of the servers (created, and deleted at the end)")
	flag.StringVar(&o.operatorNamespace, "operator-namespace", "toolhive-system", "namespace of the operator's pod")
	flag.StringVar(&o.kwokCIDR, "kwok-cidr", "10.245.0.0/16", "the KWOK pods' IP range (kwok --cidr in hack/fake-nodes.sh)")
	flag.IntVar(&o.proxyPort, "proxy-port", 18931, "the servers' proxyPort, on which the bench answers /health on the host")
	flag.DurationVar(&o.settle, "settle", 20*time.Second, "wait after all are Ready before the quiet period")
	flag.DurationVar(&o.quiet, "quiet", 75*time.Second, "quiet period over which steady-state requests are counted (Ready servers are requeued every minute)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "how long the servers may take to be Ready")
	flag.BoolVar(&o.keep, "keep", false, "leave the namespace and its servers")
	flag.BoolVar(&o.scaleOnly, "scale-only", false, "measure only the thousand servers' way to Ready and the memory then")
	flag.BoolVar(&o.floor, "floor", true, "first time the same workloads applied with no operator (the floor under time to Ready)")
	flag.BoolVar(&o.admissionOnly, "admission-only", false, "measure only admission (no servers applied)")
	flag.Parse()
	crlog.SetLogger(logr.Discard()) // the bench's cache logs nothing worth its output
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "benchoperator:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	e, cleanup, err := setUp(ctx, o)
	defer cleanup()
	if err != nil {
		return err
	}
	r := report{o: o, loadBefore: loadavg()}
	if o.admissionOnly {
		err = admission(ctx, e.c, e.mgr, o, &r)
		r.loadAfter = loadavg()
		r.print(os.Stdout)
		return err
	}
	if o.floor {
		if r.floor, err = floor(ctx, e.c, e.cfg, o); err != nil {
			return err
		}
	}
	if r.rssBefore, _, err = vmRSS(e.mgr.pid); err != nil {
		return err
	}
	if err := scale(ctx, e, o, &r); err != nil {
		return err
	}
	if r.rssReady, r.rssPeak, err = vmRSS(e.mgr.pid); err != nil {
		return err
	}
	logf("all Ready after %s; manager RSS %.1f MiB", r.progress.ready.Round(time.Millisecond), r.rssReady)
	if !o.scaleOnly {
		// What was measured is printed also when a later step fails.
		err = atSteadyState(ctx, e, o, &r)
	}
	r.loadAfter = loadavg()
	r.healthGETs = e.proxies.served.Load()
	r.print(os.Stdout)
	return err
}

// atSteadyState measures what the Ready servers cost, what a Secret's
// change touches, and admission.
func atSteadyState(ctx context.Context, e env, o options, r *report) error {
	var err error
	if r.steady, err = quietPeriod(ctx, e.cs, e.metrics, o); err != nil {
		return err
	}
	if r.rssQuiet, _, err = vmRSS(e.mgr.pid); err != nil {
		return err
	}
	if r.secret, err = changeSecret(ctx, e.c, e.watched, e.metrics, e.secret, o); err != nil {
		return err
	}
	return admission(ctx, e.c, e.mgr, o, r)
}

// env is what the bench set up on the cluster and the host.
type env struct {
	cfg     *rest.Config
	c       client.Client
	cs      kubernetes.Interface
	watched client.Reader // the bench namespace, cached
	mgr     manager
	proxies *fakeProxies
	metrics *scraper
	secret  *corev1.Secret
}

// setUp finds the manager, routes the KWOK range here and answers its
// /health, and makes the bench namespace with what the servers reference.
// cleanup undoes what was done, also when setUp fails.
func setUp(ctx context.Context, o options) (e env, cleanup func(), err error) {
	var undo []func()
	cleanup = func() {
		for _, f := range slices.Backward(undo) {
			f()
		}
	}
	cfg, kubeconfig, err := restConfig()
	if err != nil {
		return e, cleanup, err
	}
	cfg.QPS, cfg.Burst = -1, -1 // a thousand applies at once: no client-side limit, as the operator has none
	e.cfg = cfg
	scheme, err := operator.Scheme()
	if err != nil {
		return e, cleanup, err
	}
	if e.c, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return e, cleanup, err
	}
	if e.cs, err = kubernetes.NewForConfig(cfg); err != nil {
		return e, cleanup, err
	}
	if e.mgr, err = findManager(ctx, e.c, o.operatorNamespace); err != nil {
		return e, cleanup, err
	}
	if err := enoughKWOKNodes(ctx, e.c, 2*o.servers); err != nil {
		return e, cleanup, err
	}
	logf("cluster %s; manager pod %s (%s, pid %d); load %s", kubeconfig, e.mgr.pod, e.mgr.ip, e.mgr.pid, loadavg())

	unroute, err := routeKWOKRange(o.kwokCIDR)
	if err != nil {
		return e, cleanup, err
	}
	undo = append(undo, unroute)
	if e.proxies, err = serveFakeProxies(int32(o.proxyPort)); err != nil { //nolint:gosec // a port
		return e, cleanup, err
	}
	undo = append(undo, e.proxies.close)

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.namespace}}
	if err := e.c.Create(ctx, ns); err != nil {
		return e, cleanup, fmt.Errorf("create namespace %s (left by an earlier run? delete it): %w", o.namespace, err)
	}
	if !o.keep {
		undo = append(undo, func() { deleteNamespace(e.c, ns) })
	}
	e.secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: o.namespace, Name: sharedSecret}, StringData: map[string]string{"token": "one"}}
	for _, obj := range append(referenced(o.namespace), e.secret) {
		if err := e.c.Create(ctx, obj); err != nil {
			return e, cleanup, fmt.Errorf("create %T %s: %w", obj, obj.GetName(), err)
		}
	}
	var unbind func()
	if e.metrics, unbind, err = newScraper(ctx, e.c, e.cs, o.namespace, e.mgr.ip, 8443); err != nil {
		return e, cleanup, err
	}
	undo = append(undo, unbind)
	e.watched, err = watchNamespace(ctx, cfg, o.namespace)
	return e, cleanup, err
}

// scale applies the servers and waits until all are Ready. Around the
// applies it reads how long the webhooks took, as the API server waited
// for them and as the manager handled them.
func scale(ctx context.Context, e env, o options, r *report) error {
	c := e.c
	want := make([]map[schema.GroupVersionKind][]string, o.servers)
	for i := range want {
		s, err := server(o.namespace, i, o.referencing, int32(o.proxyPort)) //nolint:gosec // a port
		if err != nil {
			return err
		}
		if want[i], err = expected(c, s); err != nil {
			return err
		}
	}
	for _, names := range want[0] {
		r.objectsPerServer += len(names)
	}
	apiBefore, err := apiServerWebhooks(ctx, e.cs)
	if err != nil {
		return err
	}
	mgrBefore, err := e.metrics.read(ctx)
	if err != nil {
		return err
	}
	logf("applying %d MCPServers, %d at once", o.servers, o.workers)
	start := time.Now()
	lat, err := applyAll(ctx, c, o.namespace, o.servers, o.workers, o.referencing, int32(o.proxyPort)) //nolint:gosec // a port
	r.applied = time.Since(start)
	r.applyLatency = sorted(lat)
	if err != nil {
		return err
	}
	if r.applyWebhooks, err = webhooksSince(ctx, e, apiBefore, mgrBefore); err != nil {
		return err
	}
	logf("applied in %s; waiting for every server's objects and Ready", r.applied.Round(time.Millisecond))
	r.progress, err = watchUntilReady(ctx, e.watched, o.namespace, want, start, o.timeout)
	return err
}

// manager is the operator's pod and its process on this host.
type manager struct {
	pod, ip string
	pid     int
}

func findManager(ctx context.Context, c client.Reader, ns string) (manager, error) {
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{"app.kubernetes.io/name": "toolhive-operator"}); err != nil {
		return manager{}, err
	}
	var m manager
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			if m.pod != "" {
				return manager{}, fmt.Errorf("more than one manager pod in %s: %s and %s", ns, m.pod, p.Name)
			}
			m.pod, m.ip = p.Name, p.Status.PodIP
		}
	}
	if m.pod == "" {
		return manager{}, fmt.Errorf("no running manager pod in %s: deploy the operator (hack/deploy-local.sh)", ns)
	}
	out, err := exec.Command("pgrep", "-f", "^/manager ").Output()
	pids := strings.Fields(string(out))
	if err != nil || len(pids) != 1 {
		return manager{}, fmt.Errorf("want one manager process on this host (pgrep -f '^/manager '), got %q: run the bench on the cluster's node", pids)
	}
	m.pid, err = strconv.Atoi(pids[0])
	return m, err
}

// enoughKWOKNodes checks that the KWOK nodes can hold pods more pods.
func enoughKWOKNodes(ctx context.Context, c client.Reader, pods int) error {
	var nodes corev1.NodeList
	if err := c.List(ctx, &nodes, client.MatchingLabels(kwokSelector)); err != nil {
		return err
	}
	room := 0
	for _, n := range nodes.Items {
		room += int(n.Status.Allocatable.Pods().Value())
	}
	if room < pods {
		return fmt.Errorf("the KWOK nodes hold %d pods, the bench needs %d: add nodes with hack/fake-nodes.sh %d", room, pods, (pods+109)/110+1)
	}
	return nil
}

// watchNamespace is a cache of the bench namespace, which the bench polls
// instead of listing a thousand objects of each kind from the API server.
func watchNamespace(ctx context.Context, cfg *rest.Config, ns string) (client.Reader, error) {
	scheme, err := operator.Scheme()
	if err != nil {
		return nil, err
	}
	ca, err := cache.New(cfg, cache.Options{
		Scheme:            scheme,
		DefaultNamespaces: map[string]cache.Config{ns: {}},
		DefaultTransform:  cache.TransformStripManagedFields(),
	})
	if err != nil {
		return nil, err
	}
	go func() { _ = ca.Start(ctx) }()
	if !ca.WaitForCacheSync(ctx) {
		return nil, errors.New("the bench's cache did not sync")
	}
	return ca, nil
}

func deleteNamespace(c client.Client, ns *corev1.Namespace) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	logf("deleting namespace %s", ns.Name)
	if err := c.Delete(ctx, ns); err != nil {
		logf("delete namespace %s: %v", ns.Name, err)
		return
	}
	for ctx.Err() == nil {
		if err := c.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{}); err != nil {
			return
		}
		time.Sleep(2 * time.Second)
	}
	logf("namespace %s still terminating after 5 min", ns.Name)
}

// restConfig is $KUBECONFIG's cluster, else the local cluster's.
func restConfig() (*rest.Config, string, error) {
	path := os.Getenv("KUBECONFIG")
	if path == "" {
		path = "bin/cluster/kubeconfig"
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig %s (start the local cluster with make cluster-up): %w", path, err)
	}
	return cfg, path, nil
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[benchoperator %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
