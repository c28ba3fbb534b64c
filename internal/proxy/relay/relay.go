// Package relay carries MCP clients to sse and streamable-http servers over
// HTTP: a reverse proxy to one URL or to the ready pods of a headless
// Service, each session sticky to the pod that created it (in memory or in
// Redis, shared by proxy replicas).
package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// DialFunc connects to a backend.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Options configure a relay.
type Options struct {
	// Store maps sessions to backends (memory, or Redis for replicas).
	Store Store
	// Dial connects to backends (default: net.Dialer). Tests use it to reach
	// the pod IPs of an EndpointSlice on loopback addresses.
	Dial     DialFunc
	MaxBody  int64
	MaxBatch int
	Path     *pipeline.Path
	Sessions *pipeline.Sessions
	// ResponseTimeout bounds the wait for a backend to begin its answer;
	// 0: no limit.
	ResponseTimeout time.Duration
	// IdleTimeout forgets sessions this replica started that were not used
	// for this long (clients that vanish never send DELETE).
	IdleTimeout time.Duration
	// HandshakeTimeout gives back the place of a session that sent nothing
	// after its initialize for this long.
	HandshakeTimeout time.Duration
	// ProbeInterval is how often each backend is asked to initialize: one
	// that accepts connections but does not answer MCP takes no new
	// sessions and, alone, makes the proxy unhealthy. 0: no probes.
	ProbeInterval time.Duration
	// Prefix and TrustProxy shape the legacy SSE endpoint advertised.
	Prefix     string
	TrustProxy bool
	// KeepAuthorization forwards the client's Authorization header to the
	// backend; by default the proxy, which checked the token, keeps it.
	KeepAuthorization bool
	// WrapTransport, when set, wraps each attempt to reach a backend (the
	// tracing client span that carries the trace context to the server).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	Log           *slog.Logger
}

// Relay is an sse or streamable-http MCP server reached over HTTP: one URL
// given by hand, or the ready pods of a headless Service. Requests pass as
// they are (after the request path's checks), responses stream
// unbuffered; Mcp-Session-Id, MCP-Protocol-Version and Last-Event-ID pass
// through, and each session stays on the pod that created it.
type Relay struct {
	o      Options
	scheme string
	path   string // the backend's MCP endpoint path
	sse    bool
	pool   *pool
	static bool // one URL given by hand: the backend itself decides on sessions
	rp     *httputil.ReverseProxy
	legacy *ssePassthrough
	// described is the last round of probes' outcome.
	described atomic.Pointer[probed]
}

type routeKey struct{}

// route is what the reverse proxy's hooks need to know about a request.
type route struct {
	addr    string
	session string // the client's Mcp-Session-Id, if any
	// place is true while the request holds a place under the session
	// cap for the session it may start.
	place *atomic.Bool
	// replies take the answers to the request's messages, by id.
	replies map[string]*pipeline.Reply
	// name replaces the Mcp-Name header, for a body the path rewrote.
	name string
	// answer is the writer the backend's answer goes to.
	answer *answerWriter
}

// rewriteAnswers passes each answer through the reply to its request.
func rewriteAnswers(replies map[string]*pipeline.Reply) wire.AnswerRewrite {
	return func(m *wire.Message) bool { return replies[string(m.ID)].Answer(m) }
}

// failAll fails the replies still waiting for an answer.
func failAll(replies map[string]*pipeline.Reply, why string) {
	for _, p := range replies {
		p.Fail(why)
	}
}

func newRelay(scheme, path string, sse, static bool, o Options) *Relay {
	if o.Dial == nil {
		o.Dial = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Store == nil {
		o.Store = NewMemoryStore(o.IdleTimeout)
	}
	if o.Sessions == nil {
		o.Sessions = pipeline.NewSessions(1 << 30)
	}
	b := &Relay{o: o, scheme: scheme, path: path, sse: sse, static: static, pool: newPool(o.Store, o.Sessions)}
	b.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = pr.In.URL.Scheme, pr.In.URL.Host
			pr.Out.Host = pr.In.URL.Host
			if !o.KeepAuthorization {
				pr.Out.Header.Del("Authorization")
			}
			if rt, ok := pr.In.Context().Value(routeKey{}).(route); ok && rt.name != "" {
				pr.Out.Header.Set(wire.HeaderName, rt.name)
			}
		},
		ModifyResponse: b.remember,
		FlushInterval:  -1, // every write reaches the client at once (SSE)
		BufferPool:     copyBuffers,
		ErrorHandler:   b.proxyError,
		// net/http's default keeps 2 idle connections per host: under
		// concurrent clients the proxy would dial the backend per request.
		Transport: failover{pool: b.pool, log: o.Log, next: wrap(o.WrapTransport, &http.Transport{
			DialContext:           o.Dial,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   1024,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: o.ResponseTimeout,
		})},
	}
	b.legacy = &ssePassthrough{backend: b, paths: map[string]string{}}
	return b
}

