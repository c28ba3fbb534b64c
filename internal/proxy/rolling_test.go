package proxy_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
)

// balancer stands in for a Service: it sends each request to the next proxy
// whose readiness probe (/health) passed at its last check, every 50 ms.
type balancer struct {
	mu    sync.Mutex
	ready []string
	all   []string
	next  int
}

func (b *balancer) probe(stop <-chan struct{}) {
	for {
		var ready []string
		for _, base := range b.snapshot() {
			if resp, err := http.Get(base + "/health"); err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ready = append(ready, base)
				}
			}
		}
		b.mu.Lock()
		b.ready = ready
		b.mu.Unlock()
		select {
		case <-stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (b *balancer) snapshot() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.all...)
}

func (b *balancer) set(all ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.all = all
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	if len(b.ready) == 0 {
		b.mu.Unlock()
		http.Error(w, "no ready proxy", http.StatusServiceUnavailable)
		return
	}
	target := b.ready[b.next%len(b.ready)]
	b.next++
	b.mu.Unlock()
	u, _ := url.Parse(target)
	(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }, FlushInterval: -1}).ServeHTTP(w, r)
}

func TestRestartingAProxyUnderLoadFailsNoCall(t *testing.T) {
	_, _, withPods := podsOnAPIServer(t)
	redis := startRedis(t, "")
	// The drain delay outlasts the balancer's 50 ms probe period, as the
	// default 5 s outlasts endpoint propagation in a cluster.
	delay := func(o *proxy.Options) { o.DrainDelay = 300 * time.Millisecond }
	a := startProxy(t, withPods, withRedis(redis.addr), delay)
	b := startProxy(t, withPods, withRedis(redis.addr), delay)
	lb := &balancer{}
	lb.set(a.base, b.base)
	stop := make(chan struct{})
	go lb.probe(stop)
	t.Cleanup(func() { close(stop) })
	front := httptest.NewServer(lb)
	t.Cleanup(front.Close)
	time.Sleep(120 * time.Millisecond) // both probed ready
	via := &running{base: front.URL}

	sessions := make([]string, 8)
	for i := range sessions {
		sessions[i] = initialize(t, via)
	}
	var calls, failed atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				calls.Add(1)
				if got := whoamiVia(t, front.URL, s); !strings.HasPrefix(got, "127.0.0.") {
					failed.Add(1)
					t.Logf("call failed: %s", got)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	a.stop() // SIGTERM: readiness off, drain, exit
	if err := <-a.done; err != nil {
		t.Errorf("drained proxy: %v", err)
	}
	a.done <- nil // for its cleanup
	a2 := startProxy(t, withPods, withRedis(redis.addr), delay)
	lb.set(b.base, a2.base)
	time.Sleep(500 * time.Millisecond)
	close(done)
	wg.Wait()
	t.Logf("%d calls, %d failed, while proxy A drained, stopped and came back", calls.Load(), failed.Load())
	if failed.Load() != 0 || calls.Load() < 50 {
		t.Errorf("%d of %d calls failed while a proxy restarted; want none", failed.Load(), calls.Load())
	}
}
