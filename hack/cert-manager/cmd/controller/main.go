// Command controller is cert-manager's controller manager (issuers,
// certificates, certificate requests, ACME orders and challenges, ingress
// shim) with the flags cert-manager's Helm chart passes it.
//
// Built without the Venafi issuer: its client library (github.com/Venafi/vcert)
// is not on the Go module proxy this project builds from, and cert-manager's
// controller configuration package imports it, so the defaults below restate
// cert-manager's (internal/apis/config/controller/v1alpha1/defaults.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	logsapi "k8s.io/component-base/logs/api/v1"

	"github.com/cert-manager/cert-manager/cmd/offline/internal/cli"
	"github.com/cert-manager/cert-manager/internal/apis/config/shared"
	cm "github.com/cert-manager/cert-manager/pkg/apis/certmanager"
	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/acmechallenges"
	"github.com/cert-manager/cert-manager/pkg/controller/acmeorders"
	gateways "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/gateways"
	ingresses "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/ingresses"
	cracme "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/acme"
	"github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	crvault "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/vault"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	certmetrics "github.com/cert-manager/cert-manager/pkg/controller/certificates/metrics"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	csracme "github.com/cert-manager/cert-manager/pkg/controller/certificatesigningrequests/acme"
	csrca "github.com/cert-manager/cert-manager/pkg/controller/certificatesigningrequests/ca"
	csrselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificatesigningrequests/selfsigned"
	csrvault "github.com/cert-manager/cert-manager/pkg/controller/certificatesigningrequests/vault"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	"github.com/cert-manager/cert-manager/pkg/healthz"
	dnsutil "github.com/cert-manager/cert-manager/pkg/issuer/acme/dns/util"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"

	// Issuer implementations register themselves with the issuer factory.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/vault"
)

// defaultControllers are cert-manager's default controllers, less Venafi's.
var defaultControllers = []string{
	issuers.ControllerName, clusterissuers.ControllerName, certmetrics.ControllerName, ingresses.ControllerName,
	acmeorders.ControllerName, acmechallenges.ControllerName,
	cracme.CRControllerName, approver.ControllerName, crca.CRControllerName, crselfsigned.CRControllerName, crvault.CRControllerName,
	trigger.ControllerName, issuing.ControllerName, keymanager.ControllerName, requestmanager.ControllerName,
	readiness.ControllerName, revisionmanager.ControllerName,
}

// optionalControllers can be enabled by name with --controllers.
var optionalControllers = []string{
	gateways.ControllerName,
	csracme.CSRControllerName, csrca.CSRControllerName, csrselfsigned.CSRControllerName, csrvault.CSRControllerName,
}

// clusterScoped controllers do not run when --namespace is set.
var clusterScoped = []string{
	clusterissuers.ControllerName,
	csracme.CSRControllerName, csrca.CSRControllerName, csrselfsigned.CSRControllerName, csrvault.CSRControllerName,
}

type options struct {
	kubeconfig        string
	qps               float32
	burst             int
	controllers       []string
	workers           int
	metricsAddress    string
	healthzAddress    string
	leaderElection    shared.LeaderElectionConfig
	healthzTimeout    time.Duration
	enableGatewayAPI  bool
	solverCPURequest  string
	solverMemRequest  string
	solverCPULimit    string
	solverMemLimit    string
	logging           logsapi.LoggingConfiguration
	featureGates      map[string]bool
	contextOptions    controllerpkg.ContextOptions
	dns01RecursiveNSs []string
}

