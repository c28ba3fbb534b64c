package proxy_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
	"github.com/switchboard-mcp/switchboard/internal/testenv"
)

// backendPods runs one streamable-http test server per loopback address,
// all on the same port, as pods of a headless Service would.
func backendPods(t *testing.T, ips ...string) int32 {
	t.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		l, err := net.Listen("tcp", ips[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		listeners := []net.Listener{l}
		for _, ip := range ips[1:] {
			if l2, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port)); err == nil {
				listeners = append(listeners, l2)
			}
		}
		if len(listeners) < len(ips) {
			for _, l := range listeners {
				_ = l.Close()
			}
			continue
		}
		for i, l := range listeners {
			name := ips[i]
			srv := &http.Server{Handler: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return mcptest.NewServerNamed(name) },
				&mcp.StreamableHTTPOptions{DisableLocalhostProtection: true})}
			go func() { _ = srv.Serve(l) }()
			t.Cleanup(func() { _ = srv.Close() })
		}
		return int32(port)
	}
	t.Fatal("no port free on every loopback address")
	return 0
}

func endpointSlice(ns string, port int32, ips ...string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: "mcp-osv-headless-x", Labels: map[string]string{discoveryv1.LabelServiceName: "mcp-osv-headless"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, ip := range ips {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	return s
}

// podsOnAPIServer runs three backend pods (pod IPs 10.244.0.1-3, served on
// 127.0.0.1-3) behind the EndpointSlice of mcp-osv-headless in a real API
// server, and returns a proxy option that discovers and reaches them.
func podsOnAPIServer(t *testing.T) (k kubernetes.Interface, slice *discoveryv1.EndpointSlice, withPods func(*proxy.Options)) {
	t.Helper()
	env, cfg, err := testenv.Start(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	k = kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	ns := "tools"
	if _, err := k.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Pods have pod IPs; the test dials each one's loopback stand-in.
	ips := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	podIPs := []string{"10.244.0.1", "10.244.0.2", "10.244.0.3"}
	port := backendPods(t, ips...)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, p, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		for i, pod := range podIPs {
			if host == pod {
				return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(ips[i], p))
			}
		}
		return nil, fmt.Errorf("test dialer: %s is not a test pod", addr) // never leave loopback
	}
	slice, err = k.DiscoveryV1().EndpointSlices(ns).Create(ctx, endpointSlice(ns, port, podIPs...), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return k, slice, func(o *proxy.Options) {
		o.Transport, o.BackendService, o.BackendPort, o.Namespace, o.KubeConfig = "streamable-http", "mcp-osv-headless", 8080, ns, cfg
		o.BackendCommand, o.Dial = nil, dial
	}
}

func TestSessionsSpreadOverBackendPodsAndFollowThemOut(t *testing.T) {
	k, slice, withPods := podsOnAPIServer(t)
	ctx := context.Background()
	ns := slice.Namespace
	ips := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	r := startProxy(t, withPods)
	const n = 30
	sessions := make([]*mcp.ClientSession, n)
	owner := make([]string, n)
	perPod := map[string]int{}
	for i := range sessions {
		sessions[i] = connect(t, r, sessionful, nil)
		owner[i] = callText(t, sessions[i], "whoami", nil)
		perPod[owner[i]]++
	}
	for _, ip := range ips {
		if perPod[ip] != n/len(ips) {
			t.Errorf("sessions per pod %v: want %d on each (least loaded first)", perPod, n/len(ips))
			break
		}
	}
	for i, cs := range sessions {
		if got := callText(t, cs, "whoami", nil); got != owner[i] {
			t.Errorf("session %d moved from %s to %s", i, owner[i], got)
		}
	}

	// Pod 127.0.0.2 goes away.
	slice.Endpoints = slice.Endpoints[:1:1]
	slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.244.0.3"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	if _, err := k.DiscoveryV1().EndpointSlices(ns).Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, cs := range sessions {
		if owner[i] == "127.0.0.2" {
			expectSessionGone(t, cs)
		} else if got := callText(t, cs, "whoami", nil); got != owner[i] {
			t.Errorf("an unaffected session moved from %s to %s", owner[i], got)
		}
	}
	if got := callText(t, connect(t, r, sessionful, nil), "whoami", nil); got == "127.0.0.2" {
		t.Error("a new session went to the departed pod")
	}
}

// expectSessionGone waits until the session's calls fail (session not
// found: the client must re-initialize), and checks that they fail fast.
func expectSessionGone(t *testing.T, cs *mcp.ClientSession) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		start := time.Now()
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
		cancel()
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("a call of a session whose pod left took %s: it must fail fast", took)
		}
		if err != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a session of the departed pod is still served")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A pod the EndpointSlice still lists but that refuses connections (it
// died a moment ago) costs a new session nothing: the initialize goes to
// another pod, and the next ones avoid the refusing pod.
func TestNewSessionsFailOverFromAPodThatRefuses(t *testing.T) {
	_, _, withPods := podsOnAPIServer(t)
	var refused atomic.Int32
	r := startProxy(t, withPods, func(o *proxy.Options) {
		reach := o.Dial
		o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if strings.HasPrefix(addr, "10.244.0.1:") { // first in line: fewest sessions, lowest address
				refused.Add(1)
				return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
			}
			return reach(ctx, network, addr)
		}
	})
	for i := range 6 {
		if got := callText(t, connect(t, r, sessionful, nil), "whoami", nil); got == "127.0.0.1" {
			t.Errorf("session %d is on the pod that refuses connections", i)
		}
	}
	if refused.Load() == 0 {
		t.Error("no request was sent to the refusing pod: the test proves nothing")
	}
}
