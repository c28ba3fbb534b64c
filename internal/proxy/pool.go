package proxy

import (
	"context"
	"sort"
	"sync"
	"time"
)

// pool is the set of ready backend pods of an sse or streamable-http server,
// and which pod owns which session. A new session goes to the least-loaded
// pod; every later request of that session goes to the same pod; when a pod
// leaves, its sessions are forgotten so their next request is answered
// "session not found" and the client re-initializes.
type pool struct {
	store sessionStore // session key → host:port, maybe shared by replicas

	mu        sync.Mutex
	endpoints map[string]*endpointLoad // by host:port
	owned     map[string]string        // the sessions this replica bound
}

type endpointLoad struct {
	sessions int
	active   int
	// failedAt is when a dial to the pod last failed: until the watcher or
	// probe catches up, new sessions prefer other pods.
	failedAt time.Time
}

// suspectFor is how long a pod that refused a connection is avoided.
const suspectFor = 3 * time.Second

func newPool(store sessionStore, addrs ...string) *pool {
	p := &pool{store: store, endpoints: map[string]*endpointLoad{}, owned: map[string]string{}}
	p.set(addrs)
	return p
}

// set replaces the ready endpoints.
func (p *pool) set(addrs []string) (gone []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := make(map[string]*endpointLoad, len(addrs))
	for _, a := range addrs {
		if e, ok := p.endpoints[a]; ok {
			next[a] = e
		} else {
			next[a] = &endpointLoad{}
		}
	}
	for a := range p.endpoints {
		if _, ok := next[a]; !ok {
			gone = append(gone, a)
		}
	}
	p.endpoints = next
	for key, a := range p.owned {
		if _, ok := next[a]; !ok {
			delete(p.owned, key)
			_ = p.store.del(context.Background(), key)
		}
	}
	return gone
}

// pick chooses the endpoint with the fewest sessions and requests, among
// those that have not just refused a connection if there are any.
func (p *pool) pick() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	addrs := make([]string, 0, len(p.endpoints))
	for a := range p.endpoints {
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return "", false
	}
	now := time.Now()
	sort.Slice(addrs, func(i, j int) bool {
		li, lj := p.endpoints[addrs[i]], p.endpoints[addrs[j]]
		si, sj := now.Sub(li.failedAt) < suspectFor, now.Sub(lj.failedAt) < suspectFor
		if si != sj {
			return sj
		}
		if li.sessions+li.active != lj.sessions+lj.active {
			return li.sessions+li.active < lj.sessions+lj.active
		}
		return addrs[i] < addrs[j]
	})
	return addrs[0], true
}

// lookup finds the session's pod; a pod that is no longer ready (another
// replica may have bound the session to it) means the session is gone.
func (p *pool) lookup(ctx context.Context, key string) (string, bool) {
	addr, ok, err := p.store.get(ctx, key)
	if err != nil || !ok {
		return "", false
	}
	p.mu.Lock()
	_, ready := p.endpoints[addr]
	p.mu.Unlock()
	if !ready {
		_ = p.store.del(ctx, key)
		return "", false
	}
	return addr, true
}

func (p *pool) bind(ctx context.Context, key, addr string) {
	p.mu.Lock()
	e, ok := p.endpoints[addr]
	if ok {
		if _, dup := p.owned[key]; !dup {
			e.sessions++
		}
		p.owned[key] = addr
	}
	p.mu.Unlock()
	if ok {
		_ = p.store.set(ctx, key, addr) // on a Redis error the local copy serves
	}
}

func (p *pool) unbind(ctx context.Context, key string) {
	p.mu.Lock()
	if a, ok := p.owned[key]; ok {
		if e, ok := p.endpoints[a]; ok {
			e.sessions--
		}
		delete(p.owned, key)
	}
	p.mu.Unlock()
	_ = p.store.del(ctx, key)
}

// unreachable notes that a dial to addr failed and forgets the session
// that was bound to it: its client gets "session not found".
func (p *pool) unreachable(ctx context.Context, addr, key string) {
	p.mu.Lock()
	if e, ok := p.endpoints[addr]; ok {
		e.failedAt = time.Now()
	}
	p.mu.Unlock()
	if key != "" {
		p.unbind(ctx, key)
	}
}

// busy counts a request in flight on addr until the returned func runs.
func (p *pool) busy(addr string) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.endpoints[addr]; ok {
		e.active++
	}
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if e, ok := p.endpoints[addr]; ok {
			e.active--
		}
	}
}

func (p *pool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.endpoints)
}
