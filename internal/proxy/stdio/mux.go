package stdio

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// deliverFunc hands a message to one client. related is the client's own id
// of the request the message belongs to (a response, or progress for that
// request), or nil for messages that belong to no request. It must not
// block; false means the client has no stream that takes the message now.
type deliverFunc func(msg *wire.Message, related json.RawMessage) bool

// clientSession is one client of a shared stdio backend.
type clientSession struct {
	num     uint64
	deliver deliverFunc
	// inflight maps the client's request ids to the backend's; nil when
	// none (put, drop).
	inflight map[string]string
	// subscriptions are the resource URIs the client subscribed to.
	subscriptions map[string]bool
	closed        bool
	// queue holds a token for each of its lines in the server's input
	// queue; made on first use (tokens), so that an idle session holds no
	// channel.
	queue atomic.Pointer[chan struct{}]
}

// tokens is the session's share of the server's input queue.
func (s *clientSession) tokens() chan struct{} {
	if q := s.queue.Load(); q != nil {
		return *q
	}
	q := make(chan struct{}, sessionQueue)
	if s.queue.CompareAndSwap(nil, &q) {
		return q
	}
	return *s.queue.Load()
}

// Per-session and per-server bounds on what clients make the mux keep.
const (
	maxSubscriptions = 100  // resource URIs one session subscribes to
	maxInitWaiters   = 1024 // initializes waiting for the server's first answer
	sessionQueue     = 64   // lines of one session in the server's input queue
)

type pendingCall struct {
	session   *clientSession  // nil once its client left (an initialize still fills the cache)
	id        json.RawMessage // the client's own id
	init      bool            // the initialize call whose result is cached
	requested string          // initialize: the protocol version asked for
	gen       uint64          // the backend process it was sent to
	progress  string          // the backend's progress token, dropped with the call
	sent      time.Time
	reply     *pipeline.Reply // what the client may see of the answer, and who is told of it; nil: none
}

type progressRoute struct {
	session *clientSession
	token   json.RawMessage
	request json.RawMessage
}

type serverCall struct {
	session *clientSession
	id      json.RawMessage // the backend's own id
}

// MuxOptions bound what one client may hold and how long the server may
// take.
type MuxOptions struct {
	// MaxInflight is the most calls one session may have unanswered.
	MaxInflight int
	// CallTimeout fails a call unanswered for this long (0: never).
	CallTimeout time.Duration
	// InitTimeout fails an initialize the server has not answered for this
	// long, and the clients waiting on it (default 1 minute).
	InitTimeout time.Duration
	// PingInterval is how often the proxy pings an initialized server;
	// one that does not answer within PingTimeout is restarted (a process)
	// or attached again (a pod). 0: no pings.
	PingInterval, PingTimeout time.Duration
	Stats                     *Stats
	Log                       *slog.Logger
	// Describe makes the proxy learn what the server is (serverInfo,
	// protocol version, tools) for /health, asking it itself when no
	// client did; DescribeWait is how long the server may take to answer
	// before it is said not to speak MCP on stdin (default 10 s).
	Describe     bool
	DescribeWait time.Duration
}

// mux lets many clients share one stdio MCP server, which speaks to a single
// peer: request ids and progress tokens are rewritten per client, the first
// initialize result is cached for later clients, and server requests and
// notifications go only to the client they concern. Nothing in it waits on
// the server: Backend.Send only queues.
type mux struct {
	backend Backend
	opts    MuxOptions
	log     *slog.Logger
	// tag makes this replica's backend ids unique: several proxy replicas
	// attached to one stdio pod all read every line it writes, and each
	// must take only the answers to its own requests.
	tag string

	mu          sync.Mutex
	next        uint64
	sessions    map[uint64]*clientSession
	pending     map[string]pendingCall
	progress    map[string]progressRoute
	serverCalls map[string]serverCall
	init        initCache
	shared      bool // another proxy replica is attached to the server too
	pingID      string
	pingSent    time.Time
	desc        describer
	// described is the last description, read without the lock; notJSON
	// counts stdout lines that are not JSON-RPC, for the words of a
	// server that does not speak MCP on stdin.
	described atomic.Pointer[described]
	notJSON   atomic.Int64
}

// reinitID is the id of the proxy's own initialize of a restarted server.
const reinitID = "sb-reinit"

