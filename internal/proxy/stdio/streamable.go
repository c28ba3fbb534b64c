package stdio

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// httpSession is one client session of the streamable HTTP endpoint.
type httpSession struct {
	id     string
	client *clientSession

	mu         sync.Mutex
	calls      map[string]*mailbox // open POST streams, by request id; nil when none
	standalone *mailbox            // the GET stream, if open
	listen     *mailbox            // a subscriptions/listen stream (2026-07-28), if open
	lastUsed   time.Time
	handshake  bool // only its initialize so far
	// closed is closed when the session ends. It exists while streams
	// wait on it (watch), so that an idle session holds no channel.
	closed   chan struct{}
	watchers int
	ended    bool
}

// watch returns a channel closed when the session ends, and the function
// that says the caller no longer waits on it.
func (s *httpSession) watch() (<-chan struct{}, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed == nil {
		s.closed = make(chan struct{})
		if s.ended {
			close(s.closed)
		}
	}
	s.watchers++
	return s.closed, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.watchers--; s.watchers == 0 && !s.ended {
			s.closed = nil
		}
	}
}

// finish ends the session's streams.
func (s *httpSession) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended && s.closed != nil {
		close(s.closed)
	}
	s.ended = true
}

// deliver routes a backend message to the POST stream of the request it
// belongs to, else to the GET stream; it never blocks the backend.
func (s *httpSession) deliver(o *Options) deliverFunc {
	return func(msg *wire.Message, related json.RawMessage) bool {
		s.mu.Lock()
		box := s.standalone
		if box == nil {
			box = s.listen
		}
		if related != nil {
			if c, ok := s.calls[string(related)]; ok {
				box = c
			}
		}
		if box == nil && !msg.IsNotification() {
			for _, c := range s.calls { // a server request while a call is open
				box = c
				break
			}
		}
		s.mu.Unlock()
		if box == nil {
			o.Log.Debug("no open stream for a server message; dropped", "session", s.id, "method", msg.Method)
			return false
		}
		if !box.put(msg) {
			o.Stats.Dropped.Add(1)
			o.Log.Warn("client is not reading its stream; message dropped", "session", s.id, "method", msg.Method)
			return false
		}
		return true
	}
}

// streamable serves the MCP streamable HTTP transport at /mcp for a stdio
// backend shared through a mux.
type streamable struct {
	mux      *mux
	o        Options
	inflight atomic.Int64 // POSTs waiting for answers, which a drain lets finish

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
		wire.HTTPError(w, http.StatusMethodNotAllowed, "use POST to send messages, GET to listen, DELETE to end a session")
	}
}

func (h *streamable) post(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		wire.HTTPError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	if !wire.Accepts(r, "application/json") || !wire.Accepts(r, "text/event-stream") {
		wire.HTTPError(w, http.StatusNotAcceptable, "Accept must list application/json and text/event-stream")
		return
	}
	msgs, batch, ok := wire.ReadMessages(w, r, h.o.MaxBody, h.o.MaxBatch)
	if !ok {
		return
	}
	version := r.Header.Get(wire.HeaderProtocolVersion)
	if batch && version >= wire.ProtocolNoBatch {
		wire.WriteRPCError(w, http.StatusBadRequest, wire.CodeInvalidRequest, "JSON-RPC batches are not allowed from protocol version "+wire.ProtocolNoBatch+" on")
		return
	}
	replies, ok := check(w, r, h.o.Path, r.Header.Get(wire.HeaderSessionID), msgs)
	if !ok {
		return
	}
	s, ephemeral, ok := h.sessionFor(w, r, msgs, version)
	if !ok {
		replies.FailAll("the request's session could not be found or started")
		return
	}
	if ephemeral {
		defer h.o.Sessions.Release()
		defer h.mux.close(s.client)
	}
	h.forward(w, r, s, msgs, replies, !ephemeral && isInitialize(msgs))
}