func wrap(w func(http.RoundTripper) http.RoundTripper, rt http.RoundTripper) http.RoundTripper {
	if w == nil {
		return rt
	}
	return w(rt)
}

// Streamable serves /mcp for a streamable-http backend.
func (b *Relay) Streamable() http.Handler { return http.HandlerFunc(b.serveStreamable) }

// SSE serves /sse for an sse backend: the stream, its endpoint rewritten.
func (b *Relay) SSE() http.Handler { return http.HandlerFunc(b.legacy.stream) }

// Messages serves /messages for an sse backend: the stream's POSTs.
func (b *Relay) Messages() http.Handler { return http.HandlerFunc(b.legacy.messages) }

// Attached reports whether a backend can take requests now.
func (b *Relay) Attached() bool { return b.pool.healthy() > 0 }

// failover sends a request that belongs to no session to another pod when
// its pod refuses the connection. Nothing reached the refusing pod, so
// nothing happens twice, and the client gets its answer instead of a 503
// in the moment before the EndpointSlice watch drops the pod.
type failover struct {
	next http.RoundTripper
	pool *pool
	log  *slog.Logger
}

func (f failover) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.GetBody != nil {
		// The reverse proxy wraps the body, which hides from the transport
		// that it is in memory: the transport would then write the headers
		// and the body in two writes.
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("read the request body: %w", err)
		}
		shallow := *req // RoundTrip must not change its request
		shallow.Body = body
		req = &shallow
	}
	tried := map[string]bool{}
	for {
		resp, err := f.next.RoundTrip(req)
		rt, ok := req.Context().Value(routeKey{}).(route)
		if err == nil || !isDialError(err) || !ok || rt.session != "" || (req.Body != nil && req.GetBody == nil) {
			return resp, err
		}
		tried[rt.addr] = true
		f.pool.unreachable(req.Context(), rt.addr, "")
		next, found := f.pool.pick()
		if !found || tried[next] {
			return nil, err
		}
		f.log.Warn("backend refused a connection; sending the request to another", "backend", rt.addr, "next", next, "error", err)
		rt.addr = next
		retry := req.Clone(context.WithValue(req.Context(), routeKey{}, rt))
		retry.URL.Host, retry.Host = next, next
		if req.GetBody != nil {
			if retry.Body, err = req.GetBody(); err != nil {
				return nil, fmt.Errorf("replay the request body: %w", err)
			}
		}
		req = retry
	}
}

// copyBuffers recycles the 32 KiB buffers the reverse proxy copies bodies
// with; without a pool each request allocates one.
var copyBuffers = &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte  { return *p.pool.Get().(*[]byte) }
func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

// target picks the pod for a request: the session's pod, or the least
// loaded one for a request that starts a session or has none.
func (b *Relay) target(w http.ResponseWriter, r *http.Request, key string) (string, bool) {
	if key != "" {
		if addr, ok := b.pool.lookup(r.Context(), key); ok {
			return addr, true
		}
		if !b.static {
			wire.HTTPError(w, http.StatusNotFound, "session not found: its backend pod is gone; initialize a new session")
			return "", false
		}
	}
	addr, ok := b.pool.pick()
	if !ok {
		w.Header().Set("Retry-After", "1")
		wire.WriteRPCError(w, http.StatusServiceUnavailable, wire.CodeInternalError, "no backend pod is ready and answering MCP; retry shortly")
		return "", false
	}
	return addr, true
}

// checked is a POST that passed the request path: its body (re-encoded
// if a step rewrote a message), whether it starts a session, and the
// replies to its requests by id.
type checked struct {
	body    []byte
	starts  bool
	replies map[string]*pipeline.Reply
	// name, when set, replaces the request's Mcp-Name header.
	name string
}

