package stdio

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// run routes every backend message, and watches the backend: restarts,
// detaches, calls past their timeout, and a server that stopped answering.
// It never waits on the server or a client.
func (m *mux) run(ctx context.Context) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var ping <-chan time.Time
	if m.opts.PingInterval > 0 {
		t := time.NewTicker(m.opts.PingInterval)
		defer t.Stop()
		ping = t.C
	}
	gen, attached := m.backend.Generation(), m.backend.Attached()
	for {
		select {
		case <-ctx.Done():
			return
		case line := <-m.backend.Recv():
			msg, err := wire.ParseOne(line)
			if err != nil {
				m.notJSON.Add(1)
				m.log.Warn("stdio backend wrote a line that is not JSON-RPC", "error", err, "line", wire.Truncate(line, 200))
				continue
			}
			m.fromBackend(msg)
		case <-tick.C:
			if g := m.backend.Generation(); g != gen {
				gen = g
				m.restarted(g)
			}
			now := m.backend.Attached()
			if attached && !now {
				m.failAll("the connection to the stdio MCP server was lost before it answered; retry the request")
			}
			attached = now
			m.expireCalls()
			m.describe(time.Now())
		case <-ping:
			m.ping()
		}
	}
}

func (m *mux) fromBackend(msg *wire.Message) {
	switch {
	case msg.IsResponse():
		m.backendResponse(msg)
	case msg.IsRequest():
		m.backendRequest(msg)
	default:
		m.backendNotification(msg)
	}
}

func (m *mux) backendResponse(msg *wire.Message) {
	m.mu.Lock()
	backendID := wire.Unquote(msg.ID)
	if backendID == m.pingID {
		m.pingID = ""
		m.mu.Unlock()
		return
	}
	m.noteDescription(msg)
	if m.describeAnswer(backendID, msg) {
		m.mu.Unlock()
		return
	}
	call, ok := m.forget(backendID)
	if !ok {
		// An answer to another proxy replica's request: the server is shared.
		m.shared = m.shared || (strings.HasPrefix(backendID, "sb-") && !strings.HasPrefix(backendID, "sb-"+m.tag+"-") && backendID != reinitID)
		m.mu.Unlock()
		return // cancelled, timed out, the proxy's own, or another replica's
	}
	if call.init {
		m.mu.Unlock()
		m.initAnswered(call, msg)
		return
	}
	m.mu.Unlock()
	out := *msg
	out.ID = call.id
	call.answer(&out)
}

// backendRequest sends a server request (sampling, elicitation, roots) to the
// only client that can be meant, under an id no client can guess, or
// refuses it: it is never lost silently.
func (m *mux) backendRequest(msg *wire.Message) {
	if msg.Method == "ping" {
		_ = m.send(NoWait, &wire.Message{JSONRPC: "2.0", ID: msg.ID, Result: json.RawMessage("{}")})
		return
	}
	m.mu.Lock()
	target, answer := m.soleClient()
	id := "sb-s-" + randomID()
	if target != nil {
		m.serverCalls[id] = serverCall{session: target, id: msg.ID}
	}
	m.mu.Unlock()
	if target == nil {
		if answer {
			_ = m.send(NoWait, wire.ErrorResponse(msg.ID, wire.CodeInternalError,
				fmt.Sprintf("%s: several clients share this stdio server and the proxy cannot tell which one this request is for", msg.Method)))
		}
		return
	}
	out := *msg
	out.ID = wire.Quote(id)
	if !target.deliver(&out, nil) {
		// The client has no stream open to take it: the server must not
		// wait for an answer that cannot come.
		m.mu.Lock()
		delete(m.serverCalls, id)
		m.mu.Unlock()
		_ = m.send(NoWait, wire.ErrorResponse(msg.ID, wire.CodeInternalError,
			fmt.Sprintf("%s: the client has no open stream to receive it", msg.Method)))
	}
}