func main() {
	o := &options{
		leaderElection: shared.LeaderElectionConfig{
			Enabled: true, Namespace: "kube-system",
			LeaseDuration: 60 * time.Second, RenewDeadline: 40 * time.Second, RetryPeriod: 15 * time.Second,
		},
	}
	c := &o.contextOptions
	fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; in-cluster configuration when empty.")
	fs.Float32Var(&o.qps, "kube-api-qps", 20, "Client-side rate limit towards the API server (when it has no priority and fairness).")
	fs.IntVar(&o.burst, "kube-api-burst", 50, "Client-side burst towards the API server.")
	fs.StringVar(&c.Namespace, "namespace", "", "If set, watch only this namespace (cluster-scoped controllers are then off).")
	fs.StringVar(&c.ClusterResourceNamespace, "cluster-resource-namespace", "kube-system", "Namespace of the Secrets that ClusterIssuers refer to.")
	cli.LeaderElectionFlags(fs, &o.leaderElection)
	fs.DurationVar(&o.healthzTimeout, "leader-election-healthz-timeout", 20*time.Second, "How long after a missed lease renewal /livez fails.")
	fs.StringSliceVar(&o.controllers, "controllers", []string{"*"}, "Controllers to run: '*' for the defaults, 'name' to add one, '-name' to remove one.\nDefaults: "+
		strings.Join(defaultControllers, ", ")+"\nOptional: "+strings.Join(optionalControllers, ", "))
	fs.IntVar(&o.workers, "concurrent-workers", 5, "Workers per controller.")
	fs.IntVar(&c.MaxConcurrentChallenges, "max-concurrent-challenges", 60, "Most ACME challenges processed at once.")
	fs.StringVar(&o.metricsAddress, "metrics-listen-address", "0.0.0.0:9402", "Address of the Prometheus metrics endpoint.")
	fs.StringVar(&o.healthzAddress, "healthz-listen-address", "0.0.0.0:9403", "Address of the /livez endpoint.")
	fs.BoolVar(&c.IssuerAmbientCredentials, "issuer-ambient-credentials", false, "Let Issuers use ambient credentials (metadata services).")
	fs.BoolVar(&c.ClusterIssuerAmbientCredentials, "cluster-issuer-ambient-credentials", true, "Let ClusterIssuers use ambient credentials (metadata services).")
	fs.BoolVar(&c.EnableOwnerRef, "enable-certificate-owner-ref", false, "Make each Certificate the owner of its Secret.")
	fs.StringSliceVar(&c.CopiedAnnotationPrefixes, "copied-annotation-prefixes", []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"}, "Annotation prefixes copied from Certificates to CertificateRequests and Orders.")
	fs.DurationVar(&c.CertificateRequestMinimumBackoffDuration, "certificate-request-minimum-backoff-duration", time.Hour, "First wait before re-issuing after a failed CertificateRequest (doubles each failure).")
	fs.DurationVar(&c.CertificateRequestMaximumBackoffDuration, "certificate-request-maximum-backoff-duration", 32*time.Hour, "Longest wait before re-issuing after failed CertificateRequests.")
	fs.BoolVar(&o.enableGatewayAPI, "enable-gateway-api", false, "Run the Gateway API shim (needs the Gateway API CRDs).")
	fs.StringVar(&c.DefaultIssuerName, "default-issuer-name", "", "Issuer for Ingresses annotated kubernetes.io/tls-acme.")
	fs.StringVar(&c.DefaultIssuerKind, "default-issuer-kind", "Issuer", "Kind of --default-issuer-name.")
	fs.StringVar(&c.DefaultIssuerGroup, "default-issuer-group", cm.GroupName, "Group of --default-issuer-name.")
	fs.StringSliceVar(&c.DefaultAutoCertificateAnnotations, "auto-certificate-annotations", []string{"kubernetes.io/tls-acme"}, "Ingress annotations that ask for a Certificate from the default issuer.")
	fs.StringSliceVar(&c.ExtraCertificateAnnotations, "extra-certificate-annotations", nil, "Ingress annotations copied to the Certificates the shim creates.")
	fs.StringVar(&c.HTTP01SolverImage, "acme-http01-solver-image", "quay.io/jetstack/cert-manager-acmesolver:"+util.AppVersion, "Image of the ACME HTTP-01 solver pods.")
	fs.StringVar(&o.solverCPURequest, "acme-http01-solver-resource-request-cpu", "10m", "CPU request of the HTTP-01 solver pods.")
	fs.StringVar(&o.solverMemRequest, "acme-http01-solver-resource-request-memory", "64Mi", "Memory request of the HTTP-01 solver pods.")
	fs.StringVar(&o.solverCPULimit, "acme-http01-solver-resource-limits-cpu", "100m", "CPU limit of the HTTP-01 solver pods.")
	fs.StringVar(&o.solverMemLimit, "acme-http01-solver-resource-limits-memory", "64Mi", "Memory limit of the HTTP-01 solver pods.")
	fs.BoolVar(&c.ACMEHTTP01SolverRunAsNonRoot, "acme-http01-solver-run-as-non-root", true, "Run the HTTP-01 solver pods as non-root.")
	fs.StringVar(&c.HTTP01SolverRuntimeClassName, "acme-http01-solver-runtime-class-name", "", "RuntimeClass of the HTTP-01 solver pods.")
	fs.StringSliceVar(&c.HTTP01SolverNameservers, "acme-http01-solver-nameservers", nil, "Nameservers for the HTTP-01 self-check.")
	fs.StringToStringVar(&c.HTTP01SolverExtraLabels, "acme-http01-solver-extra-labels", nil, "Extra labels of the HTTP-01 solver pods and Services.")
	fs.StringSliceVar(&o.dns01RecursiveNSs, "dns01-recursive-nameservers", nil, "host:port nameservers for DNS-01 self-checks.")
	var recursiveOnly bool
	fs.BoolVar(&recursiveOnly, "dns01-recursive-nameservers-only", false, "Use only --dns01-recursive-nameservers for DNS-01 checks.")
	fs.DurationVar(&c.DNS01CheckRetryPeriod, "dns01-check-retry-period", 10*time.Second, "Wait between DNS-01 propagation checks.")
	cli.CommonFlags(fs, &o.logging, &o.featureGates)

	cli.Main("controller", fs, &o.logging, &o.featureGates, func(ctx context.Context) error {
		c.DNS01CheckAuthoritative = !recursiveOnly
		return run(ctx, o)
	})
}

// enabledControllers resolves --controllers against the known controllers.
func enabledControllers(o *options) (sets.Set[string], error) {
	known := sets.New(append(slices.Clone(defaultControllers), optionalControllers...)...)
	enabled := sets.New[string]()
	for _, name := range o.controllers {
		switch {
		case name == "*":
			enabled.Insert(defaultControllers...)
		case strings.HasPrefix(name, "-"):
		case strings.Contains(name, "venafi"):
			return nil, fmt.Errorf("--controllers: %s: this build has no Venafi issuer", name)
		case !known.Has(name):
			return nil, fmt.Errorf("--controllers: unknown controller %q", name)
		default:
			enabled.Insert(name)
		}
	}
	for _, name := range o.controllers {
		if strings.HasPrefix(name, "-") {
			enabled.Delete(name[1:])
		}
	}
	if o.enableGatewayAPI {
		enabled.Insert(gateways.ControllerName)
	}
	if o.contextOptions.Namespace != "" {
		enabled.Delete(clusterScoped...)
	}
	return enabled, nil
}

func run(ctx context.Context, o *options) error {
	log := logf.FromContext(ctx)
	enabled, err := enabledControllers(o)
	if err != nil {
		return err
	}
	if err := completeContextOptions(o); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)

	factory, err := controllerpkg.NewContextFactory(ctx, o.contextOptions)
	if err != nil {
		return err
	}
	base, err := factory.Build()
	if err != nil {
		return err
	}
	log.Info("enabled controllers", "controllers", sets.List(enabled))

	healthzServer, err := serve(ctx, g, o, base)
	if err != nil {
		return err
	}
	elected := make(chan struct{})
	if o.leaderElection.Enabled {
		if err := electLeader(ctx, g, o, factory, healthzServer, elected); err != nil {
			return err
		}
	} else {
		close(elected)
	}
	select {
	case <-ctx.Done():
		return g.Wait()
	case <-elected:
	}

	for _, name := range sets.List(enabled) {
		newController, ok := controllerpkg.Known()[name]
		if !ok {
			cancel()
			return errors.Join(fmt.Errorf("controller %s is not linked into this binary", name), g.Wait())
		}
		ctrl, err := newController(factory)
		if err != nil {
			cancel()
			return errors.Join(fmt.Errorf("starting controller %s: %w", name, err), g.Wait())
		}
		g.Go(func() error {
			log.V(logf.InfoLevel).Info("starting controller", "controller", name)
			return ctrl.Run(o.workers, ctx)
		})
	}
	base.SharedInformerFactory.Start(ctx.Done())
	base.KubeSharedInformerFactory.Start(ctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())
	if o.enableGatewayAPI {
		base.GWShared.Start(ctx.Done())
	}

	err = g.Wait()
	base.HTTP01ResourceMetadataInformersFactory.Shutdown()
	base.KubeSharedInformerFactory.Shutdown()
	base.SharedInformerFactory.Shutdown()
	if o.enableGatewayAPI {
		base.GWShared.Shutdown()
	}
	return err
}

