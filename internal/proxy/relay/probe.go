package relay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// probeTimeout bounds one probe of one backend.
const probeTimeout = 3 * time.Second

// probeAll asks every backend whether it answers MCP, and marks those that
// do not as mute: they take no new sessions. The first that answers
// describes the server; when none does, the last error says why.
func (b *Relay) probeAll(ctx context.Context) {
	var described *wire.Description
	var why error
	for _, addr := range b.pool.addrs() {
		d, err := b.probe(ctx, addr)
		if err == nil && described == nil {
			described = &d
		}
		if err != nil {
			why = fmt.Errorf("backend %s: %w", addr, err)
		}
		if b.pool.setMute(addr, err != nil) {
			if err != nil {
				b.o.Log.Warn("backend accepts connections but does not answer MCP; no new sessions go to it", "backend", addr, "error", err)
			} else {
				b.o.Log.Info("backend answers MCP again", "backend", addr)
			}
		}
	}
	switch {
	case described != nil:
		b.described.Store(&probed{desc: described})
	case why != nil:
		b.described.Store(&probed{why: why.Error()})
	default:
		b.described.Store(&probed{why: "no backend pod is ready to be asked"})
	}
}

// probed is the outcome of the last round of probes: a description, or why
// there is none.
type probed struct {
	desc *wire.Description
	why  string
}

// Described is what the server said of itself at the last probe, or why it
// did not answer MCP; nil and "" when backends are not probed (the proxy
// does not check).
func (b *Relay) Described() (*wire.Description, string) {
	if p := b.described.Load(); p != nil {
		return p.desc, p.why
	}
	return nil, ""
}

// probeID is the id of the probe's requests.
const probeID = `"switchboard-probe"`

// probeInitialize is the initialize a probe sends: the newest version with
// sessions; a server that does not speak it answers with its own.
var probeInitialize = `{"jsonrpc":"2.0","id":` + probeID + `,"method":"initialize","params":` +
	`{"protocolVersion":"` + wire.ProtocolLatestSession + `","capabilities":{},"clientInfo":{"name":"switchboard-probe","version":"1"}}}`

// maxToolPages bounds the tools/list pages a probe reads.
const maxToolPages = 20

// probe succeeds when the backend at addr answers an MCP handshake with a
// JSON-RPC message, and returns what the server said of itself then. A
// server that answers initialize with an error still speaks MCP, and is
// described by what it knows of itself (nothing, for now). The session a
// probe starts is ended at once. When the backend does not answer MCP,
// the error says which transport it seems to speak, if it is the other.
func (b *Relay) probe(ctx context.Context, addr string) (wire.Description, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	c := &probeClient{http: &http.Client{Transport: &http.Transport{DialContext: b.o.Dial, DisableKeepAlives: true}},
		base: b.scheme + "://" + addr}
	var d wire.Description
	var err error
	if b.sse {
		d, err = c.describeSSE(ctx, b.path)
	} else {
		d, err = c.describeStreamable(ctx, b.path)
	}
	if err != nil && errors.Is(err, errNotMCP) {
		err = fmt.Errorf("%w%s", err, c.otherTransport(ctx, b.sse))
	}
	return d, err
}

// errNotMCP marks an endpoint that answered, but not MCP.
var errNotMCP = errors.New("no MCP answer")

type probeClient struct {
	http    *http.Client
	base    string // scheme://host:port
	session string
	version string
}

// describeStreamable runs initialize, notifications/initialized and
// tools/list on a streamable-http endpoint, then ends the session.
func (c *probeClient) describeStreamable(ctx context.Context, path string) (wire.Description, error) {
	post := func(body string) (*wire.Message, error) { return c.post(ctx, c.base+path, body) }
	init, err := post(probeInitialize)
	if err != nil {
		return wire.Description{}, err
	}
	if c.session != "" {
		defer func() {
			del, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodDelete, c.base+path, nil)
			del.Header.Set(wire.HeaderSessionID, c.session)
			if r, err := c.http.Do(del); err == nil {
				_ = r.Body.Close()
			}
		}()
	}
	return c.handshake(init, post)
}

// handshake reads the answer to initialize, confirms it and lists the
// tools through post. Answering initialize is answering MCP: a server
// that then fails tools/list still serves, described without its tools.
func (c *probeClient) handshake(init *wire.Message, post func(string) (*wire.Message, error)) (wire.Description, error) {
	if len(init.Error) != 0 {
		return wire.Description{}, nil // it speaks MCP, and says nothing of itself
	}
	d, err := wire.Describe(init.Result)
	if err != nil {
		return wire.Description{}, fmt.Errorf("initialize result: %w", err)
	}
	c.version = d.ProtocolVersion
	if _, err := post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
		return d, nil
	}
	if !wire.HasTools(init.Result) {
		d.Tools = []string{}
		return d, nil
	}
	d.Tools = c.tools(post)
	return d, nil
}

