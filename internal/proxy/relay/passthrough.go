package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// ssePassthrough relays an sse backend: the event stream goes through as it
// is, except the endpoint event, which is rewritten to the proxy's own
// /messages so that clients POST through the proxy, to the same pod.
type ssePassthrough struct {
	backend *Relay

	mu    sync.Mutex
	paths map[string]string // query of an advertised endpoint → backend path
	// answers are the replies to answers still to come on each stream,
	// by the query of its endpoint, then by request id.
	answers map[string]map[string]*pipeline.Reply
	// streams are the open client streams, by the query of their endpoint:
	// the proxy's own answers (refusals) are written into them.
	streams map[string]*endpointRewriter
}

// expect registers replies to answers to come on the stream of query.
func (h *ssePassthrough) expect(query string, answers map[string]*pipeline.Reply) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.answers == nil {
		h.answers = map[string]map[string]*pipeline.Reply{}
	}
	if h.answers[query] == nil {
		h.answers[query] = map[string]*pipeline.Reply{}
	}
	for id, fn := range answers {
		h.answers[query][id] = fn
	}
}

// rewriter is the answer rewrite of the stream of query, or nil while no
// answer on it is to be rewritten. A rewrite is used once.
func (h *ssePassthrough) rewriter(query string) wire.AnswerRewrite {
	h.mu.Lock()
	pending := len(h.answers[query]) > 0
	h.mu.Unlock()
	if !pending {
		return nil
	}
	return func(m *wire.Message) bool {
		h.mu.Lock()
		p := h.answers[query][string(m.ID)]
		delete(h.answers[query], string(m.ID))
		h.mu.Unlock()
		return p.Answer(m)
	}
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
	var key, query string
	var rw *endpointRewriter
	rw = &endpointRewriter{ResponseWriter: w, answers: func() wire.AnswerRewrite { return h.rewriter(query) }, rewrite: func(data string) string {
		u, err := url.Parse(strings.TrimSpace(data))
		if err != nil {
			return data
		}
		key, query = "sse?"+u.RawQuery, u.RawQuery
		h.mu.Lock()
		h.paths[u.RawQuery] = u.Path
		if h.streams == nil {
			h.streams = map[string]*endpointRewriter{}
		}
		h.streams[u.RawQuery] = rw
		h.mu.Unlock()
		h.backend.pool.bind(r.Context(), key, addr, false)
		return wire.Advertise(r, h.backend.o.Prefix, h.backend.o.TrustProxy, "/messages") + "?" + u.RawQuery
	}}
	h.backend.forward(rw, r, nil, route{addr: addr}, h.backend.path)
	rw.end()
	if key != "" { // the stream is over: so is the session
		h.backend.pool.unbind(context.WithoutCancel(r.Context()), key)
		h.mu.Lock()
		delete(h.paths, query)
		unanswered := h.answers[query]
		delete(h.answers, query)
		delete(h.streams, query)
		h.mu.Unlock()
		failAll(unanswered, "the client's event stream ended before the answer came")
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
	c, ok := h.backend.check(&streamRefusals{ResponseWriter: w, h: h, query: r.URL.RawQuery}, r, r.URL.RawQuery)
	if !ok {
		return
	}
	if c.replies != nil {
		h.expect(r.URL.RawQuery, c.replies)
	}
	h.backend.forward(w, r, c.body, route{addr: addr, session: r.URL.RawQuery}, path)
}

// streamRefusals sends the request path's refusal of a request to the
// client's event stream, where this transport delivers every answer, and
// answers the POST 202: an HTTP error would end the client's session
// rather than answer its request.
type streamRefusals struct {
	http.ResponseWriter
	h     *ssePassthrough
	query string
	held  int
}

func (s *streamRefusals) WriteHeader(status int) {
	if status >= 400 {
		s.held = status // see Write: the body says whether it is a request's
		return
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *streamRefusals) Write(body []byte) (int, error) {
	if s.held == 0 {
		return s.ResponseWriter.Write(body)
	}
	status := s.held
	s.held = 0
	var m wire.Message
	if json.Unmarshal(body, &m) == nil && len(m.ID) > 0 && string(m.ID) != "null" && len(m.Error) > 0 {
		s.h.mu.Lock()
		stream := s.h.streams[s.query]
		s.h.mu.Unlock()
		event := append(append([]byte("event: message\ndata: "), bytes.TrimSpace(body)...), "\n\n"...)
		if stream != nil && stream.inject(event) {
			s.ResponseWriter.WriteHeader(http.StatusAccepted)
			return len(body), nil
		}
	}
	s.ResponseWriter.WriteHeader(status)
	return s.ResponseWriter.Write(body)
}

// endpointRewriter rewrites the data of the first "endpoint" event of an
// event stream as it is written, line by line, flushing as it goes; then
// the answers the request path asked to rewrite (list filtering). The
// proxy's own events are injected between the backend's.
type endpointRewriter struct {
	http.ResponseWriter
	rewrite func(string) string
	answers func() wire.AnswerRewrite
	pending []byte
	inEvent bool
	done    bool

	// mu orders the backend's writes and the proxy's injected events on
	// the one connection. The relay's copy holds it across its own writes
	// (it is the stream's writer either way); an injecting POST waits for
	// it at most injectWait, never longer.
	mu     sync.Mutex
	tail   []byte   // the last bytes written, to tell an event boundary
	queued [][]byte // injected events waiting for a boundary
	ended  bool
}

func (e *endpointRewriter) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, err := e.write(p)
	if err == nil && len(e.queued) > 0 && e.atBoundary() {
		for _, ev := range e.queued {
			_, _ = e.emit(ev)
		}
		e.queued = nil
		e.flush()
	}
	return n, err
}

// injectWait bounds how long a POST waits to put its answer on the
// stream, and how long that write may take: the stream's own writes hold
// mu while the client reads, and a client that stops reading must not
// hold the POST.
const injectWait = 2 * time.Second

// inject writes a whole event into the stream at the next event boundary;
// false when the stream has ended or is not taking writes within
// injectWait (the caller then answers the POST itself).
func (e *endpointRewriter) inject(event []byte) bool {
	deadline := time.Now().Add(injectWait)
	for !e.mu.TryLock() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	defer e.mu.Unlock()
	if e.ended {
		return false
	}
	if !e.atBoundary() {
		e.queued = append(e.queued, event)
		return true
	}
	rc := http.NewResponseController(e.ResponseWriter)
	_ = rc.SetWriteDeadline(time.Now().Add(injectWait))
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	if _, err := e.emit(event); err != nil {
		return false
	}
	e.flush()
	return true
}

func (e *endpointRewriter) end() {
	e.mu.Lock()
	e.ended = true
	e.mu.Unlock()
}

func (e *endpointRewriter) atBoundary() bool {
	return e.done && len(e.pending) == 0 && (bytes.HasSuffix(e.tail, []byte("\n\n")) || bytes.HasSuffix(e.tail, []byte("\r\n\r\n")))
}

// emit writes b to the client and remembers how it ended.
func (e *endpointRewriter) emit(b []byte) (int, error) {
	n, err := e.ResponseWriter.Write(b)
	if len(b) > 0 {
		e.tail = append(e.tail, b[max(0, len(b)-4):]...)
		e.tail = e.tail[max(0, len(e.tail)-4):]
	}
	return n, err
}

func (e *endpointRewriter) write(p []byte) (int, error) {
	if e.done {
		fn := e.answers()
		if fn == nil && len(e.pending) == 0 {
			return e.emit(p)
		}
		return e.writeAnswers(p, fn)
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
	if _, err := e.emit(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeAnswers writes the whole lines of pending+p, their answers through
// fn, and keeps a partial last line for the next write.
func (e *endpointRewriter) writeAnswers(p []byte, fn wire.AnswerRewrite) (int, error) {
	e.pending = append(e.pending, p...)
	var out []byte
	for {
		i := bytes.IndexByte(e.pending, '\n')
		if i < 0 {
			break
		}
		line := e.pending[:i+1]
		if fn != nil {
			line = wire.RewriteDataLine(line, fn)
		}
		out = append(out, line...)
		e.pending = e.pending[i+1:]
	}
	e.pending = bytes.Clone(e.pending)
	if _, err := e.emit(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (e *endpointRewriter) Flush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.flush()
}

func (e *endpointRewriter) flush() {
	if f, ok := e.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
