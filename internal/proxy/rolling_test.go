package proxy_test

import (
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
)

func TestRestartingAProxyUnderLoadFailsNoCall(t *testing.T) {
	_, _, withPods := podsOnAPIServer(t)
	redis := proxytest.StartRedis(t, "")
	// The drain delay outlasts the balancer's 50 ms probe period, as the
	// default 5 s outlasts endpoint propagation in a cluster.
	delay := func(o *proxy.Options) { o.DrainDelay = 300 * time.Millisecond }
	a := startProxy(t, withPods, withRedis(redis.Addr), delay)
	b := startProxy(t, withPods, withRedis(redis.Addr), delay)
	lb := &proxytest.Balancer{}
	lb.Set(a.base, b.base)
	stop := make(chan struct{})
	go lb.Probe(stop)
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
	a2 := startProxy(t, withPods, withRedis(redis.Addr), delay)
	lb.Set(b.base, a2.base)
	time.Sleep(500 * time.Millisecond)
	close(done)
	wg.Wait()
	t.Logf("%d calls, %d failed, while proxy A drained, stopped and came back", calls.Load(), failed.Load())
	if failed.Load() != 0 || calls.Load() < 50 {
		t.Errorf("%d of %d calls failed while a proxy restarted; want none", failed.Load(), calls.Load())
	}
}
