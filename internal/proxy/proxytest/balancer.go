package proxytest

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// Balancer stands in for a Service: it sends each request to the next proxy
// whose readiness probe (/health) passed at its last check, every 50 ms.
type Balancer struct {
	mu    sync.Mutex
	ready []string
	all   []string
	next  int
}

// Probe checks readiness until stop is closed.
func (b *Balancer) Probe(stop <-chan struct{}) {
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

func (b *Balancer) snapshot() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.all...)
}

// Set replaces the proxies (base URLs) behind the balancer.
func (b *Balancer) Set(all ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.all = all
}

func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
