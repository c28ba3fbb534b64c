package proxy

import (
	"sort"
	"sync"
)

// pool is the set of ready backend pods of an sse or streamable-http server,
// and which pod owns which session. A new session goes to the least-loaded
// pod; every later request of that session goes to the same pod; when a pod
// leaves, its sessions are forgotten so their next request is answered
// "session not found" and the client re-initializes.
type pool struct {
	mu        sync.Mutex
	endpoints map[string]*endpointLoad // by host:port
	sessions  map[string]string        // session key → host:port
}

type endpointLoad struct {
	sessions int
	active   int
}

func newPool(addrs ...string) *pool {
	p := &pool{endpoints: map[string]*endpointLoad{}, sessions: map[string]string{}}
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
	for key, a := range p.sessions {
		if _, ok := next[a]; !ok {
			delete(p.sessions, key)
		}
	}
	return gone
}

// pick chooses the endpoint with the fewest sessions and requests.
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
	sort.Slice(addrs, func(i, j int) bool {
		li, lj := p.endpoints[addrs[i]], p.endpoints[addrs[j]]
		if li.sessions+li.active != lj.sessions+lj.active {
			return li.sessions+li.active < lj.sessions+lj.active
		}
		return addrs[i] < addrs[j]
	})
	return addrs[0], true
}

func (p *pool) lookup(key string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.sessions[key]
	return a, ok
}

func (p *pool) bind(key, addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.endpoints[addr]
	if !ok {
		return
	}
	if _, dup := p.sessions[key]; !dup {
		e.sessions++
	}
	p.sessions[key] = addr
}

func (p *pool) unbind(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.sessions[key]; ok {
		if e, ok := p.endpoints[a]; ok {
			e.sessions--
		}
		delete(p.sessions, key)
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
