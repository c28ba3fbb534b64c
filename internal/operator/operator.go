// Package operator assembles the controller manager: scheme, cache scope,
// the MCPServer controller and its admission webhooks. cmd/manager, the demo
// and the envtest suites all start the operator through New.
package operator

import (
	"crypto/tls"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/controller"
	"github.com/switchboard-mcp/switchboard/internal/naming"
	webhookv1beta1 "github.com/switchboard-mcp/switchboard/internal/webhook/v1beta1"
)

// Options configure the operator; cmd/manager binds them to flags.
type Options struct {
	// WatchNamespaces limits the operator to these namespaces; empty watches all.
	WatchNamespaces []string
	// ProxyImage is the image of the proxy container it generates.
	ProxyImage string
	// MaxConcurrentReconciles is how many MCPServers are reconciled at
	// once; 0 is controller-runtime's default, 1.
	MaxConcurrentReconciles int
	// NetworkPolicy: whether servers that do not say get NetworkPolicies,
	// and the operator's namespace, whose pods the proxy's policy admits.
	NetworkPolicy controller.NetworkPolicyOptions
	// MetricsAddr serves Prometheus metrics; "0" turns them off.
	MetricsAddr string
	// InsecureMetrics serves metrics over plain HTTP to anyone who can reach
	// them. By default they are served over HTTPS, to callers that present a
	// token the API server authenticates and that may get /metrics.
	InsecureMetrics bool
	// EnableHTTP2 lets the metrics and webhook servers speak HTTP/2, off by
	// default for the Rapid Reset and Stream Cancellation CVEs
	// (CVE-2023-44487, CVE-2023-39325).
	EnableHTTP2 bool
	// ProbeAddr serves /healthz and /readyz; "0" turns them off.
	ProbeAddr string
	// LeaderElection makes only one of several operator replicas reconcile.
	LeaderElection          bool
	LeaderElectionNamespace string
	// Webhooks serve admission; off for `make run` against a cluster
	// without certificates.
	Webhooks bool
	// AdmissionDryRun checks the objects an MCPServer generates with a dry
	// run against the cluster, so that its own admission (quotas, policy
	// engines, other webhooks) is consulted at kubectl apply, instead of
	// with the API server's validation in process.
	AdmissionDryRun bool

	WebhookHost    string
	WebhookPort    int
	WebhookCertDir string
}

// Scheme knows the built-in types and the MCPServer API.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("add client-go types: %w", err)
	}
	if err := v1beta1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("add %s types: %w", v1beta1.GroupVersion, err)
	}
	return s, nil
}

// New returns a manager with the MCPServer controller (and webhooks) set up,
// and the gauge of MCPServers by phase registered beside controller-runtime's
// metrics.
func New(cfg *rest.Config, o Options) (ctrl.Manager, error) {
	if o.ProxyImage == "" {
		return nil, errors.New("the proxy image is required (--proxy-image): every proxy Deployment would be invalid without it")
	}
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	cacheOpts := cacheOptions(o.WatchNamespaces)
	var tlsOpts []func(*tls.Config)
	if !o.EnableHTTP2 {
		tlsOpts = append(tlsOpts, disableHTTP2)
	}
	metrics := metricsserver.Options{BindAddress: o.MetricsAddr, SecureServing: !o.InsecureMetrics, TLSOpts: tlsOpts}
	if metrics.SecureServing {
		// TokenReviews authenticate the caller, SubjectAccessReviews ask
		// whether it may get /metrics (config/rbac/metrics_*.yaml).
		metrics.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   cacheOpts,
		Metrics:                 metrics,
		HealthProbeBindAddress:  o.ProbeAddr,
		LeaderElection:          o.LeaderElection,
		LeaderElectionID:        "switchboard.toolhive.stacklok.dev",
		LeaderElectionNamespace: o.LeaderElectionNamespace,
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: o.WebhookHost, Port: o.WebhookPort, CertDir: o.WebhookCertDir, TLSOpts: tlsOpts,
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	r := &controller.MCPServerReconciler{
		Client:        mgr.GetClient(),
		APIReader:     mgr.GetAPIReader(),
		Recorder:      mgr.GetEventRecorder(naming.ManagedBy),
		ProxyImage:    o.ProxyImage,
		NetworkPolicy: o.NetworkPolicy,

		MaxConcurrentReconciles: o.MaxConcurrentReconciles,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("set up MCPServer controller: %w", err)
	}
	// After the MCPServer controller: they use its field indexes.
	if err := controller.SetupConfigControllers(mgr); err != nil {
		return nil, err
	}
	ready := healthz.Ping
	if o.Webhooks {
		wo := webhookv1beta1.Options{ProxyImage: o.ProxyImage, NetworkPolicy: o.NetworkPolicy, DryRun: o.AdmissionDryRun}
		if err := webhookv1beta1.SetupMCPServerWebhookWithManager(mgr, wo); err != nil {
			return nil, fmt.Errorf("set up MCPServer webhooks: %w", err)
		}
		if err := webhookv1beta1.SetupConfigWebhooksWithManager(mgr); err != nil {
			return nil, err
		}
		ready = mgr.GetWebhookServer().StartedChecker()
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", ready); err != nil {
		return nil, fmt.Errorf("add ready check: %w", err)
	}
	// Beside controller-runtime's reconcile and work queue metrics, in its
	// process-wide registry; last, so that a New that fails leaves none.
	phases := newPhaseCollector(mgr.GetCache(), o.WatchNamespaces, mgr.GetLogger().WithName("metrics"))
	if err := crmetrics.Registry.Register(phases); err != nil {
		return nil, fmt.Errorf("register %s: %w", MCPServersMetric, err)
	}
	return mgr, nil
}

// disableHTTP2 offers only HTTP/1.1 in the TLS handshake, so no client can
// open the HTTP/2 streams that the Rapid Reset and Stream Cancellation
// attacks (CVE-2023-44487, CVE-2023-39325) abuse.
func disableHTTP2(c *tls.Config) {
	c.NextProtos = []string{"http/1.1"}
}
