package proxy

import (
	"context"
	"errors"
	"fmt"
	"os"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/switchboard-mcp/switchboard/internal/proxy/relay"
	"github.com/switchboard-mcp/switchboard/internal/proxy/stdio"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// serviceBackend relays to the ready pods behind the headless Service the
// operator names with --backend-service.
func (s *Server) serviceBackend(ctx context.Context, ro relay.Options) (*relay.Relay, error) {
	o := s.opts
	if o.BackendService == "" {
		return nil, errors.New("an sse or streamable-http backend needs --backend-url (local) or --backend-service (in Kubernetes)")
	}
	_, client, err := kubeClient(o.KubeConfig)
	if err != nil {
		return nil, err
	}
	return relay.NewService(ctx, client, namespace(o.Namespace), o.BackendService, o.BackendPort, o.Transport, ro)
}

// podBackend attaches to the stdio backend pod the operator selects with
// --backend-selector.
func (s *Server) podBackend(ctx context.Context) (stdio.Backend, error) {
	o := s.opts
	cfg, client, err := kubeClient(o.KubeConfig)
	if err != nil {
		return nil, err
	}
	attach := stdio.AttachFunc(o.Attach)
	if attach == nil {
		attach = stdio.KubeAttach(cfg, client)
	}
	return stdio.NewPod(ctx, client, namespace(o.Namespace), o.BackendSelector, attach, o.StdinTimeout, s.stats, o.Log)
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