func newMux(ctx context.Context, b Backend, o MuxOptions) *mux {
	if o.Stats == nil {
		o.Stats = &Stats{}
	}
	if o.MaxInflight == 0 {
		o.MaxInflight = 100
	}
	if o.InitTimeout == 0 {
		o.InitTimeout = time.Minute
	}
	m := &mux{
		backend: b, opts: o, log: o.Log, tag: replicaTag(),
		sessions: map[uint64]*clientSession{}, pending: map[string]pendingCall{},
		progress: map[string]progressRoute{}, serverCalls: map[string]serverCall{},
	}
	go m.run(ctx)
	return m
}

// id is a backend-side id of this replica; m.mu is held.
func (m *mux) id(prefix string) string {
	m.next++
	return prefix + m.tag + "-" + strconv.FormatUint(m.next, 10)
}

// replicaTag is 8 random hex digits.
func replicaTag() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// open registers a client.
func (m *mux) open(deliver deliverFunc) *clientSession {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	s := &clientSession{num: m.next, deliver: deliver}
	m.sessions[s.num] = s
	return s
}

// close forgets a client, cancels its requests on the backend and ends
// subscriptions no other client holds. An initialize it sent stays pending
// without it: the answer still serves the clients waiting on it.
func (m *mux) close(s *clientSession) {
	m.mu.Lock()
	s.closed = true
	delete(m.sessions, s.num)
	var cancels []string
	var dropped []pendingCall
	for clientID, backendID := range s.inflight {
		if call, ok := m.pending[backendID]; ok && call.init {
			call.session = nil
			m.pending[backendID] = call
			delete(s.inflight, clientID)
			continue
		}
		if call, ok := m.forget(backendID); ok {
			dropped = append(dropped, call)
		}
		cancels = append(cancels, backendID)
	}
	waiters := m.init.waiters[:0]
	for _, w := range m.init.waiters {
		if w.session != s {
			waiters = append(waiters, w)
		} else {
			dropped = append(dropped, w)
		}
	}
	m.init.waiters = waiters
	for k, c := range m.serverCalls {
		if c.session == s {
			delete(m.serverCalls, k)
		}
	}
	var unsubscribe []*wire.Message
	for uri := range s.subscriptions {
		if !m.subscribed(uri, s) {
			params, _ := json.Marshal(map[string]string{"uri": uri})
			unsubscribe = append(unsubscribe, &wire.Message{JSONRPC: "2.0", ID: wire.Quote(m.id("sb-")), Method: "resources/unsubscribe", Params: params})
		}
	}
	m.mu.Unlock()
	for _, c := range dropped {
		c.reply.Fail("the client closed its session before the answer came")
	}
	for _, id := range cancels {
		m.sendCancel(id, "the client closed its session")
	}
	for _, msg := range unsubscribe {
		_ = m.send(NoWait, msg)
	}
}

// subscribed reports whether a client other than except subscribed to uri;
// m.mu is held.
func (m *mux) subscribed(uri string, except *clientSession) bool {
	for _, o := range m.sessions {
		if o != except && o.subscriptions[uri] {
			return true
		}
	}
	return false
}

func (m *mux) sessionCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// fromClient forwards one message of client s to the backend.
// It waits for room in the backend's queue until ctx ends: backpressure
// on the client that sends, never a lock held.
func (m *mux) fromClient(ctx context.Context, s *clientSession, msg *wire.Message) {
	m.fromClientAnswered(ctx, s, msg, nil)
}

// fromClientAnswered is fromClient, with the reply the request path made
// for the request's answer (list filtering and renames, audit, traces).
func (m *mux) fromClientAnswered(ctx context.Context, s *clientSession, msg *wire.Message, reply *pipeline.Reply) {
	switch {
	case msg.IsRequest():
		m.request(ctx, s, msg, reply)
	case msg.IsNotification():
		m.notification(ctx, s, msg)
	case msg.IsResponse():
		m.response(ctx, s, msg)
	}
}

