package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// deliverFunc hands a message to one client. related is the client's own id
// of the request the message belongs to (a response, or progress for that
// request), or nil for messages that belong to no request. It must not block.
type deliverFunc func(msg *message, related json.RawMessage)

// clientSession is one client of a shared stdio backend.
type clientSession struct {
	num     uint64
	deliver deliverFunc
	// inflight maps the client's request ids to the backend's.
	inflight map[string]string
}

type pendingCall struct {
	session *clientSession
	id      json.RawMessage // the client's own id
	init    bool            // the initialize call whose result is cached
	gen     uint64          // the backend process it was sent to
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

// mux lets many clients share one stdio MCP server, which speaks to a single
// peer: request ids and progress tokens are rewritten per client, the first
// initialize result is cached for later clients, and server requests go to
// the one client that can answer them.
type mux struct {
	backend lineBackend
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
	initParams  json.RawMessage
	initResult  json.RawMessage
	initWaiters []pendingCall
	initSent    bool   // an initialize is on its way to the backend…
	initSentGen uint64 // …to this process
	initGen     uint64 // backend generation the cached result belongs to
	initialized bool   // the backend got notifications/initialized
	// described is the first initialize or server/discover result the
	// backend's run describedGen gave.
	described    json.RawMessage
	describedGen uint64
	shared       bool // another proxy replica is attached to the server too
}

// reinitID is the id of the proxy's own initialize of a restarted server.
const reinitID = "sb-reinit"

func newMux(ctx context.Context, b lineBackend, log *slog.Logger) *mux {
	m := &mux{
		backend: b, log: log, tag: replicaTag(),
		sessions: map[uint64]*clientSession{}, pending: map[string]pendingCall{},
		progress: map[string]progressRoute{}, serverCalls: map[string]serverCall{},
	}
	go m.run(ctx)
	return m
}

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
	s := &clientSession{num: m.next, deliver: deliver, inflight: map[string]string{}}
	m.sessions[s.num] = s
	return s
}

// close forgets a client and cancels its requests on the backend.
func (m *mux) close(ctx context.Context, s *clientSession) {
	m.mu.Lock()
	delete(m.sessions, s.num)
	var cancels []string
	for _, backendID := range s.inflight {
		delete(m.pending, backendID)
		cancels = append(cancels, backendID)
	}
	for k, r := range m.progress {
		if r.session == s {
			delete(m.progress, k)
		}
	}
	m.mu.Unlock()
	for _, id := range cancels {
		m.sendCancel(ctx, id, "the client closed its session")
	}
}

func (m *mux) sessionCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// fromClient forwards one message of client s to the backend.
func (m *mux) fromClient(ctx context.Context, s *clientSession, msg *message) {
	switch {
	case msg.isRequest():
		m.request(ctx, s, msg)
	case msg.isNotification():
		m.notification(ctx, s, msg)
	case msg.isResponse():
		m.response(ctx, msg)
	}
}

func (m *mux) request(ctx context.Context, s *clientSession, msg *message) {
	gen := m.backend.Generation()
	m.mu.Lock()
	if msg.Method == "initialize" {
		if m.initResult != nil && m.initGen == gen {
			result := m.initResult
			m.mu.Unlock()
			s.deliver(&message{JSONRPC: "2.0", ID: msg.ID, Result: result}, msg.ID)
			return
		}
		if m.initSent {
			m.initWaiters = append(m.initWaiters, pendingCall{session: s, id: msg.ID})
			m.mu.Unlock()
			return
		}
	}
	backendID := m.id("sb-")
	call := pendingCall{session: s, id: msg.ID, init: msg.Method == "initialize", gen: gen}
	if call.init {
		m.initSent, m.initSentGen, m.initParams = true, gen, msg.Params
	}
	m.pending[backendID] = call
	s.inflight[string(msg.ID)] = backendID
	params := m.rewriteProgressToken(s, msg)
	m.mu.Unlock()

	out := &message{JSONRPC: "2.0", ID: quote(backendID), Method: msg.Method, Params: params}
	if err := m.send(ctx, out); err != nil {
		m.mu.Lock()
		m.forget(backendID)
		if call.init {
			m.initSent = false
		}
		m.mu.Unlock()
		s.deliver(errorResponse(msg.ID, codeInternalError, err.Error()), msg.ID)
	}
}

