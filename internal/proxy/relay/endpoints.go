package relay

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

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