// completeContextOptions fills in what the flags give only indirectly.
func completeContextOptions(o *options) error {
	c := &o.contextOptions
	c.Kubeconfig, c.KubernetesAPIQPS, c.KubernetesAPIBurst = o.kubeconfig, o.qps, o.burst
	c.EnableGatewayAPI = o.enableGatewayAPI
	c.DNS01Nameservers = o.dns01RecursiveNSs
	if len(c.DNS01Nameservers) == 0 {
		c.DNS01Nameservers = dnsutil.RecursiveNameservers
	}
	for _, q := range []struct {
		flag, value string
		into        *resource.Quantity
	}{
		{"acme-http01-solver-resource-request-cpu", o.solverCPURequest, &c.HTTP01SolverResourceRequestCPU},
		{"acme-http01-solver-resource-request-memory", o.solverMemRequest, &c.HTTP01SolverResourceRequestMemory},
		{"acme-http01-solver-resource-limits-cpu", o.solverCPULimit, &c.HTTP01SolverResourceLimitsCPU},
		{"acme-http01-solver-resource-limits-memory", o.solverMemLimit, &c.HTTP01SolverResourceLimitsMemory},
	} {
		var err error
		if *q.into, err = resource.ParseQuantity(q.value); err != nil {
			return fmt.Errorf("--%s: %w", q.flag, err)
		}
	}
	return nil
}

