// Command manager runs the Switchboard operator: the MCPServer controller and
// its admission webhooks.
package main

import (
	"flag"
	"os"
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/switchboard-mcp/switchboard/internal/operator"
)

// defaultProxyImage is the proxy image this build of the operator generates.
const defaultProxyImage = "switchboard/proxy:dev"

func main() {
	var o operator.Options
	var namespaces string
	flag.StringVar(&namespaces, "watch-namespaces", "", "comma-separated namespaces to watch; empty watches all (cluster mode)")
	flag.StringVar(&o.ProxyImage, "proxy-image", defaultProxyImage, "image of the proxy container")
	flag.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8080", "address of the metrics endpoint; 0 turns it off")
	flag.StringVar(&o.ProbeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	flag.BoolVar(&o.LeaderElection, "leader-elect", false, "elect a leader so only one replica reconciles")
	flag.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election lease (default: the pod's)")
	flag.BoolVar(&o.Webhooks, "enable-webhooks", true, "serve the admission webhooks")
	flag.IntVar(&o.WebhookPort, "webhook-port", 9443, "port of the admission webhook server")
	flag.StringVar(&o.WebhookCertDir, "webhook-cert-dir", "", "directory with tls.crt and tls.key (default: the system temp dir's k8s-webhook-server/serving-certs)")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	for _, ns := range strings.Split(namespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			o.WatchNamespaces = append(o.WatchNamespaces, ns)
		}
	}
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
