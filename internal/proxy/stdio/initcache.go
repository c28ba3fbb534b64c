package stdio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// initCache is what the mux knows about the server's initialization: a
// stdio server is initialized once, by its first client, and every later
// client is answered with that result. Guarded by mux.mu.
type initCache struct {
	params      json.RawMessage // the first client's initialize parameters
	result      json.RawMessage // the server's answer…
	gen         uint64          // …from this backend generation
	waiters     []pendingCall   // initializes waiting for the one in flight
	sent        bool            // an initialize is on its way to the backend…
	sentGen     uint64          // …to this process
	initialized bool            // the backend got notifications/initialized
	// described is the first initialize or server/discover result the
	// backend's run describedGen gave (to any replica).
	described    json.RawMessage
	describedGen uint64
}

// restarted prepares for backend generation g: the parameters to initialize
// it with (nil: no client initialized the old one), and false when the
// initialize in flight went to a process that is gone (its waiters fail).
func (c *initCache) restarted(g uint64) (json.RawMessage, bool) {
	if c.result != nil && c.gen == g {
		return nil, true // a client initialized this very process already
	}
	ok := true
	if c.sent && c.sentGen != g {
		c.sent, ok = false, false
	}
	if c.params == nil {
		c.result, c.initialized = nil, false
		return nil, ok
	}
	// The proxy initializes the new process itself, with the same
	// parameters, so the cached result stays good.
	c.gen, c.initialized = g, true
	return c.params, ok
}

// initFromCache answers an initialize from the cache (the answer), or
// queues it behind the one in flight (no answer yet), or refuses it; false
// when it must go to the server. m.mu is held.
func (m *mux) initFromCache(call pendingCall, gen uint64) (*wire.Message, bool) {
	if m.init.result != nil && m.init.gen == gen {
		return initAnswer(call.id, call.requested, m.init.result), true
	}
	if !m.init.sent {
		return nil, false
	}
	for _, w := range m.init.waiters {
		if w.session == call.session {
			return wire.ErrorResponse(call.id, wire.CodeInvalidRequest, "this session already waits for an initialize: send one at a time"), true
		}
	}
	if len(m.init.waiters) >= maxInitWaiters {
		return wire.ErrorResponse(call.id, wire.CodeServerError, "too many clients wait for the MCP server's first initialize: retry shortly"), true
	}
	m.init.waiters = append(m.init.waiters, call)
	return nil, true
}

// initAnswered handles the server's answer to the initialize the proxy sent
// for call: cached and given to every waiting client, or, when refused,
// recovered from what the server said before.
func (m *mux) initAnswered(call pendingCall, msg *wire.Message) {
	if len(msg.Error) != 0 {
		// Still sent: later initializes wait for the outcome.
		go m.recoverInitialize(call, msg)
		return
	}
	m.mu.Lock()
	m.init.sent = false
	m.init.result, m.init.gen = msg.Result, m.backend.Generation()
	waiters := m.init.waiters
	m.init.waiters = nil
	m.mu.Unlock()
	out := *msg
	out.ID = call.id
	call.answer(&out)
	for _, w := range waiters {
		w.answer(initAnswer(w.id, w.requested, msg.Result))
	}
}

