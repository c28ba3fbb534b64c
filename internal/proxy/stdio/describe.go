package stdio

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// How the proxy learns what a stdio server is when no client told it yet.
const (
	// askWait is how long the proxy waits for an answer to its own
	// server/discover before it initializes the server instead (a server
	// of the initialize era may not answer a request before initialize).
	askWait = 2 * time.Second
	// defaultDescribeWait is how long a server may take to answer the
	// handshake before /health says it does not speak MCP on stdin.
	defaultDescribeWait = 10 * time.Second
	// confirmWait is how long a client that initialized the server has to
	// confirm (notifications/initialized) before the proxy lists the tools
	// anyway.
	confirmWait = 2 * time.Second
	// maxTools bounds the tools the proxy reads of a list.
	maxTools = 10000
)

// clientCapabilities are what the proxy declares when it asks the server
// itself: none, so that the server offers what a client without any gets
// (server-everything lists tools by the client's capabilities) and asks
// no client what it may not support. The first client's own initialize
// still goes to the server, with its capabilities.
const clientCapabilities = `{}`

// describer is what the proxy learned, or is asking, about backend
// generation gen. Guarded by mux.mu.
type describer struct {
	gen       uint64
	since     time.Time // attached, or started, at
	asking    string    // the backend id of the proxy's own request in flight…
	askMethod string    // …its method…
	askSent   time.Time // …and when it was sent
	// discoverRefused: the server does not know server/discover (or did not
	// answer it in time): the proxy initializes it.
	discoverRefused bool
	ownInit         bool      // the server answered the proxy's own initialize…
	confirmed       bool      // …and the proxy confirmed it
	seen            time.Time // when an initialize result for gen was first seen
	desc            *wire.Description
	pages           []string // the tools of the pages read so far
	tools           []string // the last whole list…
	listed          bool     // …once there is one
	stale           bool     // the server said its tools changed
	why             string
}

// described is what /health reads: a description, or why there is none.
type described struct {
	desc *wire.Description
	why  string
}

// describe moves the proxy's own handshake with the server one step on:
// it learns the server's description from what a client or the server
// already said, or asks (server/discover, else initialize, as the first
// client would, so that the cache answers later clients), then lists the
// tools. It runs on the mux's loop and never waits on the server.
func (m *mux) describe(now time.Time) {
	if !m.opts.Describe {
		return
	}
	gen, attached := m.backend.Generation(), m.backend.Attached()
	var send []*wire.Message
	m.mu.Lock()
	d := &m.desc
	if d.gen != gen || !attached {
		*d = describer{gen: gen, since: now}
	}
	switch {
	case !attached:
		d.why = "the stdio MCP server is not running, or not attached"
	default:
		send = m.describeStep(d, gen, now)
	}
	// Answering initialize is answering MCP; the tools follow when listed.
	snap := &described{why: d.why}
	if d.desc != nil {
		desc := *d.desc
		if d.listed {
			desc.Tools = append([]string{}, d.tools...)
		}
		snap = &described{desc: &desc}
	}
	m.mu.Unlock()
	m.described.Store(snap)
	for _, msg := range send {
		_ = m.send(NoWait, msg)
	}
}

// describeStep is describe with m.mu held: the messages to send.
func (m *mux) describeStep(d *describer, gen uint64, now time.Time) []*wire.Message {
	m.expireAsk(d, now)
	result := m.initResult(gen)
	if result == nil {
		return m.handshake(d, now)
	}
	if !d.learn(result, now) {
		return nil
	}
	var send []*wire.Message
	if d.ownInit && !d.confirmed && m.init.result == nil {
		// The server needs it before it lists tools; the first client's
		// own confirmation still goes to it, after its own initialize.
		d.confirmed = true
		send = append(send, &wire.Message{JSONRPC: "2.0", Method: "notifications/initialized"})
	}
	confirmed := m.init.initialized || d.confirmed || d.discoverOnly(m) || now.Sub(d.seen) > confirmWait
	if (!d.listed || d.stale) && d.asking == "" && confirmed {
		d.stale, d.pages = false, nil
		send = append(send, m.ask(d, "tools/list", json.RawMessage(`{}`), now))
	}
	if !d.listed {
		d.why = "waiting for the stdio server's tools/list answer"
	}
	return send
}

// expireAsk gives up the proxy's own question after its wait.
func (m *mux) expireAsk(d *describer, now time.Time) {
	if d.asking == "" {
		return
	}
	limit := m.describeWait()
	if d.askMethod == "server/discover" {
		limit = askWait
	}
	if now.Sub(d.askSent) > limit {
		// No answer: a server of the initialize era may ignore discover.
		d.discoverRefused = d.discoverRefused || d.askMethod == "server/discover"
		d.asking = ""
	}
}

// learn reads the server's description from its initialize (or discover)
// result, once; false when the result does not describe it.
func (d *describer) learn(result json.RawMessage, now time.Time) bool {
	if d.seen.IsZero() {
		d.seen = now
	}
	if d.desc != nil {
		return true
	}
	desc, err := wire.Describe(result)
	if err != nil {
		d.why = "the stdio server's initialize result does not describe it: " + err.Error()
		return false
	}
	d.desc = &desc
	if !wire.HasTools(result) {
		d.tools, d.listed = []string{}, true
	}
	return true
}

// discoverOnly: the server described itself through server/discover and
// was not initialized: it takes requests as they come.
func (d *describer) discoverOnly(m *mux) bool {
	return m.init.result == nil && m.init.describedGen == d.gen && discovered(m.init.described)
}