func (m *mux) request(ctx context.Context, s *clientSession, msg *wire.Message, reply *pipeline.Reply) {
	gen := m.backend.Generation()
	m.mu.Lock()
	if s.closed {
		m.mu.Unlock()
		reply.Fail("the client's session is closed")
		return
	}
	call := pendingCall{session: s, id: msg.ID, init: msg.Method == "initialize", gen: gen, sent: time.Now(), reply: reply}
	if err := m.admit(s, msg); err != nil {
		m.mu.Unlock()
		call.answer(wire.ErrorFor(msg.ID, err))
		return
	}
	if call.init {
		call.requested = requestedVersion(msg.Params)
		if answer, done := m.initFromCache(call, gen); done {
			m.mu.Unlock()
			if answer != nil {
				call.answer(answer)
			}
			return
		}
		// This initialize goes to the server; others wait for its answer.
		m.init.sent, m.init.sentGen, m.init.params = true, gen, msg.Params
	}
	uri := resourceURI(msg)
	switch msg.Method {
	case "resources/subscribe":
		if len(s.subscriptions) >= maxSubscriptions && !s.subscriptions[uri] {
			m.mu.Unlock()
			call.answer(wire.ErrorResponse(msg.ID, wire.CodeServerError, fmt.Sprintf(
				"this session holds %d resource subscriptions, the most the proxy keeps: unsubscribe from some first", maxSubscriptions)))
			return
		}
		put(&s.subscriptions, uri, true)
	case "resources/unsubscribe":
		drop(&s.subscriptions, uri)
		if m.subscribed(uri, s) {
			// Another client still wants the updates: the server must not
			// stop sending them.
			m.mu.Unlock()
			call.answer(&wire.Message{JSONRPC: "2.0", ID: msg.ID, Result: json.RawMessage("{}")})
			return
		}
	}
	backendID := m.id("sb-")
	params, token := m.rewriteProgressToken(s, msg)
	call.progress = token
	m.pending[backendID] = call
	put(&s.inflight, string(msg.ID), backendID)
	m.mu.Unlock()

	out := &wire.Message{JSONRPC: "2.0", ID: wire.Quote(backendID), Method: msg.Method, Params: params}
	if err := m.sendFor(ctx, s, out); err != nil {
		// Only if no one (a detach, a timeout) answered the call meanwhile.
		m.mu.Lock()
		var failed []pendingCall
		if c, mine := m.forget(backendID); mine {
			failed = append(failed, c)
			if c.init {
				m.init.sent = false
				failed = append(failed, m.init.waiters...)
				m.init.waiters = nil
			}
		}
		m.mu.Unlock()
		for _, c := range failed {
			c.answer(wire.ErrorFor(c.id, err))
		}
	}
}

// admit refuses a request the session may not send now: an id it already
// has in flight (its answer would be ambiguous) or one call over its
// limit. m.mu is held.
func (m *mux) admit(s *clientSession, msg *wire.Message) error {
	if _, dup := s.inflight[string(msg.ID)]; dup {
		return wire.Errorf(wire.CodeInvalidRequest, "request id %s is already in flight in this session: use a new id for each request", msg.ID)
	}
	if len(s.inflight) >= m.opts.MaxInflight {
		return wire.Errorf(wire.CodeServerError, "this session has %d calls in flight, the most the proxy allows: wait for answers before sending more", len(s.inflight))
	}
	return nil
}

// rewriteProgressToken gives the request's progress token a proxy-wide
// unique name, so progress from the backend reaches the right client; the
// route lives as long as the call. m.mu is held.
func (m *mux) rewriteProgressToken(s *clientSession, msg *wire.Message) (json.RawMessage, string) {
	var params map[string]json.RawMessage
	if json.Unmarshal(msg.Params, &params) != nil || params["_meta"] == nil {
		return msg.Params, ""
	}
	var meta map[string]json.RawMessage
	if json.Unmarshal(params["_meta"], &meta) != nil || meta["progressToken"] == nil {
		return msg.Params, ""
	}
	token := m.id("sb-p-")
	m.progress[token] = progressRoute{session: s, token: meta["progressToken"], request: msg.ID}
	meta["progressToken"] = wire.Quote(token)
	params["_meta"], _ = json.Marshal(meta)
	out, err := json.Marshal(params)
	if err != nil {
		delete(m.progress, token)
		return msg.Params, ""
	}
	return out, token
}