// sessionFor finds the request's session, starts one for an initialize, or
// makes a one-request session for the stateless protocol era. New sessions
// take a place under the proxy's session cap.
func (h *streamable) sessionFor(w http.ResponseWriter, r *http.Request, msgs []*wire.Message, version string) (*httpSession, bool, bool) {
	if id := r.Header.Get(wire.HeaderSessionID); id != "" {
		s := h.lookup(id)
		if s == nil {
			wire.HTTPError(w, http.StatusNotFound, "session not found: initialize a new session")
			return nil, false, false
		}
		return s, false, true
	}
	stateless := version >= wire.ProtocolStateless
	if !stateless && !isInitialize(msgs) {
		wire.HTTPError(w, http.StatusBadRequest, "missing Mcp-Session-Id header: send initialize first")
		return nil, false, false
	}
	if h.o.Draining() {
		w.Header().Set("Retry-After", "1")
		wire.HTTPError(w, http.StatusServiceUnavailable, "the proxy is shutting down; retry to reach another replica")
		return nil, false, false
	}
	if !h.o.Sessions.Acquire() {
		w.Header().Set("Retry-After", "5")
		wire.HTTPError(w, http.StatusServiceUnavailable, fmt.Sprintf("the proxy holds its maximum of %d sessions and streams; retry shortly", h.o.Sessions.Max()))
		return nil, false, false
	}
	if stateless {
		return h.newSession(""), true, true
	}
	s := h.newSession(rand.Text())
	s.handshake = true
	h.mu.Lock()
	h.sessions[s.id] = s
	h.mu.Unlock()
	return s, false, true
}

func (h *streamable) newSession(id string) *httpSession {
	s := &httpSession{id: id, lastUsed: time.Now()}
	s.client = h.mux.open(s.deliver(&h.o))
	return s
}

func (h *streamable) lookup(id string) *httpSession {
	h.mu.Lock()
	s := h.sessions[id]
	h.mu.Unlock()
	if s != nil {
		s.mu.Lock()
		s.lastUsed, s.handshake = time.Now(), false
		s.mu.Unlock()
	}
	return s
}

// forward sends the messages to the backend and, when they include
// requests, streams the answers back as server-sent events.
func (h *streamable) forward(w http.ResponseWriter, r *http.Request, s *httpSession, msgs []*wire.Message, replies pipeline.Replies, newSession bool) {
	box := newMailbox(callStreamOther, false)
	waiting := map[string]bool{}
	listen := isListen(msgs)
	s.mu.Lock()
	for _, m := range msgs {
		if !m.IsRequest() {
			continue
		}
		if _, dup := s.calls[string(m.ID)]; dup || waiting[string(m.ID)] {
			s.mu.Unlock()
			h.release(s, waiting, listen)
			replies.FailAll("a request id of the batch was already in flight")
			wire.WriteMessage(w, http.StatusBadRequest, wire.ErrorResponse(m.ID, wire.CodeInvalidRequest,
				fmt.Sprintf("request id %s is already in flight in this session: use a new id for each request", m.ID)))
			return
		}
		put(&s.calls, string(m.ID), box)
		waiting[string(m.ID)] = true
	}
	if listen {
		s.listen = box
	}
	s.mu.Unlock()
	defer h.release(s, waiting, listen)

	for i, m := range msgs {
		h.mux.fromClientAnswered(r.Context(), s.client, m, replies.Of(i))
	}
	if len(waiting) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	// A listen stream is open-ended, like GET: it ends at a drain instead
	// of holding it open.
	drain := h.o.Drain
	if !listen {
		h.inflight.Add(1)
		defer h.inflight.Add(-1)
		drain = nil
	}
	if newSession {
		w.Header().Set(wire.HeaderSessionID, s.id)
	}
	sse := wire.NewSSEWriter(w, h.o.WriteTimeout)
	remaining := len(waiting)
	complete := func(msg *wire.Message) bool {
		if msg.IsResponse() && waiting[string(msg.ID)] {
			remaining--
		}
		return remaining == 0
	}
	ended, unwatch := s.watch()
	defer unwatch()
	pump(r.Context(), sse, box, h.o.Stats, complete, ended, drain)
	if remaining > 0 && r.Context().Err() != nil {
		// The client went away: the backend need not finish the work.
		for id := range waiting {
			h.cancel(s, id)
		}
	}
}

