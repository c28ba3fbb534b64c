package proxy

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MCP streamable HTTP headers.
const (
	headerSessionID       = "Mcp-Session-Id"
	headerProtocolVersion = "Mcp-Protocol-Version"
	// protocolNoBatch is the first protocol version that forbids batches.
	protocolNoBatch = "2025-06-18"
	// protocolStateless is the first protocol version without sessions.
	protocolStateless = "2026-07-28"
	keepAliveInterval = 15 * time.Second
)

// httpSession is one client session of the streamable HTTP endpoint.
type httpSession struct {
	id     string
	client *clientSession

	mu         sync.Mutex
	calls      map[string]chan *message // open POST streams, by request id
	standalone chan *message            // the GET stream, if open
	listen     chan *message            // a subscriptions/listen stream (2026-07-28), if open
	lastUsed   time.Time
	closed     chan struct{}
}

// deliver routes a backend message to the POST stream of the request it
// belongs to, else to the GET stream; it never blocks the backend.
func (s *httpSession) deliver(log *slog.Logger) deliverFunc {
	return func(msg *message, related json.RawMessage) {
		s.mu.Lock()
		defer s.mu.Unlock()
		ch := s.standalone
		if ch == nil {
			ch = s.listen
		}
		if related != nil {
			if c, ok := s.calls[string(related)]; ok {
				ch = c
			}
		}
		if ch == nil && msg.isRequest() {
			for _, c := range s.calls { // a server request while a call is open
				ch = c
				break
			}
		}
		if ch == nil {
			log.Debug("no open stream for a server message; dropped", "session", s.id, "method", msg.Method)
			return
		}
		select {
		case ch <- msg:
		default:
			log.Warn("client is not reading its stream; message dropped", "session", s.id, "method", msg.Method)
		}
	}
}

// streamable serves the MCP streamable HTTP transport at /mcp for a stdio
// backend shared through a mux.
type streamable struct {
	mux         *mux
	log         *slog.Logger
	maxBody     int64
	maxSessions int
	idleTimeout time.Duration
	draining    func() bool
	drain       <-chan struct{} // closed when the proxy starts draining
	metrics     *metrics
	inflight    atomic.Int64 // POSTs waiting for answers, which a drain lets finish

	mu       sync.Mutex
	sessions map[string]*httpSession
}

func (h *streamable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		h.post(w, r)
	case http.MethodGet:
		h.get(w, r)
	case http.MethodDelete:
		h.delete(w, r)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		httpError(w, http.StatusMethodNotAllowed, "use POST to send messages, GET to listen, DELETE to end a session")
	}
}

func (h *streamable) post(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		httpError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	if !accepts(r, "application/json") || !accepts(r, "text/event-stream") {
		httpError(w, http.StatusNotAcceptable, "Accept must list application/json and text/event-stream")
		return
	}
	msgs, batch, ok := readMessages(w, r, h.maxBody)
	if !ok {
		return
	}
	version := r.Header.Get(headerProtocolVersion)
	if batch && version >= protocolNoBatch {
		writeRPCError(w, http.StatusBadRequest, codeInvalidRequest, "JSON-RPC batches are not allowed from protocol version "+protocolNoBatch+" on")
		return
	}

	s, ephemeral, ok := h.sessionFor(w, r, msgs, version)
	if !ok {
		return
	}
	if ephemeral {
		defer h.mux.close(context.WithoutCancel(r.Context()), s.client)
	}
	h.forward(w, r, s, msgs, !ephemeral && isInitialize(msgs))
}

// sessionFor finds the request's session, starts one for an initialize, or
// makes a one-request session for the stateless protocol era.
func (h *streamable) sessionFor(w http.ResponseWriter, r *http.Request, msgs []*message, version string) (*httpSession, bool, bool) {
	if id := r.Header.Get(headerSessionID); id != "" {
		s := h.lookup(id)
		if s == nil {
			httpError(w, http.StatusNotFound, "session not found: initialize a new session")
			return nil, false, false
		}
		return s, false, true
	}
	stateless := version >= protocolStateless
	if !stateless && !isInitialize(msgs) {
		httpError(w, http.StatusBadRequest, "missing Mcp-Session-Id header: send initialize first")
		return nil, false, false
	}
	if h.draining() {
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, "the proxy is shutting down; retry to reach another replica")
		return nil, false, false
	}
	if stateless {
		return h.newSession(""), true, true
	}
	h.mu.Lock()
	full := len(h.sessions) >= h.maxSessions
	h.mu.Unlock()
	if full {
		w.Header().Set("Retry-After", "5")
		httpError(w, http.StatusServiceUnavailable, fmt.Sprintf("the proxy holds its maximum of %d sessions", h.maxSessions))
		return nil, false, false
	}
	s := h.newSession(rand.Text())
	h.mu.Lock()
	h.sessions[s.id] = s
	h.mu.Unlock()
	h.metrics.sessions.Inc()
	return s, false, true
}

func (h *streamable) newSession(id string) *httpSession {
	s := &httpSession{id: id, calls: map[string]chan *message{}, lastUsed: time.Now(), closed: make(chan struct{})}
	s.client = h.mux.open(s.deliver(h.log))
	return s
}

func (h *streamable) lookup(id string) *httpSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[id]
	if s != nil {
		s.mu.Lock()
		s.lastUsed = time.Now()
		s.mu.Unlock()
	}
	return s
}