// serve starts the metrics and /livez servers in g until ctx ends.
func serve(ctx context.Context, g *errgroup.Group, o *options, base *controllerpkg.Context) (*healthz.Server, error) {
	metricsLn, err := net.Listen("tcp", o.metricsAddress)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	metricsServer := base.Metrics.NewServer(metricsLn)
	g.Go(func() error {
		if err := metricsServer.Serve(metricsLn); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		shutdown, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer done()
		return metricsServer.Shutdown(shutdown)
	})
	healthzLn, err := net.Listen("tcp", o.healthzAddress)
	if err != nil {
		return nil, fmt.Errorf("healthz listener: %w", err)
	}
	healthzServer := healthz.NewServer(o.healthzTimeout)
	g.Go(func() error { return healthzServer.Start(ctx, healthzLn) })
	return healthzServer, nil
}

// electLeader runs leader election for the Lease cert-manager-controller in g
// and closes elected once this process leads; losing the lease fails g.
func electLeader(ctx context.Context, g *errgroup.Group, o *options, factory *controllerpkg.ContextFactory, healthzServer *healthz.Server, elected chan struct{}) error {
	leCtx, err := factory.Build("leader-election")
	if err != nil {
		return err
	}
	id, err := os.Hostname()
	if err != nil {
		return err
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, o.leaderElection.Namespace, "cert-manager-controller",
		leCtx.Client.CoreV1(), leCtx.Client.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: id + "-external-cert-manager-controller", EventRecorder: leCtx.Recorder})
	if err != nil {
		return err
	}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   o.leaderElection.LeaseDuration,
		RenewDeadline:   o.leaderElection.RenewDeadline,
		RetryPeriod:     o.leaderElection.RetryPeriod,
		ReleaseOnCancel: true,
		WatchDog:        healthzServer.LeaderHealthzAdaptor,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { close(elected) },
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		return err
	}
	g.Go(func() error {
		le.Run(ctx)
		if ctx.Err() == nil {
			return errors.New("leader election lost")
		}
		return nil
	})
	return nil
}
