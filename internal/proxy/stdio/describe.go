package stdio

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// How the proxy learns whether a stdio server speaks MCP, and what it is.
//
// A stdio server has one peer and one handshake, which belongs to the
// first client: it tells the server that client's protocol version and
// capabilities, and a server keeps them (a Go SDK server refuses a second
// initialize, and after a server/discover it runs the stateless protocol
// for every client: no sampling or elicitation requests). So the proxy
// never takes the handshake itself: it pings the server, which the
// protocol allows before initialization, and any JSON-RPC answer shows
// that the server speaks MCP on stdin. What the server is (serverInfo,
// protocol version) comes from the first client's initialize, or from the
// server's earlier output when the pod was initialized before this proxy
// attached; the proxy then lists the tools itself.
const (
	// askWait is how long the proxy waits for the answer to its own
	// request before it asks again.
	askWait = 2 * time.Second
	// defaultDescribeWait is how long a server may take to answer the ping
	// before /health says it does not speak MCP on stdin.
	defaultDescribeWait = 10 * time.Second
	// confirmWait is how long a client that initialized the server has to
	// confirm (notifications/initialized) before the proxy lists the tools
	// anyway.
	confirmWait = 2 * time.Second
	// maxTools bounds the tools the proxy reads of a list.
	maxTools = 10000
)

// describer is what the proxy learned, or is asking, about backend
// generation gen. Guarded by mux.mu.
type describer struct {
	gen       uint64
	since     time.Time // attached, or started, at
	asking    string    // the backend id of the proxy's own request in flight…
	askMethod string    // …its method…
	askSent   time.Time // …and when it was sent
	answered  bool      // the server answered MCP
	recovered bool      // the server's earlier output was read…
	// earlier is what it held: for /health only, never to answer a
	// client (it is cast to one protocol version; recoverInitialize reads
	// the output again for each client's own).
	earlier json.RawMessage
	seen    time.Time // when an initialize result for gen was first seen
	desc    *wire.Description
	pages   []string // the tools of the pages read so far
	tools   []string // the last whole list…
	listed  bool     // …once there is one
	stale   bool     // the server said its tools changed
	why     string
}

// described is what /health reads: a description (empty until a client
// initialized the server), or why the server has not answered MCP.
type described struct {
	desc *wire.Description
	why  string
}

// describe moves the proxy's view of the server one step on: it pings a
// server that has not answered yet, learns the server's description from
// what a client's initialize (or the server's earlier output) said, and
// lists the tools. It runs on the mux's loop and never waits on the
// server.
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
	if attached {
		send = m.describeStep(d, gen, now)
	} else {
		d.why = "the stdio MCP server is not running, or not attached"
	}
	snap := &described{why: d.why}
	if d.answered {
		desc := wire.Description{}
		if d.desc != nil {
			desc = *d.desc
		}
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
	if d.asking != "" && now.Sub(d.askSent) > m.askLimit(d.askMethod) {
		d.asking = "" // unanswered: ask again
	}
	result := m.initResult(gen)
	if result == nil {
		result = d.earlier
	}
	if result != nil {
		d.answered = true // it answered an initialize
	}
	if !d.answered {
		return m.askPing(d, now)
	}
	if result == nil {
		if !d.recovered {
			d.recovered = true
			go m.recoverDescription(gen)
		}
		return nil // described once a client initializes it
	}
	if !d.learn(result, now) {
		return nil
	}
	confirmed := m.init.initialized || now.Sub(d.seen) > confirmWait
	if (!d.listed || d.stale) && d.asking == "" && confirmed {
		d.stale, d.pages = false, nil
		return []*wire.Message{m.ask(d, "tools/list", json.RawMessage(`{}`), now)}
	}
	return nil
}

// askPing asks a server that has not answered yet whether it speaks MCP.
func (m *mux) askPing(d *describer, now time.Time) []*wire.Message {
	waited := now.Sub(d.since).Round(time.Second)
	d.why = fmt.Sprintf("waiting for the stdio server to answer MCP (%s so far)", waited)
	lines := m.notJSON.Load()
	// Lines that are not JSON-RPC on stdout tell early: the server speaks
	// something else there (an HTTP server's log, say).
	if now.Sub(d.since) > m.describeWait() || (lines > 0 && now.Sub(d.since) > askWait) {
		d.why = fmt.Sprintf("the stdio server does not answer MCP on stdin (no answer to a ping in %s)", waited)
		if lines > 0 {
			d.why += fmt.Sprintf(" and wrote %d lines that are not JSON-RPC to stdout", lines)
		}
		d.why += ": if it is an HTTP server, set spec.transport to sse or streamable-http and spec.mcpPort"
	}
	if d.asking != "" {
		return nil
	}
	return []*wire.Message{m.ask(d, "ping", nil, now)}
}

func (m *mux) askLimit(method string) time.Duration {
	if method == "tools/list" {
		return m.describeWait()
	}
	return askWait
}

// learn reads the server's description from an initialize result, once;
// false when the result does not describe it.
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
	case "ping":
		// A result or an error ("not initialized"): JSON-RPC, so MCP.
		d.answered = true
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

// recoverDescription reads what the server said of itself before the
// proxy attached (a pod an earlier proxy's client initialized), where the
// backend can tell.
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
	if d := &m.desc; d.gen == gen && m.backend.Generation() == gen {
		d.earlier = result
	}
}

// toolsChanged marks the tool list stale; m.mu is held.
func (m *mux) toolsChanged() { m.desc.stale = true }

func (m *mux) describeWait() time.Duration {
	if m.opts.DescribeWait > 0 {
		return m.opts.DescribeWait
	}
	return defaultDescribeWait
}

// Described is what the stdio server said of itself (an empty description
// until a client initialized it; its tools as it lists them), or why the
// proxy does not know: it has not answered MCP; nil and "" when the proxy
// does not ask (MuxOptions.Describe off).
func (f *Frontend) Described() (*wire.Description, string) {
	if !f.mux.opts.Describe {
		return nil, "" // not asked: not checked
	}
	s := f.mux.described.Load()
	if s == nil {
		return nil, "the proxy has not asked the stdio server yet"
	}
	return s.desc, s.why
}