// initAnswer answers an initialize that asked for requested with the
// server's result. The server speaks one protocol version to all its
// clients: a client that asked for a newer one gets the server's (as a
// server that knows no newer version would answer), one that asked for an
// older one a clear error, since it may not understand the newer.
func initAnswer(id json.RawMessage, requested string, result json.RawMessage) *wire.Message {
	var r struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	_ = json.Unmarshal(result, &r)
	if requested != "" && r.ProtocolVersion != "" && requested < r.ProtocolVersion {
		return wire.ErrorResponse(id, wire.CodeInvalidParams, fmt.Sprintf(
			"this stdio MCP server is shared by several clients and speaks protocol version %s, negotiated by its first client; "+
				"this client asked for the older %s, which the proxy cannot offer on the same server: use a client that supports %s",
			r.ProtocolVersion, requested, r.ProtocolVersion))
	}
	return &wire.Message{JSONRPC: "2.0", ID: id, Result: result}
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
func (m *mux) recoverInitialize(call pendingCall, refused *wire.Message) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m.mu.Lock()
	described := m.init.described
	if m.init.describedGen != call.gen {
		described = nil
	}
	m.mu.Unlock()
	result, ok := asInitializeResult(described, call.requested)
	err := errors.New("this proxy saw no earlier initialize or server/discover result, and cannot read the server's output")
	if ok {
		err = nil
	} else if r, can := m.backend.(initRecoverer); can {
		// Attached after the server described itself: read its output.
		result, err = r.InitializeResult(ctx, call.requested)
	}
	m.mu.Lock()
	m.init.sent = false
	waiters := append([]pendingCall{call}, m.init.waiters...)
	m.init.waiters = nil
	answer := func(w pendingCall) *wire.Message {
		out := *refused
		out.ID = w.id
		return &out
	}
	if err == nil && m.backend.Generation() == call.gen {
		// The client's notifications/initialized would be a second one.
		m.init.result, m.init.gen, m.init.initialized = result, call.gen, true
		answer = func(w pendingCall) *wire.Message { return initAnswer(w.id, w.requested, result) }
		m.log.Info("the stdio server was initialized before this proxy attached: its first initialize result serves the clients")
	} else {
		m.log.Warn("the stdio server refused initialize", "error", string(refused.Error), "noEarlierResult", err)
	}
	m.mu.Unlock()
	for _, w := range waiters {
		w.answer(answer(w))
	}
}

// initializeResultIn finds, in a stdio server's output, what the server
// first said about itself (asInitializeResult); other lines, JSON or not,
// are passed over. requested is the protocol version the client asks for.
func initializeResultIn(output io.Reader, requested string) (json.RawMessage, error) {
	var found json.RawMessage
	err := scanLines(output, MaxLine, func(line []byte) {
		if found != nil {
			return
		}
		msg, err := wire.ParseOne(line)
		if err != nil || !msg.IsResponse() || len(msg.Error) != 0 {
			return
		}
		if result, ok := asInitializeResult(msg.Result, requested); ok {
			found = append(json.RawMessage(nil), result...)
		}
	}, func(int, []byte, []byte) {})
	if found != nil {
		return found, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the server's output: %w", err)
	}
	return nil, errors.New("the server's output holds no initialize or server/discover result")
}

// asInitializeResult is result if it is an initialize result (it has
// protocolVersion, capabilities and serverInfo), or the initialize result a
// server/discover result implies (supportedVersions, capabilities,
// serverInfo in _meta): a client of the stateless era got it, and a Go SDK
// server refuses initialize after it. The version is the requested one if
// the server supports it, else the newest it supports from before the
// stateless era.
func asInitializeResult(result json.RawMessage, requested string) (json.RawMessage, bool) {
	var r struct {
		ProtocolVersion   string                     `json:"protocolVersion"`
		SupportedVersions []string                   `json:"supportedVersions"`
		Capabilities      json.RawMessage            `json:"capabilities"`
		ServerInfo        json.RawMessage            `json:"serverInfo"`
		Instructions      string                     `json:"instructions,omitempty"`
		Meta              map[string]json.RawMessage `json:"_meta"`
	}
	if result == nil || json.Unmarshal(result, &r) != nil || r.Capabilities == nil {
		return nil, false
	}
	if r.ProtocolVersion != "" && r.ServerInfo != nil {
		return result, true
	}
	if r.Meta[discoverServerInfo] == nil {
		return nil, false
	}
	version := ""
	for _, v := range r.SupportedVersions {
		if v == requested && v < wire.ProtocolStateless {
			version = v
			break
		}
		if v < wire.ProtocolStateless && v > version {
			version = v
		}
	}
	if version == "" {
		return nil, false
	}
	out, err := json.Marshal(struct {
		ProtocolVersion string          `json:"protocolVersion"`
		Capabilities    json.RawMessage `json:"capabilities"`
		ServerInfo      json.RawMessage `json:"serverInfo"`
		Instructions    string          `json:"instructions,omitempty"`
	}{version, r.Capabilities, r.Meta[discoverServerInfo], r.Instructions})
	return out, err == nil
}

// discoverServerInfo is where a server/discover result names the server.
const discoverServerInfo = "io.modelcontextprotocol/serverInfo"