// rewriteProgressToken gives the request's progress token a proxy-wide
// unique name, so progress from the backend reaches the right client.
func (m *mux) rewriteProgressToken(s *clientSession, msg *message) json.RawMessage {
	var params map[string]json.RawMessage
	if json.Unmarshal(msg.Params, &params) != nil || params["_meta"] == nil {
		return msg.Params
	}
	var meta map[string]json.RawMessage
	if json.Unmarshal(params["_meta"], &meta) != nil || meta["progressToken"] == nil {
		return msg.Params
	}
	token := m.id("sb-p-")
	m.progress[token] = progressRoute{session: s, token: meta["progressToken"], request: msg.ID}
	meta["progressToken"] = quote(token)
	params["_meta"], _ = json.Marshal(meta)
	out, err := json.Marshal(params)
	if err != nil {
		return msg.Params
	}
	return out
}

func (m *mux) notification(ctx context.Context, s *clientSession, msg *message) {
	switch msg.Method {
	case "notifications/initialized":
		m.mu.Lock()
		// The backend is initialized once; later clients were answered
		// from the cache and their confirmation is not news to it.
		already := m.initialized
		m.initialized = true
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
		m.mu.Lock()
		backendID, ok := s.inflight[string(p.RequestID)]
		m.mu.Unlock()
		if ok {
			m.sendCancel(ctx, backendID, p.Reason)
		}
		return
	}
	_ = m.send(ctx, msg)
}

// response is a client's answer to a server request.
func (m *mux) response(ctx context.Context, msg *message) {
	m.mu.Lock()
	call, ok := m.serverCalls[unquote(msg.ID)]
	delete(m.serverCalls, unquote(msg.ID))
	m.mu.Unlock()
	if !ok {
		return
	}
	out := *msg
	out.ID = call.id
	_ = m.send(ctx, &out)
}

func (m *mux) sendCancel(ctx context.Context, backendID, reason string) {
	params, _ := json.Marshal(map[string]any{"requestId": backendID, "reason": reason})
	_ = m.send(ctx, &message{JSONRPC: "2.0", Method: "notifications/cancelled", Params: params})
}

func (m *mux) send(ctx context.Context, msg *message) error {
	line, err := encode(msg)
	if err != nil {
		return err
	}
	return m.backend.Send(ctx, line)
}

// forget drops a pending call; m.mu is held.
func (m *mux) forget(backendID string) {
	if call, ok := m.pending[backendID]; ok {
		delete(call.session.inflight, string(call.id))
		delete(m.pending, backendID)
	}
}

// run routes every backend message, and notices backend restarts.
func (m *mux) run(ctx context.Context) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	gen := m.backend.Generation()
	for {
		select {
		case <-ctx.Done():
			return
		case line := <-m.backend.Recv():
			msg, err := parseMessage(line)
			if err != nil {
				m.log.Warn("stdio backend wrote a line that is not JSON-RPC", "error", err, "line", truncate(line))
				continue
			}
			m.fromBackend(ctx, msg)
		case <-tick.C:
			if g := m.backend.Generation(); g != gen {
				gen = g
				m.restarted(ctx, g)
			}
		}
	}
}

func (m *mux) fromBackend(ctx context.Context, msg *message) {
	switch {
	case msg.isResponse():
		m.backendResponse(msg)
	case msg.isRequest():
		m.backendRequest(ctx, msg)
	default:
		m.backendNotification(msg)
	}
}

