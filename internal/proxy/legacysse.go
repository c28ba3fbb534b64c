package proxy

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// The legacy HTTP+SSE transport (protocol 2024-11-05): the client opens a
// GET stream, whose first event names the endpoint it POSTs messages to.

// advertise is the path a client should use for path, behind an ingress
// that routes endpointPrefix (or X-Forwarded-Prefix, when trusted) here.
func advertise(r *http.Request, prefix string, trustProxy bool, path string) string {
	if trustProxy {
		if p := r.Header.Get("X-Forwarded-Prefix"); p != "" {
			prefix = p
		}
	}
	return strings.TrimSuffix(prefix, "/") + path
}

// legacySSE serves /sse and /messages for a stdio backend shared through a
// mux.
type legacySSE struct {
	mux        *mux
	prefix     string
	trustProxy bool
	maxBody    int64
	drain      <-chan struct{}
	draining   func() bool

	mu       sync.Mutex
	sessions map[string]*clientSession
}

func (h *legacySSE) stream(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		httpError(w, http.StatusMethodNotAllowed, "open the event stream with GET")
		return
	}
	if h.draining() {
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, "the proxy is shutting down; retry to reach another replica")
		return
	}
	ch := make(chan *message, 64)
	cs := h.mux.open(func(msg *message, _ json.RawMessage) {
		select {
		case ch <- msg:
		default: // a client that does not read loses messages, not the proxy
		}
	})
	id := rand.Text()
	h.mu.Lock()
	h.sessions[id] = cs
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.sessions, id)
		h.mu.Unlock()
		h.mux.close(context.WithoutCancel(r.Context()), cs)
	}()

	sse := newSSEWriter(w)
	endpoint := advertise(r, h.prefix, h.trustProxy, "/messages") + "?sessionId=" + id
	if sse.raw("endpoint", []byte(endpoint)) != nil {
		return
	}
	sse.relay(r.Context(), ch, nil, h.drain)
}

func (h *legacySSE) messages(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		httpError(w, http.StatusMethodNotAllowed, "POST messages here")
		return
	}
	h.mu.Lock()
	cs := h.sessions[r.URL.Query().Get("sessionId")]
	h.mu.Unlock()
	if cs == nil {
		httpError(w, http.StatusNotFound, "unknown sessionId: open a new stream at /sse")
		return
	}
	msgs, _, ok := readMessages(w, r, h.maxBody)
	if !ok {
		return
	}
	for _, m := range msgs {
		h.mux.fromClient(r.Context(), cs, m)
	}
	w.WriteHeader(http.StatusAccepted)
}

// ssePassthrough relays an sse backend: the event stream goes through as it
// is, except the endpoint event, which is rewritten to the proxy's own
// /messages so that clients POST through the proxy, to the same pod.
type ssePassthrough struct {
	backend    *httpBackend
	prefix     string
	trustProxy bool

	mu    sync.Mutex
	paths map[string]string // query of an advertised endpoint → backend path
}

func (h *ssePassthrough) stream(w http.ResponseWriter, r *http.Request) {
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
		h.backend.pool.bind(r.Context(), key, addr)
		return advertise(r, h.prefix, h.trustProxy, "/messages") + "?" + u.RawQuery
	}}
	h.backend.forward(rw, r, addr, h.backend.path, "")
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
		httpError(w, http.StatusNotFound, "unknown session: open a new stream at /sse")
		return
	}
	h.backend.forward(w, r, addr, path, "")
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