// tools lists the server's tools, every page; nil when it does not.
func (c *probeClient) tools(post func(string) (*wire.Message, error)) []string {
	names := []string{}
	cursor := ""
	for range maxToolPages {
		params := "{}"
		if cursor != "" {
			params = `{"cursor":` + string(wire.Quote(cursor)) + `}`
		}
		page, err := post(`{"jsonrpc":"2.0","id":` + probeID + `,"method":"tools/list","params":` + params + `}`)
		if err != nil || len(page.Error) != 0 {
			return nil
		}
		more, next, err := wire.ToolNames(page.Result)
		if err != nil {
			return nil
		}
		names = append(names, more...)
		if cursor = next; cursor == "" {
			break
		}
	}
	return names
}

// post sends one message to a streamable endpoint and reads the answer
// (nil for a notification).
func (c *probeClient) post(ctx context.Context, url, body string) (*wire.Message, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.session != "" {
		req.Header.Set(wire.HeaderSessionID, c.session)
	}
	if c.version != "" {
		req.Header.Set(wire.HeaderProtocolVersion, c.version)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if id := resp.Header.Get(wire.HeaderSessionID); id != "" && c.session == "" {
		c.session = id
	}
	if !strings.Contains(body, `"id"`) { // a notification: no answer to read
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		if resp.StatusCode >= 300 {
			return nil, fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if msg := answerIn(data); msg != nil {
		return msg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	return nil, fmt.Errorf("POST %s: status %d, %w", req.URL.Path, resp.StatusCode, errNotMCP)
}

// describeSSE opens the legacy event stream, runs the handshake through
// the endpoint it names, and closes the stream.
func (c *probeClient) describeSSE(ctx context.Context, path string) (wire.Description, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, endpoint, err := c.openSSE(ctx, c.base+path)
	if err != nil {
		return wire.Description{}, err
	}
	post := func(body string) (*wire.Message, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		_ = resp.Body.Close()
		if resp.StatusCode >= 300 {
			return nil, fmt.Errorf("POST %s: status %d", req.URL.Path, resp.StatusCode)
		}
		if !strings.Contains(body, `"id"`) {
			return nil, nil
		}
		for {
			select {
			case msg, ok := <-events:
				if !ok {
					return nil, errors.New("the event stream ended before the answer")
				}
				if msg.IsResponse() && string(msg.ID) == probeID {
					return msg, nil
				}
			case <-ctx.Done():
				return nil, fmt.Errorf("no answer on the event stream: %w", ctx.Err())
			}
		}
	}
	init, err := post(probeInitialize)
	if err != nil {
		return wire.Description{}, err
	}
	return c.handshake(init, post)
}

// openSSE opens an event stream and waits for its endpoint event; the
// messages that follow come on the channel until ctx ends.
func (c *probeClient) openSSE(ctx context.Context, url string) (<-chan *wire.Message, string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, "", err
	}
	endpoint := make(chan string, 1)
	events := make(chan *wire.Message, 16)
	go func() {
		defer func() { _ = resp.Body.Close() }()
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 4<<20)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data := strings.TrimSpace(strings.TrimPrefix(line, "data:"))
				if event == "endpoint" {
					endpoint <- data
				} else if msg, err := wire.ParseOne([]byte(data)); err == nil {
					select {
					case events <- msg:
					case <-ctx.Done():
						return
					}
				}
			case line == "":
				event = ""
			}
		}
	}()
	select {
	case e := <-endpoint:
		ref, err := resp.Request.URL.Parse(e)
		if err != nil {
			return nil, "", fmt.Errorf("endpoint event %q: %w", e, err)
		}
		return events, ref.String(), nil
	case <-events: // closed: the stream ended without an endpoint event
		return nil, "", fmt.Errorf("GET %s: status %d and no endpoint event, %w", req.URL.Path, resp.StatusCode, errNotMCP)
	case <-ctx.Done():
		return nil, "", fmt.Errorf("GET %s: status %d and no endpoint event in time, %w", req.URL.Path, resp.StatusCode, errNotMCP)
	}
}

// otherTransport says, when the backend speaks the transport it was not
// configured with, what to set; "" when it cannot tell.
func (c *probeClient) otherTransport(ctx context.Context, sse bool) string {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	other := &probeClient{http: c.http, base: c.base}
	if sse {
		if msg, err := other.post(ctx, c.base+"/mcp", probeInitialize); err == nil && msg != nil {
			if other.session != "" {
				del, _ := http.NewRequestWithContext(ctx, http.MethodDelete, c.base+"/mcp", nil)
				del.Header.Set(wire.HeaderSessionID, other.session)
				if r, err := c.http.Do(del); err == nil {
					_ = r.Body.Close()
				}
			}
			return ": it speaks streamable-http on /mcp: set spec.transport: streamable-http"
		}
		return ""
	}
	if _, _, err := other.openSSE(ctx, c.base+"/sse"); err == nil {
		return ": it speaks sse on /sse: set spec.transport: sse"
	}
	return ""
}

// answerIn is the JSON-RPC answer a body is, or the first one its events
// carry; nil when there is none.
func answerIn(body []byte) *wire.Message {
	if msg, err := wire.ParseOne(body); err == nil && msg.IsResponse() {
		return msg
	}
	for _, line := range bytes.Split(body, []byte("\n")) {
		if data, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("data:")); ok {
			if msg, err := wire.ParseOne(bytes.TrimSpace(data)); err == nil && msg.IsResponse() {
				return msg
			}
		}
	}
	return nil
}