func (m *mux) backendResponse(msg *message) {
	m.mu.Lock()
	// The first time the server describes itself in this run (to any
	// replica), in case it later refuses an initialize; no need once this
	// proxy holds an initialize result for the run.
	gen := m.backend.Generation()
	known := m.describedGen == gen || (m.initResult != nil && m.initGen == gen)
	if !known && len(msg.Error) == 0 && bytes.Contains(msg.Result, []byte(`"capabilities"`)) {
		if _, ok := asInitializeResult(msg.Result, ""); ok {
			m.described, m.describedGen = msg.Result, gen
		}
	}
	backendID := unquote(msg.ID)
	call, ok := m.pending[backendID]
	if !ok {
		// An answer to another proxy replica's request: the server is shared.
		m.shared = m.shared || (strings.HasPrefix(backendID, "sb-") && !strings.HasPrefix(backendID, "sb-"+m.tag+"-") && backendID != reinitID)
		m.mu.Unlock()
		return // cancelled, the proxy's own re-initialize, or another replica's
	}
	m.forget(backendID)
	if call.init && len(msg.Error) != 0 {
		// Still initSent: later initializes wait for the outcome.
		m.mu.Unlock()
		go m.recoverInitialize(call, msg)
		return
	}
	var waiters []pendingCall
	if call.init {
		m.initSent = false
		if len(msg.Error) == 0 {
			m.initResult, m.initGen = msg.Result, m.backend.Generation()
		}
		waiters, m.initWaiters = m.initWaiters, nil
	}
	m.mu.Unlock()

	out := *msg
	out.ID = call.id
	call.session.deliver(&out, call.id)
	for _, w := range waiters {
		r := *msg
		r.ID = w.id
		w.session.deliver(&r, w.id)
	}
}

// backendRequest sends a server request (sampling, elicitation, roots) to the
// only client that can be meant, or refuses it: it is never lost silently.
func (m *mux) backendRequest(ctx context.Context, msg *message) {
	if msg.Method == "ping" {
		_ = m.send(ctx, &message{JSONRPC: "2.0", ID: msg.ID, Result: json.RawMessage("{}")})
		return
	}
	m.mu.Lock()
	target, answer := m.serverRequestTarget()
	var id string
	if target != nil {
		id = m.id("sb-s-")
		m.serverCalls[id] = serverCall{session: target, id: msg.ID}
	}
	m.mu.Unlock()
	if target == nil {
		if answer {
			_ = m.send(ctx, errorResponse(msg.ID, codeInternalError,
				fmt.Sprintf("%s: several clients share this stdio server and the proxy cannot tell which one this request is for", msg.Method)))
		}
		return
	}
	out := *msg
	out.ID = quote(id)
	target.deliver(&out, nil)
}

// serverRequestTarget is the client a server request goes to: the only one
// with requests in flight, or else the only one. When other proxy replicas
// share the server, only a client with a request in flight is a candidate,
// and a replica with none leaves the request to the others (answer false):
// an idle client here must not take, or refuse, what another replica's
// client is waiting for. m.mu is held.
func (m *mux) serverRequestTarget() (target *clientSession, answer bool) {
	var busy []*clientSession
	for _, s := range m.sessions {
		if len(s.inflight) > 0 {
			busy = append(busy, s)
		}
	}
	switch {
	case len(busy) == 1:
		return busy[0], true
	case len(busy) == 0 && m.shared:
		return nil, false
	case len(busy) == 0 && len(m.sessions) == 1:
		for _, s := range m.sessions {
			return s, true
		}
	}
	return nil, true
}

func (m *mux) backendNotification(msg *message) {
	switch msg.Method {
	case "notifications/progress":
		var p map[string]json.RawMessage
		if json.Unmarshal(msg.Params, &p) != nil {
			return
		}
		m.mu.Lock()
		route, ok := m.progress[unquote(p["progressToken"])]
		m.mu.Unlock()
		if !ok {
			return
		}
		p["progressToken"] = route.token
		params, _ := json.Marshal(p)
		route.session.deliver(&message{JSONRPC: "2.0", Method: msg.Method, Params: params}, route.request)
		return
	case "notifications/cancelled":
		var p map[string]json.RawMessage
		if json.Unmarshal(msg.Params, &p) != nil {
			return
		}
		m.mu.Lock()
		var target *clientSession
		for id, c := range m.serverCalls {
			if string(c.id) == string(p["requestId"]) {
				target = c.session
				p["requestId"] = quote(id)
				delete(m.serverCalls, id)
			}
		}
		m.mu.Unlock()
		if target != nil {
			params, _ := json.Marshal(p)
			target.deliver(&message{JSONRPC: "2.0", Method: msg.Method, Params: params}, nil)
		}
		return
	}
	// Logging and list-changed notifications concern every client.
	m.mu.Lock()
	sessions := make([]*clientSession, 0, len(m.sessions))
	for _, s := range m.sessions {
		sessions = append(sessions, s)
	}
	m.mu.Unlock()
	for _, s := range sessions {
		s.deliver(msg, nil)
	}
}