func (m *mux) notification(ctx context.Context, s *clientSession, msg *wire.Message) {
	switch msg.Method {
	case "notifications/initialized":
		m.mu.Lock()
		// The backend is initialized once; later clients were answered
		// from the cache and their confirmation is not news to it.
		already := m.init.initialized
		m.init.initialized = true
		m.mu.Unlock()
		if already {
			return
		}
	case "notifications/cancelled":
		var p struct {
			RequestID json.RawMessage `json:"requestId"`
			Reason    string          `json:"reason,omitempty"`
		}
		if json.Unmarshal(msg.Params, &p) != nil {
			return
		}
		// The server need not answer a cancelled request: the call ends
		// here (an initialize stays: its answer serves other clients).
		m.mu.Lock()
		backendID, ok := s.inflight[string(p.RequestID)]
		if call := m.pending[backendID]; ok && !call.init {
			m.forget(backendID)
		}
		m.mu.Unlock()
		if ok {
			m.sendCancel(backendID, p.Reason)
		}
		return
	}
	_ = m.sendFor(ctx, s, msg)
}

// response is a client's answer to a server request. Only the client the
// request went to may answer it; the ids it got are unguessable.
func (m *mux) response(ctx context.Context, s *clientSession, msg *wire.Message) {
	key := wire.Unquote(msg.ID)
	m.mu.Lock()
	call, ok := m.serverCalls[key]
	if ok && call.session == s {
		delete(m.serverCalls, key)
	}
	m.mu.Unlock()
	if !ok || call.session != s {
		m.log.Debug("a client answered a server request that was not sent to it; dropped")
		return
	}
	out := *msg
	out.ID = call.id
	_ = m.sendFor(ctx, s, &out)
}

func (m *mux) sendCancel(backendID, reason string) {
	params, _ := json.Marshal(map[string]any{"requestId": backendID, "reason": reason})
	_ = m.send(NoWait, &wire.Message{JSONRPC: "2.0", Method: "notifications/cancelled", Params: params})
}

func (m *mux) send(ctx context.Context, msg *wire.Message) error {
	line, err := wire.Encode(msg)
	if err != nil {
		return err
	}
	return m.backend.Send(ctx, line, nil)
}

// sendFor sends a message of client s. A session may have at most
// sessionQueue lines in the server's input queue: past that it waits for
// its own lines to be written, so one client cannot take the queue that
// every client of the server shares.
func (m *mux) sendFor(ctx context.Context, s *clientSession, msg *wire.Message) error {
	queue := s.tokens()
	select {
	case queue <- struct{}{}:
	default:
		select {
		case queue <- struct{}{}:
		case <-ctx.Done():
			return errQueueFull
		}
	}
	line, err := wire.Encode(msg)
	if err == nil {
		err = m.backend.Send(ctx, line, func() { <-queue })
	}
	if err != nil {
		<-queue
	}
	return err
}

// forget drops a pending call and its progress route, and reports whether
// it was still pending: whoever forgets a call answers it. m.mu is held.
func (m *mux) forget(backendID string) (pendingCall, bool) {
	call, ok := m.pending[backendID]
	if !ok {
		return call, false
	}
	if call.session != nil {
		drop(&call.session.inflight, string(call.id))
	}
	delete(m.pending, backendID)
	if call.progress != "" {
		delete(m.progress, call.progress)
	}
	return call, true
}

// answer hands msg to the call's client, if it is still there, through the
// call's reply.
func (c pendingCall) answer(msg *wire.Message) {
	c.reply.Answer(msg)
	if c.session != nil {
		c.session.deliver(msg, c.id)
	}
}

// fail answers calls with an error that says why and what to do.
func fail(calls []pendingCall, why string) {
	for _, call := range calls {
		call.answer(wire.ErrorResponse(call.id, wire.CodeInternalError, why))
	}
}

func resourceURI(msg *wire.Message) string {
	if msg.Method != "resources/subscribe" && msg.Method != "resources/unsubscribe" {
		return ""
	}
	var p struct {
		URI string `json:"uri"`
	}
	_ = json.Unmarshal(msg.Params, &p)
	return p.URI
}

func requestedVersion(params json.RawMessage) string {
	var p struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	_ = json.Unmarshal(params, &p)
	return p.ProtocolVersion
}

// put sets m[k] to v, making the map on first use. drop deletes k and lets
// the map go once it is empty: a map keeps the room it grew to, and an idle
// session should hold none (10,000 idle sessions held 0.5 KiB each in
// emptied maps).
func put[K comparable, V any](m *map[K]V, k K, v V) {
	if *m == nil {
		*m = map[K]V{}
	}
	(*m)[k] = v
}

func drop[K comparable, V any](m *map[K]V, k K) {
	delete(*m, k)
	if len(*m) == 0 {
		*m = nil
	}
}
