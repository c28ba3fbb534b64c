package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"strconv"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/switchboard-mcp/switchboard/internal/naming"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// httpBackend is the hand-given --backend-url, or the ready pods behind the
// headless Service the operator names with --backend-service.
func (s *Server) httpBackend(ctx context.Context) (*httpBackend, error) {
	o := s.opts
	if o.BackendURL != "" {
		return staticHTTPBackend(ctx, o.BackendURL, s.store, o.Dial, o.MaxBodyBytes, o.Log)
	}
	if o.BackendService == "" {
		return nil, errors.New("an sse or streamable-http backend needs --backend-url (local) or --backend-service (in Kubernetes)")
	}
	_, client, err := kubeClient(o.KubeConfig)
	if err != nil {
		return nil, err
	}
	ns := namespace(o.Namespace)
	path := "/mcp"
	if o.Transport == "sse" {
		path = "/sse"
	}
	b := newHTTPBackend("http", path, newPool(s.store), false, o.Dial, o.MaxBodyBytes, o.Log)
	if err := watchEndpointSlices(ctx, client, ns, o.BackendService, o.BackendPort, b.pool, o.Log); err != nil {
		return nil, err
	}
	return b, nil
}

// podBackend attaches to the stdio backend pod the operator selects with
// --backend-selector.
func (s *Server) podBackend(ctx context.Context) (*podBackend, error) {
	o := s.opts
	cfg, client, err := kubeClient(o.KubeConfig)
	if err != nil {
		return nil, err
	}
	attach := attachFunc(o.Attach)
	if attach == nil {
		attach = kubeAttach(cfg, client)
	}
	return newPodBackend(ctx, client, namespace(o.Namespace), o.BackendSelector, attach, o.Log)
}

func namespace(given string) string {
	if given != "" {
		return given
	}
	return os.Getenv(proxyconfig.EnvNamespace)
}

// kubeClient reaches the API server with the given config, the pod's
// service account, or $KUBECONFIG.
func kubeClient(given *rest.Config) (*rest.Config, kubernetes.Interface, error) {
	cfg := given
	if cfg == nil {
		var err error
		if cfg, err = rest.InClusterConfig(); err != nil {
			cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), nil).ClientConfig()
			if err != nil {
				return nil, nil, fmt.Errorf("no Kubernetes config (in-cluster or $KUBECONFIG): %w", err)
			}
		}
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return cfg, client, nil
}

// watchEndpointSlices keeps p equal to the ready endpoints of service, and
// waits for the first list so that the proxy starts with what exists.
func watchEndpointSlices(ctx context.Context, client kubernetes.Interface, ns, service string, port int32, p *pool, log *slog.Logger) error {
	selector := labels.Set{discoveryv1.LabelServiceName: service}.String()
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	informer := factory.Discovery().V1().EndpointSlices()
	sync := func() {
		slices, err := informer.Lister().EndpointSlices(ns).List(labels.Everything())
		if err != nil {
			log.Error("list endpoint slices", "error", err)
			return
		}
		addrs := readyAddresses(slices, port)
		if gone := p.set(addrs); len(gone) > 0 {
			log.Info("backend pods left; their sessions will re-initialize", "gone", gone, "ready", addrs)
		}
	}
	if _, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { sync() },
		UpdateFunc: func(any, any) { sync() },
		DeleteFunc: func(any) { sync() },
	}); err != nil {
		return fmt.Errorf("watch endpoint slices of %s: %w", service, err)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.Informer().HasSynced) {
		return fmt.Errorf("endpoint slices of %s/%s never synced", ns, service)
	}
	sync()
	return nil
}

// readyAddresses are host:port of every ready endpoint, on the slice's port
// named "http" (else the configured port).
func readyAddresses(slices []*discoveryv1.EndpointSlice, port int32) []string {
	var out []string
	for _, s := range slices {
		p := port
		for _, sp := range s.Ports {
			if sp.Name != nil && *sp.Name == naming.PortName && sp.Port != nil {
				p = *sp.Port
			}
		}
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, a := range e.Addresses {
				out = append(out, net.JoinHostPort(a, strconv.Itoa(int(p))))
			}
		}
	}
	sort.Strings(out)
	return out
}