// initRecoverer is a backend that can tell what its server answered to an
// initialize this proxy did not send (the pod backend reads its log).
type initRecoverer interface {
	InitializeResult(ctx context.Context, requested string) (json.RawMessage, error)
}

// recoverInitialize handles an initialize the server refused: when the
// server had been initialized before (by another proxy, or for a client of
// the stateless era: servers refuse a second initialize), what it said
// about itself then serves every client; otherwise the refusal goes to them.
func (m *mux) recoverInitialize(call pendingCall, refused *message) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m.mu.Lock()
	var asked struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	_ = json.Unmarshal(m.initParams, &asked)
	described := m.described
	if m.describedGen != call.gen {
		described = nil
	}
	m.mu.Unlock()
	result, ok := asInitializeResult(described, asked.ProtocolVersion)
	err := errors.New("this proxy saw no earlier initialize or server/discover result, and cannot read the server's output")
	if ok {
		err = nil
	} else if r, can := m.backend.(initRecoverer); can {
		// Attached after the server described itself: read its output.
		result, err = r.InitializeResult(ctx, asked.ProtocolVersion)
	}
	m.mu.Lock()
	m.initSent = false
	waiters := append([]pendingCall{call}, m.initWaiters...)
	m.initWaiters = nil
	answer := func(id json.RawMessage) *message {
		out := *refused
		out.ID = id
		return &out
	}
	if err == nil && m.backend.Generation() == call.gen {
		// The client's notifications/initialized would be a second one.
		m.initResult, m.initGen, m.initialized = result, call.gen, true
		answer = func(id json.RawMessage) *message { return &message{JSONRPC: "2.0", ID: id, Result: result} }
		m.log.Info("the stdio server was initialized before this proxy attached: its first initialize result serves the clients")
	} else {
		m.log.Warn("the stdio server refused initialize", "error", string(refused.Error), "noEarlierResult", err)
	}
	m.mu.Unlock()
	for _, w := range waiters {
		w.session.deliver(answer(w.id), w.id)
	}
}

// restarted fails the requests the old process will never answer, and
// initializes the new one as the first client did, so that sessions go on.
// Several restarts may fall between two looks: what matters is whether
// process g has been initialized, not how many came before it.
func (m *mux) restarted(ctx context.Context, g uint64) {
	m.mu.Lock()
	var failed []pendingCall
	for backendID, call := range m.pending {
		if call.gen != g { // sent to a process that is gone
			failed = append(failed, call)
			m.forget(backendID)
		}
	}
	if m.initResult != nil && m.initGen == g {
		m.mu.Unlock() // a client initialized this very process already
		m.fail(failed)
		return
	}
	params := m.initParams
	if m.initSent && m.initSentGen != g { // the initialize in flight went to a process that is gone
		failed = append(failed, m.initWaiters...)
		m.initSent, m.initWaiters = false, nil
	}
	if params != nil {
		// The proxy initializes the new process itself, with the same
		// parameters, so the cached result stays good.
		m.initGen, m.initialized = g, true
	} else {
		m.initResult, m.initialized = nil, false
	}
	m.mu.Unlock()
	m.fail(failed)
	if params == nil {
		return
	}
	m.log.Info("re-initializing the restarted stdio backend")
	_ = m.send(ctx, &message{JSONRPC: "2.0", ID: quote(reinitID), Method: "initialize", Params: params})
	_ = m.send(ctx, &message{JSONRPC: "2.0", Method: "notifications/initialized"})
}

func (m *mux) fail(calls []pendingCall) {
	for _, call := range calls {
		call.session.deliver(errorResponse(call.id, codeInternalError, "the MCP server restarted before it answered; retry the request"), call.id)
	}
}

func quote(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// unquote gives the string value of a string id, or its raw text.
func unquote(id json.RawMessage) string {
	var s string
	if json.Unmarshal(id, &s) == nil {
		return s
	}
	return string(id)
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}
