package relay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// ssePassthrough relays an sse backend: the event stream goes through as it
// is, except the endpoint event, which is rewritten to the proxy's own
// /messages so that clients POST through the proxy, to the same pod.
type ssePassthrough struct {
	backend *Relay

	mu    sync.Mutex
	paths map[string]string // query of an advertised endpoint → backend path
}

func (h *ssePassthrough) stream(w http.ResponseWriter, r *http.Request) {
	sessions := h.backend.o.Sessions
	if !sessions.Acquire() {
		w.Header().Set("Retry-After", "5")
		wire.HTTPError(w, http.StatusServiceUnavailable, fmt.Sprintf("the proxy holds its maximum of %d sessions and streams; retry shortly", sessions.Max()))
		return
	}
	defer sessions.Release()
	addr, ok := h.backend.target(w, r, "")
	if !ok {
		return
	}
	var key string
	rw := &endpointRewriter{ResponseWriter: w, rewrite: func(data string) string {
		u, err := url.Parse(strings.TrimSpace(data))
		if err != nil {
			return data
		}
		key = "sse?" + u.RawQuery
		h.mu.Lock()
		h.paths[u.RawQuery] = u.Path
		h.mu.Unlock()
		h.backend.pool.bind(r.Context(), key, addr, false)
		return wire.Advertise(r, h.backend.o.Prefix, h.backend.o.TrustProxy, "/messages") + "?" + u.RawQuery
	}}
	h.backend.forward(rw, r, nil, route{addr: addr}, h.backend.path)
	if key != "" { // the stream is over: so is the session
		h.backend.pool.unbind(context.WithoutCancel(r.Context()), key)
		h.mu.Lock()
		delete(h.paths, strings.TrimPrefix(key, "sse?"))
		h.mu.Unlock()
	}
}

func (h *ssePassthrough) messages(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	path, ok := h.paths[r.URL.RawQuery]
	h.mu.Unlock()
	addr, bound := h.backend.pool.lookup(r.Context(), "sse?"+r.URL.RawQuery)
	if !ok || !bound {
		wire.HTTPError(w, http.StatusNotFound, "unknown session: open a new stream at /sse")
		return
	}
	body, _, ok := h.backend.checked(w, r, r.URL.RawQuery)
	if !ok {
		return
	}
	h.backend.forward(w, r, body, route{addr: addr, session: r.URL.RawQuery}, path)
}

// endpointRewriter rewrites the data of the first "endpoint" event of an
// event stream as it is written, line by line, flushing as it goes.
type endpointRewriter struct {
	http.ResponseWriter
	rewrite func(string) string
	pending []byte
	inEvent bool
	done    bool
}

func (e *endpointRewriter) Write(p []byte) (int, error) {
	if e.done {
		return e.ResponseWriter.Write(p)
	}
	e.pending = append(e.pending, p...)
	var out []byte
	for !e.done {
		i := strings.IndexByte(string(e.pending), '\n')
		if i < 0 {
			break
		}
		line := string(e.pending[:i])
		e.pending = e.pending[i+1:]
		switch {
		case strings.TrimRight(line, "\r") == "event: endpoint":
			e.inEvent = true
		case e.inEvent && strings.HasPrefix(line, "data:"):
			line = "data: " + e.rewrite(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			e.done = true
		}
		out = append(append(out, line...), '\n')
	}
	if e.done {
		out = append(out, e.pending...)
		e.pending = nil
	}
	if _, err := e.ResponseWriter.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (e *endpointRewriter) Flush() {
	if f, ok := e.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
