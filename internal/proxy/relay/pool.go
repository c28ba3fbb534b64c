package relay

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
)

// pool is the set of ready backend pods of an sse or streamable-http server,
// and which pod owns which session. A new session goes to the least-loaded
// pod that answers MCP; every later request of that session goes to the
// same pod; when a pod leaves, its sessions are forgotten so their next
// request is answered "session not found" and the client re-initializes.
type pool struct {
	store    Store // session key → host:port, maybe shared by replicas
	sessions *pipeline.Sessions

	mu        sync.Mutex
	endpoints map[string]*endpointLoad // by host:port
	owned     map[string]*ownedSession // the sessions this replica bound
}

type endpointLoad struct {
	sessions int
	active   int
	// failedAt is when a dial to the pod last failed: until the watcher or
	// probe catches up, new sessions prefer other pods.
	failedAt time.Time
	// mute is a pod that accepts connections but did not answer the last
	// MCP probe: it takes no new sessions.
	mute bool
}

type ownedSession struct {
	addr    string
	counted bool // holds a place under the session cap
	used    time.Time
	seen    bool // used since its initialize
}

// suspectFor is how long a pod that refused a connection is avoided.
const suspectFor = 3 * time.Second

func newPool(store Store, sessions *pipeline.Sessions, addrs ...string) *pool {
	p := &pool{store: store, sessions: sessions, endpoints: map[string]*endpointLoad{}, owned: map[string]*ownedSession{}}
	p.set(addrs)
	return p
}

// set replaces the ready endpoints.
func (p *pool) set(addrs []string) (gone []string) {
	p.mu.Lock()
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
	var dropped []string
	for key, s := range p.owned {
		if _, ok := next[s.addr]; !ok {
			p.dropLocked(key)
			dropped = append(dropped, key)
		}
	}
	p.mu.Unlock()
	for _, key := range dropped {
		_ = p.store.Del(context.Background(), key)
	}
	return gone
}

// pick chooses the endpoint with the fewest sessions and requests, among
// those that answer MCP and have not just refused a connection, if any.
func (p *pool) pick() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	addrs := make([]string, 0, len(p.endpoints))
	for a, e := range p.endpoints {
		if !e.mute {
			addrs = append(addrs, a)
		}
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
	addr, ok, err := p.store.Get(ctx, key)
	if err != nil || !ok {
		return "", false
	}
	p.mu.Lock()
	_, ready := p.endpoints[addr]
	if s, mine := p.owned[key]; mine {
		s.used, s.seen = time.Now(), true
	}
	p.mu.Unlock()
	if !ready {
		_ = p.store.Del(ctx, key)
		return "", false
	}
	return addr, true
}

// bind records that addr owns the session key; counted says the session
// holds a place under the session cap, given back when it is forgotten.
func (p *pool) bind(ctx context.Context, key, addr string, counted bool) {
	p.mu.Lock()
	e, ok := p.endpoints[addr]
	if ok {
		if old, dup := p.owned[key]; dup {
			if old.counted && counted {
				p.sessions.Release() // one place per session: it has one
			}
			counted = counted || old.counted
			if old.addr != addr {
				if oe, ok := p.endpoints[old.addr]; ok {
					oe.sessions--
				}
				e.sessions++
			}
		} else {
			e.sessions++
		}
		p.owned[key] = &ownedSession{addr: addr, counted: counted, used: time.Now()}
	} else if counted {
		p.sessions.Release()
	}
	p.mu.Unlock()
	if ok {
		_ = p.store.Set(ctx, key, addr) // on a Redis error the local copy serves
	}
}

func (p *pool) unbind(ctx context.Context, key string) {
	p.mu.Lock()
	p.dropLocked(key)
	p.mu.Unlock()
	_ = p.store.Del(ctx, key)
}

// dropLocked forgets an owned session and gives its place back; p.mu is held.
func (p *pool) dropLocked(key string) {
	s, ok := p.owned[key]
	if !ok {
		return
	}
	if e, ok := p.endpoints[s.addr]; ok {
		e.sessions--
	}
	if s.counted {
		p.sessions.Release()
	}
	delete(p.owned, key)
}

// expire gives back the places of the sessions this replica bound that were
// unused for idle, or never used after their initialize for handshake,
// until ctx ends. The store expires idle entries by itself.
func (p *pool) expire(ctx context.Context, idle, handshake time.Duration) {
	if idle <= 0 {
		return
	}
	if handshake <= 0 {
		handshake = idle
	}
	t := time.NewTicker(max(min(idle, handshake)/4, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var unused []string
		p.mu.Lock()
		for key, s := range p.owned {
			quiet := time.Since(s.used)
			switch {
			case quiet > idle:
				p.dropLocked(key)
			case !s.seen && quiet > handshake:
				p.dropLocked(key)
				unused = append(unused, key)
			}
		}
		p.mu.Unlock()
		// A session nobody used after its initialize ends with its place,
		// unless the store is shared: another replica may be using it.
		for _, key := range unused {
			if !p.store.Shared() {
				_ = p.store.Del(ctx, key)
			}
		}
	}
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

// setMute marks whether addr failed its MCP probe; true when that changed.
func (p *pool) setMute(addr string, mute bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.endpoints[addr]
	if !ok || e.mute == mute {
		return false
	}
	e.mute = mute
	return true
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

// healthy counts the endpoints that answer MCP.
func (p *pool) healthy() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.endpoints {
		if !e.mute {
			n++
		}
	}
	return n
}

func (p *pool) addrs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.endpoints))
	for a := range p.endpoints {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}