// forward sends the messages to the backend and, when they include
// requests, streams the answers back as server-sent events.
func (h *streamable) forward(w http.ResponseWriter, r *http.Request, s *httpSession, msgs []*message, newSession bool) {
	var waiting []string
	ch := make(chan *message, 64)
	listen := isListen(msgs)
	s.mu.Lock()
	for _, m := range msgs {
		if m.isRequest() {
			s.calls[string(m.ID)] = ch
			waiting = append(waiting, string(m.ID))
		}
	}
	if listen {
		s.listen = ch
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		for _, id := range waiting {
			delete(s.calls, id)
		}
		if listen {
			s.listen = nil
		}
		s.mu.Unlock()
	}()

	for _, m := range msgs {
		h.mux.fromClient(r.Context(), s.client, m)
	}
	if len(waiting) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	// A listen stream is open-ended, like GET: it ends at a drain instead
	// of holding it open.
	drain := h.drain
	if !listen {
		h.inflight.Add(1)
		defer h.inflight.Add(-1)
		drain = nil
	}
	if newSession {
		w.Header().Set(headerSessionID, s.id)
	}
	sse := newSSEWriter(w)
	remaining := len(waiting)
	keepAlive := time.NewTicker(keepAliveInterval)
	defer keepAlive.Stop()
	for remaining > 0 {
		select {
		case msg := <-ch:
			if err := sse.event("message", msg); err != nil {
				return
			}
			if msg.isResponse() {
				remaining--
			}
		case <-keepAlive.C:
			if sse.comment("keep-alive") != nil {
				return
			}
		case <-s.closed:
			return
		case <-drain:
			return
		case <-r.Context().Done():
			// The client went away: the backend need not finish the work.
			for _, id := range waiting {
				h.cancel(s, id)
			}
			return
		}
	}
}

func (h *streamable) cancel(s *httpSession, id string) {
	params, _ := json.Marshal(map[string]any{"requestId": json.RawMessage(id), "reason": "the client disconnected"})
	h.mux.fromClient(context.Background(), s.client, &message{JSONRPC: "2.0", Method: "notifications/cancelled", Params: params})
}

// get opens the session's standalone stream for messages that belong to
// no request.
func (h *streamable) get(w http.ResponseWriter, r *http.Request) {
	if !accepts(r, "text/event-stream") {
		httpError(w, http.StatusNotAcceptable, "Accept must list text/event-stream")
		return
	}
	id := r.Header.Get(headerSessionID)
	if id == "" {
		httpError(w, http.StatusBadRequest, "missing Mcp-Session-Id header")
		return
	}
	s := h.lookup(id)
	if s == nil {
		httpError(w, http.StatusNotFound, "session not found: initialize a new session")
		return
	}
	ch := make(chan *message, 64)
	s.mu.Lock()
	if s.standalone != nil {
		s.mu.Unlock()
		httpError(w, http.StatusConflict, "this session already has an open GET stream")
		return
	}
	s.standalone = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.standalone = nil
		s.mu.Unlock()
	}()

	// At a drain, clients reopen the stream on another replica.
	newSSEWriter(w).relay(r.Context(), ch, s.closed, h.drain)
}

func (h *streamable) delete(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(headerSessionID)
	if id == "" {
		httpError(w, http.StatusBadRequest, "missing Mcp-Session-Id header")
		return
	}
	if !h.end(r.Context(), id) {
		httpError(w, http.StatusNotFound, "session not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// end closes a session and its streams.
func (h *streamable) end(ctx context.Context, id string) bool {
	h.mu.Lock()
	s, ok := h.sessions[id]
	delete(h.sessions, id)
	h.mu.Unlock()
	if !ok {
		return false
	}
	close(s.closed)
	h.mux.close(context.WithoutCancel(ctx), s.client)
	h.metrics.sessions.Dec()
	return true
}

// expireIdle ends sessions unused for idleTimeout: clients that never send
// DELETE must not hold state forever.
func (h *streamable) expireIdle(ctx context.Context) {
	t := time.NewTicker(max(h.idleTimeout/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var idle []string
		h.mu.Lock()
		for id, s := range h.sessions {
			s.mu.Lock()
			if time.Since(s.lastUsed) > h.idleTimeout && len(s.calls) == 0 && s.standalone == nil {
				idle = append(idle, id)
			}
			s.mu.Unlock()
		}
		h.mu.Unlock()
		for _, id := range idle {
			h.log.Info("ending idle session", "session", id)
			h.end(ctx, id)
		}
	}
}

// closeAll ends every session (at the end of a drain).
func (h *streamable) closeAll(ctx context.Context) {
	h.mu.Lock()
	ids := make([]string, 0, len(h.sessions))
	for id := range h.sessions {
		ids = append(ids, id)
	}
	h.mu.Unlock()
	for _, id := range ids {
		h.end(ctx, id)
	}
}

// readMessages reads a POST body of at most maxBody bytes and parses it,
// answering 413 or 400 (with a JSON-RPC error) when it cannot.
func readMessages(w http.ResponseWriter, r *http.Request, maxBody int64) ([]*message, bool, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeRPCError(w, http.StatusRequestEntityTooLarge, codeInvalidRequest, fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit))
			return nil, false, false
		}
		httpError(w, http.StatusBadRequest, "could not read the request body")
		return nil, false, false
	}
	msgs, batch, err := parseMessages(body)
	if err != nil {
		writeRPCError(w, http.StatusBadRequest, codeParseError, err.Error())
		return nil, false, false
	}
	return msgs, batch, true
}

func isInitialize(msgs []*message) bool {
	for _, m := range msgs {
		if m.Method == "initialize" && m.isRequest() {
			return true
		}
	}
	return false
}

// isListen reports a subscriptions/listen request (2026-07-28), the
// stateless era's stream for notifications that belong to no request.
func isListen(msgs []*message) bool {
	return len(msgs) == 1 && msgs[0].Method == "subscriptions/listen"
}

func accepts(r *http.Request, mediaType string) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
			if mt == mediaType || mt == "*/*" {
				return true
			}
		}
	}
	return false
}