func (h *streamable) release(s *httpSession, waiting map[string]bool, listen bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range waiting {
		drop(&s.calls, id)
	}
	if listen {
		s.listen = nil
	}
}

func (h *streamable) cancel(s *httpSession, id string) {
	params, _ := json.Marshal(map[string]any{"requestId": json.RawMessage(id), "reason": "the client disconnected"})
	h.mux.fromClient(NoWait, s.client, &wire.Message{JSONRPC: "2.0", Method: "notifications/cancelled", Params: params})
}

// get opens the session's standalone stream for messages that belong to
// no request.
func (h *streamable) get(w http.ResponseWriter, r *http.Request) {
	if !wire.Accepts(r, "text/event-stream") {
		wire.HTTPError(w, http.StatusNotAcceptable, "Accept must list text/event-stream")
		return
	}
	id := r.Header.Get(wire.HeaderSessionID)
	if id == "" {
		wire.HTTPError(w, http.StatusBadRequest, "missing Mcp-Session-Id header")
		return
	}
	s := h.lookup(id)
	if s == nil {
		wire.HTTPError(w, http.StatusNotFound, "session not found: initialize a new session")
		return
	}
	box := newMailbox(openStreamOther, true)
	s.mu.Lock()
	if s.standalone != nil {
		s.mu.Unlock()
		wire.HTTPError(w, http.StatusConflict, "this session already has an open GET stream")
		return
	}
	s.standalone = box
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.standalone == box {
			s.standalone = nil
		}
		s.mu.Unlock()
	}()

	// At a drain, clients reopen the stream on another replica.
	ended, unwatch := s.watch()
	defer unwatch()
	pump(r.Context(), wire.NewSSEWriter(w, h.o.WriteTimeout), box, h.o.Stats, never, ended, h.o.Drain)
}

func (h *streamable) delete(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(wire.HeaderSessionID)
	if id == "" {
		wire.HTTPError(w, http.StatusBadRequest, "missing Mcp-Session-Id header")
		return
	}
	if !h.end(id) {
		wire.HTTPError(w, http.StatusNotFound, "session not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// end closes a session and its streams.
func (h *streamable) end(id string) bool {
	h.mu.Lock()
	s, ok := h.sessions[id]
	delete(h.sessions, id)
	h.mu.Unlock()
	if !ok {
		return false
	}
	s.finish()
	h.mux.close(s.client)
	h.o.Sessions.Release()
	return true
}

// expireIdle ends sessions that sent nothing for the idle timeout (an open
// GET stream does not keep a session alive: a client that never reads it
// must not hold state forever), and sessions that sent nothing after their
// initialize for the handshake timeout.
func (h *streamable) expireIdle(ctx context.Context) {
	every := max(min(h.o.IdleTimeout, h.o.HandshakeTimeout)/4, 100*time.Millisecond)
	t := time.NewTicker(every)
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
			quiet := time.Since(s.lastUsed)
			if len(s.calls) == 0 && (quiet > h.o.IdleTimeout || (s.handshake && quiet > h.o.HandshakeTimeout)) {
				idle = append(idle, id)
			}
			s.mu.Unlock()
		}
		h.mu.Unlock()
		for _, id := range idle {
			h.o.Log.Info("ending idle session", "session", id)
			h.end(id)
		}
	}
}

// closeAll ends every session (at the end of a drain).
func (h *streamable) closeAll() {
	h.mu.Lock()
	ids := make([]string, 0, len(h.sessions))
	for id := range h.sessions {
		ids = append(ids, id)
	}
	h.mu.Unlock()
	for _, id := range ids {
		h.end(id)
	}
}

func isInitialize(msgs []*wire.Message) bool {
	for _, m := range msgs {
		if m.Method == "initialize" && m.IsRequest() {
			return true
		}
	}
	return false
}

// isListen reports a subscriptions/listen request (2026-07-28), the
// stateless era's stream for notifications that belong to no request.
func isListen(msgs []*wire.Message) bool {
	return len(msgs) == 1 && msgs[0].Method == "subscriptions/listen"
}
