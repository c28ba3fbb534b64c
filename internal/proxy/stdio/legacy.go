package stdio

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// The legacy HTTP+SSE transport (protocol 2024-11-05): the client opens a
// GET stream, whose first event names the endpoint it POSTs messages to.

// legacySSE serves /sse and /messages for a stdio backend shared through a
// mux.
type legacySSE struct {
	mux *mux
	o   Options

	mu       sync.Mutex
	sessions map[string]*legacySession
}

type legacySession struct {
	client *clientSession
}

func (h *legacySSE) stream(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		wire.HTTPError(w, http.StatusMethodNotAllowed, "open the event stream with GET")
		return
	}
	if h.o.Draining() {
		w.Header().Set("Retry-After", "1")
		wire.HTTPError(w, http.StatusServiceUnavailable, "the proxy is shutting down; retry to reach another replica")
		return
	}
	if !h.o.Sessions.Acquire() {
		w.Header().Set("Retry-After", "5")
		wire.HTTPError(w, http.StatusServiceUnavailable, fmt.Sprintf("the proxy holds its maximum of %d sessions and streams; retry shortly", h.o.Sessions.Max()))
		return
	}
	defer h.o.Sessions.Release()
	// Answers and server messages share the one stream: a client that does
	// not read it loses the stream, not the proxy its memory.
	box := newMailbox(openStreamOther, true)
	cs := h.mux.open(func(msg *wire.Message, _ json.RawMessage) bool {
		if !box.put(msg) {
			h.o.Stats.Dropped.Add(1)
			return false
		}
		return true
	})
	id := rand.Text()
	h.mu.Lock()
	h.sessions[id] = &legacySession{client: cs}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.sessions, id)
		h.mu.Unlock()
		h.mux.close(cs)
	}()

	sse := wire.NewSSEWriter(w, h.o.WriteTimeout)
	endpoint := wire.Advertise(r, h.o.Prefix, h.o.TrustProxy, "/messages") + "?sessionId=" + id
	if sse.Raw("endpoint", []byte(endpoint)) != nil {
		return
	}
	pump(r.Context(), sse, box, h.o.Stats, never, h.o.Drain)
}

func (h *legacySSE) messages(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		wire.HTTPError(w, http.StatusMethodNotAllowed, "POST messages here")
		return
	}
	id := r.URL.Query().Get("sessionId")
	h.mu.Lock()
	ls := h.sessions[id]
	h.mu.Unlock()
	if ls == nil {
		wire.HTTPError(w, http.StatusNotFound, "unknown sessionId: open a new stream at /sse")
		return
	}
	msgs, _, ok := wire.ReadMessages(w, r, h.o.MaxBody, h.o.MaxBatch)
	if !ok {
		return
	}
	replies, _, refused, ref := h.o.Path.CheckAll(r, id, msgs)
	if ref != nil {
		// On this transport answers travel on the stream: an HTTP error
		// here would end the client's session, not answer its request.
		if refused.IsRequest() {
			ls.client.deliver(wire.ErrorResponse(refused.ID, ref.Err.Code, ref.Err.Message), refused.ID)
			w.WriteHeader(http.StatusAccepted)
			return
		}
		ref.Write(w, refused.ID)
		return
	}
	for i, m := range msgs {
		h.mux.fromClientAnswered(r.Context(), ls.client, m, replies.Of(i))
	}
	w.WriteHeader(http.StatusAccepted)
}
