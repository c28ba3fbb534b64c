package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// kwokPlacement puts a pod on the KWOK nodes hack/fake-nodes.sh adds.
var (
	kwokToleration = corev1.Toleration{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpEqual, Value: "fake", Effect: corev1.TaintEffectNoSchedule}
	kwokSelector   = map[string]string{"type": "kwok"}
)

// sharedSecret is the Secret the first servers reference, whose change must
// roll only theirs.
const sharedSecret = "bench-shared"

// server is the bench's MCPServer number i: a streamable-http server (the
// kind with every child, the headless Service included) whose backend and
// proxy pods run on KWOK nodes. The first referencing servers take a key of
// sharedSecret.
func server(ns string, i, referencing int, proxyPort int32) (*v1beta1.MCPServer, error) {
	tmpl, err := json.Marshal(corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		Tolerations: []corev1.Toleration{kwokToleration}, NodeSelector: kwokSelector,
	}})
	if err != nil {
		return nil, err
	}
	s := &v1beta1.MCPServer{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1beta1.GroupVersion.String(), Kind: "MCPServer"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: serverName(i)},
		Spec: v1beta1.MCPServerSpec{
			Image:           "switchboard/mcpserver:dev", // never pulled: KWOK runs nothing
			Transport:       v1beta1.TransportStreamableHTTP,
			MCPPort:         8080,
			ProxyPort:       proxyPort,
			PodTemplateSpec: &runtime.RawExtension{Raw: tmpl},
			ResourceOverrides: &v1beta1.ResourceOverrides{ProxyDeployment: &v1beta1.ProxyDeploymentOverrides{
				Tolerations: []corev1.Toleration{kwokToleration}, NodeSelector: kwokSelector,
			}},
		},
	}
	if i < referencing {
		s.Spec.Secrets = []v1beta1.SecretRef{{Name: sharedSecret, Key: "token", TargetEnvName: "TOKEN"}}
	}
	return s, nil
}

func serverName(i int) string { return fmt.Sprintf("s%04d", i) }

// applyAll applies n servers with the given number of workers, and returns
// each apply's latency (admission included) in the order they finished.
func applyAll(ctx context.Context, c client.Client, ns string, n, workers, referencing int, proxyPort int32) ([]time.Duration, error) {
	next := make(chan int)
	var mu sync.Mutex
	var latencies []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				s, err := server(ns, i, referencing, proxyPort)
				start := time.Now()
				if err == nil {
					err = applyServer(ctx, c, s)
				}
				mu.Lock()
				latencies = append(latencies, time.Since(start))
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("apply MCPServer %s: %w", serverName(i), err)
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return latencies, firstErr
}

func applyServer(ctx context.Context, c client.Client, s *v1beta1.MCPServer) error {
	return applyObject(ctx, c, s, "benchoperator")
}

// fakeProxies answers, on every address of the KWOK pod range, /health as
// a proxy whose server answered MCP does: the operator's real GETs to the
// proxy pods' IPs land here (see routeKWOKRange).
type fakeProxies struct {
	srv    *http.Server
	served atomic.Int64
}

func serveFakeProxies(port int32) (*fakeProxies, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("0.0.0.0", strconv.Itoa(int(port))))
	if err != nil {
		return nil, fmt.Errorf("listen for the proxies' /health: %w", err)
	}
	f := &fakeProxies{}
	body, _ := json.Marshal(proxyconfig.Health{ // cannot fail
		Status: "healthy", Backend: "attached", Transport: proxyconfig.TransportStreamableHTTP,
		MaxSessions: 10000, SessionStorage: "ok",
		Server: &proxyconfig.HealthServer{Name: "bench", Version: "1.0.0", ProtocolVersion: "2025-11-25", Tools: ptr.To(1)},
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+proxyconfig.HealthPath, func(w http.ResponseWriter, _ *http.Request) {
		f.served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

func (f *fakeProxies) close() { _ = f.srv.Close() }

// routeKWOKRange makes every address of cidr local to this host (AnyIP), so
// that a connection to a KWOK pod's IP reaches fakeProxies. The operator's
// pod reaches it too: its default route is the bridge's gateway, this host.
// The returned function removes the route.
func routeKWOKRange(cidr string) (func(), error) {
	if out, err := exec.Command("ip", "route", "add", "local", cidr, "dev", "lo").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip route add local %s dev lo: %w: %s", cidr, err, out)
	}
	return func() { _ = exec.Command("ip", "route", "del", "local", cidr, "dev", "lo").Run() }, nil
}