// soleClient is the client a server request or notification that names no
// request goes to: the only one with requests in flight, or else the only
// one. When other proxy replicas share the server, only a client with a
// request in flight is a candidate, and a replica with none leaves the
// request to the others (answer false): an idle client here must not take,
// or refuse, what another replica's client is waiting for. m.mu is held.
func (m *mux) soleClient() (target *clientSession, answer bool) {
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

// broadcast are the notifications every client gets: they carry no data,
// only the news that a list changed.
var broadcast = map[string]bool{
	"notifications/tools/list_changed":     true,
	"notifications/prompts/list_changed":   true,
	"notifications/resources/list_changed": true,
}

// backendNotification routes a server notification to the clients it
// concerns: progress by token, a cancellation to the client of the server
// request, a resource update to its subscribers, list changes to all, and
// anything else (log messages above all) only to the one client that can
// be meant, never to every client.
func (m *mux) backendNotification(msg *wire.Message) {
	var p map[string]json.RawMessage
	_ = json.Unmarshal(msg.Params, &p)
	var targets []*clientSession
	var related json.RawMessage
	m.mu.Lock()
	switch {
	case msg.Method == "notifications/progress":
		route, ok := m.progress[wire.Unquote(p["progressToken"])]
		if ok {
			p["progressToken"] = route.token
			targets, related = []*clientSession{route.session}, route.request
		}
	case msg.Method == "notifications/cancelled":
		for id, c := range m.serverCalls {
			if string(c.id) == string(p["requestId"]) {
				targets = []*clientSession{c.session}
				p["requestId"] = wire.Quote(id)
				delete(m.serverCalls, id)
			}
		}
	case msg.Method == "notifications/resources/updated":
		uri := wire.Unquote(p["uri"])
		for _, s := range m.sessions {
			if s.subscriptions[uri] {
				targets = append(targets, s)
			}
		}
	case broadcast[msg.Method]:
		if msg.Method == "notifications/tools/list_changed" {
			m.toolsChanged()
		}
		for _, s := range m.sessions {
			targets = append(targets, s)
		}
	default:
		if s, _ := m.soleClient(); s != nil {
			targets = []*clientSession{s}
		}
	}
	m.mu.Unlock()
	if len(targets) == 0 {
		m.opts.Stats.Unroutable.Add(1)
		m.log.Debug("a server notification concerns no client this proxy can name; dropped", "method", msg.Method)
		return
	}
	out := msg
	if msg.Method == "notifications/progress" || msg.Method == "notifications/cancelled" {
		params, _ := json.Marshal(p)
		out = &wire.Message{JSONRPC: "2.0", Method: msg.Method, Params: params}
	}
	for _, s := range targets {
		s.deliver(out, related)
	}
}

// restarted fails the requests the old process will never answer, and
// initializes the new one as the first client did, so that sessions go on.
// Several restarts may fall between two looks: what matters is whether
// process g has been initialized, not how many came before it.
func (m *mux) restarted(g uint64) {
	m.mu.Lock()
	var failed []pendingCall
	for backendID, call := range m.pending {
		if call.gen != g { // sent to a process that is gone
			failed = append(failed, call)
			m.forget(backendID)
		}
	}
	m.pingID = ""
	params, ok := m.init.restarted(g)
	if !ok { // the initialize in flight went to a process that is gone
		failed = append(failed, m.init.waiters...)
		m.init.waiters = nil
	}
	m.mu.Unlock()
	fail(failed, "the MCP server restarted before it answered; retry the request")
	if params == nil {
		return
	}
	m.log.Info("re-initializing the restarted stdio backend")
	_ = m.send(NoWait, &wire.Message{JSONRPC: "2.0", ID: wire.Quote(reinitID), Method: "initialize", Params: params})
	_ = m.send(NoWait, &wire.Message{JSONRPC: "2.0", Method: "notifications/initialized"})
}

// failAll fails every call in flight.
func (m *mux) failAll(why string) {
	m.mu.Lock()
	var failed []pendingCall
	for backendID, call := range m.pending {
		failed = append(failed, call)
		m.forget(backendID)
	}
	if m.init.sent {
		failed = append(failed, m.init.waiters...)
		m.init.sent, m.init.waiters = false, nil
	}
	m.pingID = ""
	m.mu.Unlock()
	if len(failed) > 0 {
		m.log.Warn("failing the calls in flight", "calls", len(failed), "why", why)
	}
	fail(failed, why)
}

// expireCalls fails the calls unanswered for longer than the call timeout
// and tells the server to stop working on them; an initialize unanswered
// for the init timeout fails with the clients waiting on it.
func (m *mux) expireCalls() {
	m.mu.Lock()
	var expired, initFailed []pendingCall
	var cancels []string
	for backendID, call := range m.pending {
		age := time.Since(call.sent)
		switch {
		case call.init && age > m.opts.InitTimeout:
			m.forget(backendID)
			initFailed = append(append(initFailed, call), m.init.waiters...)
			m.init.sent, m.init.waiters = false, nil
		case !call.init && m.opts.CallTimeout > 0 && age > m.opts.CallTimeout:
			m.forget(backendID)
			expired = append(expired, call)
			cancels = append(cancels, backendID)
		}
	}
	m.mu.Unlock()
	for i, call := range expired {
		call.answer(wire.ErrorResponse(call.id, wire.CodeRequestTimeout,
			fmt.Sprintf("the MCP server did not answer within the proxy's call timeout (%s)", m.opts.CallTimeout)))
		m.sendCancel(cancels[i], "the proxy's call timeout passed")
	}
	for _, call := range initFailed {
		call.answer(wire.ErrorResponse(call.id, wire.CodeRequestTimeout,
			fmt.Sprintf("the MCP server did not answer initialize within %s", m.opts.InitTimeout)))
	}
}

// ping checks that an initialized server still answers: a ping without an
// answer by the next look (PingTimeout at the latest) restarts the process or
// re-attaches the pod, and fails every call in flight.
func (m *mux) ping() {
	m.mu.Lock()
	gen := m.backend.Generation()
	ready := m.backend.Attached() && ((m.init.result != nil && m.init.gen == gen) || m.init.initialized)
	var stalled bool
	var msg *wire.Message
	switch {
	case m.pingID != "" && time.Since(m.pingSent) > m.opts.PingTimeout:
		stalled, m.pingID = true, ""
	case m.pingID == "" && ready:
		m.pingID, m.pingSent = m.id("sb-"), time.Now()
		msg = &wire.Message{JSONRPC: "2.0", ID: wire.Quote(m.pingID), Method: "ping"}
	}
	m.mu.Unlock()
	if stalled {
		m.opts.Stats.Unresponsive.Add(1)
		why := fmt.Sprintf("the MCP server did not answer a ping within %s", m.opts.PingTimeout)
		m.failAll(why + "; the proxy is restarting it: retry the request")
		m.backend.Reset(why)
		return
	}
	if msg != nil && m.send(NoWait, msg) != nil {
		m.mu.Lock()
		m.pingID = ""
		m.mu.Unlock()
	}
}

// noteDescription keeps the first time the server describes itself in this
// run (to any replica), in case it later refuses an initialize; no need once
// this proxy holds an initialize result for the run. m.mu is held.
func (m *mux) noteDescription(msg *wire.Message) {
	gen := m.backend.Generation()
	if m.init.describedGen == gen || (m.init.result != nil && m.init.gen == gen) {
		return
	}
	if len(msg.Error) == 0 && bytes.Contains(msg.Result, []byte(`"capabilities"`)) {
		if _, ok := asInitializeResult(msg.Result, ""); ok {
			m.init.described, m.init.describedGen = msg.Result, gen
		}
	}
}

// randomID is 128 random bits as text: ids a client is given for server
// requests, which no other client may guess.
func randomID() string { return rand.Text() }