// check reads a POST body (bounded), parses it and runs the request path
// over it; the answer is written when it fails.
func (b *Relay) check(w http.ResponseWriter, r *http.Request, session string) (checked, bool) {
	if r.Method != http.MethodPost {
		return checked{}, true
	}
	body, ok := wire.ReadBody(w, r, b.o.MaxBody)
	if !ok {
		return checked{}, false
	}
	msgs, batch, err := wire.Parse(body, b.o.MaxBatch)
	if err != nil {
		wire.WriteRPCError(w, http.StatusBadRequest, wire.CodeOf(err), err.Error())
		return checked{}, false
	}
	replies, changed, refused, ref := b.o.Path.CheckAll(r, session, msgs)
	if ref != nil {
		ref.Write(w, refused.ID)
		return checked{}, false
	}
	c := checked{body: body}
	for i, m := range msgs {
		c.starts = c.starts || (m.Method == "initialize" && m.IsRequest())
		if p := replies.Of(i); p != nil {
			if c.replies == nil {
				c.replies = map[string]*pipeline.Reply{}
			}
			c.replies[string(m.ID)] = p
		}
	}
	c.starts = c.starts && session == ""
	if changed {
		if c.body, err = encodeMessages(msgs, batch); err != nil {
			replies.FailAll("the proxy could not re-encode the request")
			wire.WriteRPCError(w, http.StatusInternalServerError, wire.CodeInternalError, "re-encode the request: "+err.Error())
			return checked{}, false
		}
		if !batch && r.Header.Get(wire.HeaderName) != "" {
			// The header repeats the body, which now names the server's
			// tool: the backend refuses the two disagreeing.
			c.name = wire.Target(msgs[0].Params)
		}
	}
	return c, true
}

func encodeMessages(msgs []*wire.Message, batch bool) ([]byte, error) {
	if !batch {
		return wire.Encode(msgs[0])
	}
	return json.Marshal(msgs)
}