// handshake asks the server to describe itself when no one else does.
func (m *mux) handshake(d *describer, now time.Time) []*wire.Message {
	waited := now.Sub(d.since).Round(time.Second)
	d.why = fmt.Sprintf("waiting for the stdio server to answer MCP (%s so far)", waited)
	lines := m.notJSON.Load()
	// Lines that are not JSON-RPC on stdout tell early: the server speaks
	// something else there (an HTTP server's log, say).
	if now.Sub(d.since) > m.describeWait() || (lines > 0 && now.Sub(d.since) > askWait) {
		d.why = fmt.Sprintf("the stdio server does not answer MCP on stdin (no answer to initialize in %s)", waited)
		if lines > 0 {
			d.why += fmt.Sprintf(" and wrote %d lines that are not JSON-RPC to stdout", lines)
		}
		d.why += ": if it is an HTTP server, set spec.transport to sse or streamable-http and spec.mcpPort"
	}
	if m.init.sent || d.asking != "" {
		return nil // an initialize (a client's) or the proxy's own question is on its way
	}
	if !d.discoverRefused {
		params := json.RawMessage(`{"_meta":{"io.modelcontextprotocol/protocolVersion":"` + wire.ProtocolStateless + `",` +
			`"io.modelcontextprotocol/clientCapabilities":` + clientCapabilities + `,"io.modelcontextprotocol/clientInfo":{"name":"switchboard-proxy","version":"1"}}}`)
		return []*wire.Message{m.ask(d, "server/discover", params, now)}
	}
	// A server of the initialize era. The proxy's initialize only asks:
	// its answer is not cached, so the first client's initialize still
	// goes to the server with the version that client asks for (a server
	// that refuses a second initialize answers it from this one's result).
	params := json.RawMessage(`{"protocolVersion":"` + wire.ProtocolLatestSession + `","capabilities":` + clientCapabilities + `,` +
		`"clientInfo":{"name":"switchboard-proxy","version":"1"}}`)
	return []*wire.Message{m.ask(d, "initialize", params, now)}
}

// ask is the proxy's own request; its answer comes to describeAnswer.
func (m *mux) ask(d *describer, method string, params json.RawMessage, now time.Time) *wire.Message {
	d.asking, d.askMethod, d.askSent = m.id("sb-"), method, now
	return &wire.Message{JSONRPC: "2.0", ID: wire.Quote(d.asking), Method: method, Params: params}
}

// initResult is what the server said of itself in run gen: the cached
// initialize result, or what it told any replica. m.mu is held.
func (m *mux) initResult(gen uint64) json.RawMessage {
	if m.init.result != nil && m.init.gen == gen {
		return m.init.result
	}
	if m.init.describedGen == gen && m.init.described != nil {
		return m.init.described
	}
	return nil
}

// describeAnswer takes the answer to the proxy's own request, if msg is
// one; m.mu is held.
func (m *mux) describeAnswer(backendID string, msg *wire.Message) bool {
	d := &m.desc
	if backendID == "" || backendID != d.asking {
		return false
	}
	d.asking = ""
	switch d.askMethod {
	case "server/discover":
		// A result that describes the server was noted as its description
		// already; any other answer is a server of the initialize era.
		d.discoverRefused = len(msg.Error) != 0 || m.initResult(d.gen) == nil
	case "initialize":
		// A result was noted as the server's description already.
		d.ownInit = len(msg.Error) == 0
		if !d.ownInit {
			d.why = "the stdio server refused the proxy's initialize: " + string(msg.Error)
			go m.recoverDescription(d.gen)
		}
	case "tools/list":
		if len(msg.Error) != 0 {
			d.why = "the stdio server refused tools/list: " + string(msg.Error)
			return true
		}
		names, next, err := wire.ToolNames(msg.Result)
		if err != nil {
			d.why = "the stdio server's tools/list result: " + err.Error()
			return true
		}
		d.pages = append(d.pages, names...)
		if next == "" || len(d.pages) > maxTools {
			d.tools, d.listed, d.pages = d.pages, true, nil
			return true
		}
		params, _ := json.Marshal(map[string]string{"cursor": next})
		out := m.ask(d, "tools/list", params, time.Now())
		go func() { _ = m.send(NoWait, out) }()
	}
	return true
}

// toolsChanged marks the tool list stale; m.mu is held.
func (m *mux) toolsChanged() { m.desc.stale = true }

func (m *mux) describeWait() time.Duration {
	if m.opts.DescribeWait > 0 {
		return m.opts.DescribeWait
	}
	return defaultDescribeWait
}

// Described is what the stdio server said of itself (its tools as it
// lists them), or why the proxy does not know: it has not answered MCP.
func (f *Frontend) Described() (*wire.Description, string) {
	s := f.mux.described.Load()
	if s == nil {
		return nil, "the proxy has not asked the stdio server yet"
	}
	return s.desc, s.why
}

// recoverDescription reads what the server said of itself before the
// proxy attached (a pod initialized by an earlier proxy refuses a second
// initialize), where the backend can tell.
func (m *mux) recoverDescription(gen uint64) {
	r, ok := m.backend.(initRecoverer)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	result, err := r.InitializeResult(ctx, wire.ProtocolLatestSession)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.backend.Generation() == gen && m.init.describedGen != gen {
		m.init.described, m.init.describedGen = result, gen
	}
}
