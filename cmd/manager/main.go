// Command manager runs the Switchboard operator: the MCPServer controller and
// its admission webhooks.
package main

import (
	"flag"
	"log/slog"
	"os"
	"strings"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/switchboard-mcp/switchboard/internal/operator"
)

// defaultProxyImage is the proxy image this build of the operator generates.
const defaultProxyImage = "switchboard/proxy:dev"

// defaultMaxConcurrentReconciles: a reconcile mostly waits on the API
// server and the proxies' /health (make bench-operator, docs/benchmarks.md).
const defaultMaxConcurrentReconciles = 10

func main() {
	var o operator.Options
	var namespaces string
	flag.StringVar(&namespaces, "watch-namespaces", "", "comma-separated namespaces to watch; empty watches all (cluster mode)")
	flag.StringVar(&o.ProxyImage, "proxy-image", defaultProxyImage, "image of the proxy container")
	flag.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", defaultMaxConcurrentReconciles,
		"MCPServers reconciled at once (a reconcile mostly waits on the API server and the proxies' /health)")
	flag.BoolVar(&o.NetworkPolicy.ByDefault, "network-policy-default", false,
		"give NetworkPolicies to MCPServers without spec.networkPolicy (spec.networkPolicy.enabled: false still turns them off)")
	flag.StringVar(&o.NetworkPolicy.OperatorNamespace, "operator-namespace", ownNamespace(),
		"namespace of the operator's pods, which the proxies' NetworkPolicies admit (default: the pod's own; empty admits them from any namespace)")
	var secureMetrics bool
	flag.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8443", "address of the metrics endpoint (:8443 for HTTPS, :8080 for HTTP); 0 turns it off")
	flag.BoolVar(&secureMetrics, "metrics-secure", true, "serve metrics over HTTPS to callers the API server authenticates and authorizes for get /metrics; --metrics-secure=false serves plain HTTP to anyone")
	flag.BoolVar(&o.EnableHTTP2, "enable-http2", false, "let the metrics and webhook servers speak HTTP/2 (off: CVE-2023-44487, CVE-2023-39325)")
	flag.StringVar(&o.ProbeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	flag.BoolVar(&o.LeaderElection, "leader-elect", false, "elect a leader so only one replica reconciles")
	flag.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election lease (default: the pod's)")
	flag.BoolVar(&o.Webhooks, "enable-webhooks", true, "serve the admission webhooks")
	flag.BoolVar(&o.AdmissionDryRun, "admission-dry-run", false,
		"check the objects an MCPServer generates with a dry run against the cluster, consulting its quotas, policy engines and other webhooks "+
			"(a round trip per object at every apply), instead of with the API server's validation in the operator")
	flag.IntVar(&o.WebhookPort, "webhook-port", 9443, "port of the admission webhook server")
	flag.StringVar(&o.WebhookCertDir, "webhook-cert-dir", "", "directory with tls.crt and tls.key (default: the system temp dir's k8s-webhook-server/serving-certs)")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	o.InsecureMetrics = !secureMetrics
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	for _, ns := range strings.Split(namespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			o.WatchNamespaces = append(o.WatchNamespaces, ns)
		}
	}
	// A soft memory limit at 40 % of the container's (GOMEMLIMIT in the
	// environment wins): the manager's memory is its caches, which grow
	// with the servers, and the garbage of reconciles on top of them,
	// which the GC then collects before it doubles the heap. At 1,000
	// servers, under the chart's 256 MiB limit, RSS was 154-186 MiB
	// without one, 158 MiB with half (docs/benchmarks.md); the rest is
	// room before the GC must run all the time.
	_, _ = memlimit.Set(memlimit.WithRatio(0.4), memlimit.WithLogger(slog.New(logr.ToSlogHandler(log))))
	mgr, err := operator.New(ctrl.GetConfigOrDie(), o)
	if err != nil {
		log.Error(err, "cannot start the operator")
		os.Exit(1)
	}
	log.Info("starting operator", "watchNamespaces", o.WatchNamespaces, "proxyImage", o.ProxyImage)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "operator stopped with an error")
		os.Exit(1)
	}
}

// ownNamespace is the namespace of the pod the operator runs in, from its
// ServiceAccount token's mount; empty outside a pod.
func ownNamespace() string {
	ns, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(ns))
}