// forward sends r, with body, to addr at path (with r's query).
func (b *Relay) forward(w http.ResponseWriter, r *http.Request, body []byte, rt route, path string) {
	defer b.pool.busy(rt.addr)()
	rt.answer = &answerWriter{ResponseWriter: w, holdHeaders: r.Method == http.MethodPost}
	out := r.Clone(context.WithValue(r.Context(), routeKey{}, rt))
	if body != nil {
		out.ContentLength = int64(len(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		out.Body, _ = out.GetBody()
	}
	out.URL.Scheme, out.URL.Host = b.scheme, rt.addr
	out.URL.Path, out.URL.RawPath = path, ""
	b.rp.ServeHTTP(rt.answer, out)
}

// serveStreamable relays the streamable HTTP endpoint. A request that
// starts a session takes a place under the proxy's session cap first.
func (b *Relay) serveStreamable(w http.ResponseWriter, r *http.Request) {
	session := r.Header.Get(wire.HeaderSessionID)
	c, ok := b.check(w, r, session)
	if !ok {
		return
	}
	// Whatever did not come back by the end of the exchange never will.
	defer failAll(c.replies, "the MCP server's answer did not come back")
	rt := route{session: session, place: &atomic.Bool{}, replies: c.replies, name: c.name}
	if c.starts {
		if !b.o.Sessions.Acquire() {
			w.Header().Set("Retry-After", "5")
			wire.HTTPError(w, http.StatusServiceUnavailable, fmt.Sprintf("the proxy holds its maximum of %d sessions and streams; retry shortly", b.o.Sessions.Max()))
			return
		}
		rt.place.Store(true)
		defer func() {
			if rt.place.CompareAndSwap(true, false) { // no session came of it
				b.o.Sessions.Release()
			}
		}()
	}
	if rt.addr, ok = b.target(w, r, session); !ok {
		return
	}
	b.forward(w, r, c.body, rt, b.path)
}

// remember binds a new session to the pod that created it, with the place
// its request took, and forgets a session that ended: by the client's
// DELETE, or by the server, which then answers 404 (it restarted, or timed
// the session out) and the client initializes again.
func (b *Relay) remember(resp *http.Response) error {
	rt, ok := resp.Request.Context().Value(routeKey{}).(route)
	if !ok {
		return nil
	}
	if len(rt.replies) > 0 {
		if err := rewriteResponse(resp, rewriteAnswers(rt.replies)); err != nil {
			return err
		}
	}
	if rt.answer != nil {
		resp.Body = endingBody{ReadCloser: resp.Body, ended: &rt.answer.ended}
	}
	ctx := resp.Request.Context()
	if id := resp.Header.Get(wire.HeaderSessionID); id != "" && rt.session == "" {
		b.pool.bind(ctx, id, rt.addr, rt.place != nil && rt.place.CompareAndSwap(true, false))
	}
	deleted := resp.Request.Method == http.MethodDelete && resp.StatusCode < 300
	if rt.session != "" && !b.sse && (deleted || resp.StatusCode == http.StatusNotFound) {
		b.pool.unbind(ctx, rt.session)
	}
	return nil
}

func (b *Relay) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	var netErr net.Error
	rt, _ := r.Context().Value(routeKey{}).(route)
	defer failAll(rt.replies, "the request to the MCP server failed: "+err.Error())
	switch {
	case errors.As(err, &tooBig):
		wire.WriteRPCError(w, http.StatusRequestEntityTooLarge, wire.CodeInvalidRequest, fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit))
	case errors.Is(err, context.Canceled):
		// The client went away; nobody to answer.
	case isDialError(err):
		// The pod is gone before the watcher said so: the session cannot
		// go on anywhere, so the client re-initializes at once.
		b.pool.unreachable(r.Context(), rt.addr, rt.session)
		b.o.Log.Warn("backend refused a connection", "backend", rt.addr, "error", err)
		if rt.session != "" && !b.static {
			wire.HTTPError(w, http.StatusNotFound, "session not found: its backend is unreachable; initialize a new session")
			return
		}
		w.Header().Set("Retry-After", "1")
		wire.WriteRPCError(w, http.StatusServiceUnavailable, wire.CodeInternalError, "the MCP server is unreachable: "+err.Error())
	case errors.As(err, &netErr) && netErr.Timeout():
		b.o.Log.Warn("backend did not answer in time", "backend", rt.addr, "responseTimeout", b.o.ResponseTimeout, "error", err)
		wire.WriteRPCError(w, http.StatusGatewayTimeout, wire.CodeRequestTimeout,
			fmt.Sprintf("the MCP server did not begin to answer within the proxy's response timeout (%s, --backend-response-timeout)", b.o.ResponseTimeout))
	case isBrokenConn(err) && rt.session == "":
		// The pod dropped the connection before it answered (it is going
		// away): a client starting a session retries, and new sessions avoid
		// the pod until the watch or probe catches up.
		b.pool.unreachable(r.Context(), rt.addr, "")
		b.o.Log.Warn("backend dropped the connection before it answered", "backend", rt.addr, "error", err)
		w.Header().Set("Retry-After", "1")
		wire.WriteRPCError(w, http.StatusServiceUnavailable, wire.CodeInternalError, "the MCP server dropped the connection: "+err.Error())
	default:
		b.o.Log.Warn("backend request failed", "backend", r.URL.Host, "path", r.URL.Path, "error", err)
		wire.WriteRPCError(w, http.StatusBadGateway, wire.CodeInternalError, "the MCP server is unreachable: "+err.Error())
	}
}

// maxRewrittenBody bounds a JSON answer the proxy reads whole to filter it.
const maxRewrittenBody = 64 << 20

// rewriteResponse passes the answers of resp through fn: a JSON body read
// whole, an event stream event by event.
func rewriteResponse(resp *http.Response, fn wire.AnswerRewrite) error {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch mt {
	case "text/event-stream":
		resp.Body = wire.RewriteEvents(resp.Body, fn)
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
	case "application/json":
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxRewrittenBody+1))
		_ = resp.Body.Close()
		if err != nil {
			return fmt.Errorf("read the answer to rewrite it: %w", err)
		}
		if len(body) > maxRewrittenBody {
			return fmt.Errorf("the answer exceeds %d bytes, the most the proxy filters", maxRewrittenBody)
		}
		body = wire.RewriteBody(body, fn)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	return nil
}

// isBrokenConn is a connection that ended before any answer came.
func isBrokenConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
