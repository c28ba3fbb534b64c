package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// httpBackend is an sse or streamable-http MCP server reached over HTTP: one
// URL given by hand, or the ready pods of a headless Service. Requests pass
// as they are, responses stream unbuffered; Mcp-Session-Id,
// MCP-Protocol-Version and Last-Event-ID pass through, and each session
// stays on the pod that created it.
type httpBackend struct {
	scheme  string
	path    string // the backend's MCP endpoint path
	pool    *pool
	static  bool // one URL given by hand: the backend itself decides on sessions
	log     *slog.Logger
	maxBody int64
	rp      *httputil.ReverseProxy
}

type routeKey struct{}

// route is what ModifyResponse needs to know about a request.
type route struct {
	addr    string
	session string // the client's Mcp-Session-Id, if any
}

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

func newHTTPBackend(scheme, path string, p *pool, static bool, dial dialFunc, maxBody int64, log *slog.Logger) *httpBackend {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	b := &httpBackend{scheme: scheme, path: path, pool: p, static: static, log: log, maxBody: maxBody}
	b.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = pr.In.URL.Scheme, pr.In.URL.Host
			pr.Out.Host = pr.In.URL.Host
		},
		ModifyResponse: b.remember,
		FlushInterval:  -1, // every write reaches the client at once (SSE)
		BufferPool:     copyBuffers,
		ErrorHandler:   b.proxyError,
		// net/http's default keeps 2 idle connections per host: under
		// concurrent clients the proxy would dial the backend per request.
		Transport: failover{pool: p, log: log, next: &http.Transport{
			DialContext:         dial,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     90 * time.Second,
		}},
	}
	return b
}

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

// staticHTTPBackend is the backend, or the comma-separated backends, at
// raw (--backend-url). Each is probed every second and only reachable ones
// take new sessions. One backend decides on sessions itself; with several,
// a session the table does not know is "not found", as with pods.
func staticHTTPBackend(ctx context.Context, raw string, store sessionStore, dial dialFunc, maxBody int64, log *slog.Logger) (*httpBackend, error) {
	var scheme, path string
	var hosts []string
	for i, one := range strings.Split(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(one))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--backend-url %q is not an http(s) URL", one)
		}
		if i > 0 && (u.Scheme != scheme || u.Path != path) {
			return nil, fmt.Errorf("--backend-url: every backend needs the same scheme and path (%s://…%s), got %q", scheme, path, one)
		}
		scheme, path = u.Scheme, u.Path
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
		}
		hosts = append(hosts, host)
	}
	b := newHTTPBackend(scheme, path, newPool(store), len(hosts) == 1, dial, maxBody, log)
	b.probe(ctx, hosts) // the first round before serving: start with what is up
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
				b.probe(ctx, hosts)
			}
		}
	}()
	return b, nil
}

// target picks the pod for a request: the session's pod, or the least
// loaded one for a request that starts a session or has none.
func (b *httpBackend) target(w http.ResponseWriter, r *http.Request, key string) (string, bool) {
	if key != "" {
		if addr, ok := b.pool.lookup(r.Context(), key); ok {
			return addr, true
		}
		if !b.static {
			httpError(w, http.StatusNotFound, "session not found: its backend pod is gone; initialize a new session")
			return "", false
		}
	}
	addr, ok := b.pool.pick()
	if !ok {
		w.Header().Set("Retry-After", "1")
		writeRPCError(w, http.StatusServiceUnavailable, codeInternalError, "no backend pod is ready; retry shortly")
		return "", false
	}
	return addr, true
}

// forward sends r to addr at path (with r's query). A request of no
// session is read first, so that failover can send it again.
func (b *httpBackend) forward(w http.ResponseWriter, r *http.Request, addr, path, session string) {
	defer b.pool.busy(addr)()
	r.Body = http.MaxBytesReader(w, r.Body, b.maxBody)
	out := r.Clone(context.WithValue(r.Context(), routeKey{}, route{addr: addr, session: session}))
	if session == "" && r.ContentLength != 0 {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			b.proxyError(w, out, err)
			return
		}
		out.ContentLength = int64(len(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		out.Body, _ = out.GetBody()
	}
	out.URL.Scheme, out.URL.Host = b.scheme, addr
	out.URL.Path, out.URL.RawPath = path, ""
	b.rp.ServeHTTP(w, out)
}

// serveStreamable relays the streamable HTTP endpoint.
func (b *httpBackend) serveStreamable(w http.ResponseWriter, r *http.Request) {
	session := r.Header.Get(headerSessionID)
	addr, ok := b.target(w, r, session)
	if !ok {
		return
	}
	b.forward(w, r, addr, b.path, session)
}

// remember binds a new session to the pod that created it, and forgets a
// session the client ended.
func (b *httpBackend) remember(resp *http.Response) error {
	rt, ok := resp.Request.Context().Value(routeKey{}).(route)
	if !ok {
		return nil
	}
	ctx := resp.Request.Context()
	if id := resp.Header.Get(headerSessionID); id != "" && rt.session == "" {
		b.pool.bind(ctx, id, rt.addr)
	}
	if resp.Request.Method == http.MethodDelete && resp.StatusCode < 300 && rt.session != "" {
		b.pool.unbind(ctx, rt.session)
	}
	return nil
}

func (b *httpBackend) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeRPCError(w, http.StatusRequestEntityTooLarge, codeInvalidRequest, fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit))
	case errors.Is(err, context.Canceled):
		// The client went away; nobody to answer.
	case isDialError(err):
		// The pod is gone before the watcher said so: the session cannot
		// go on anywhere, so the client re-initializes at once.
		rt, _ := r.Context().Value(routeKey{}).(route)
		b.pool.unreachable(r.Context(), rt.addr, rt.session)
		b.log.Warn("backend refused a connection", "backend", rt.addr, "error", err)
		if rt.session != "" && !b.static {
			httpError(w, http.StatusNotFound, "session not found: its backend is unreachable; initialize a new session")
			return
		}
		w.Header().Set("Retry-After", "1")
		writeRPCError(w, http.StatusServiceUnavailable, codeInternalError, "the MCP server is unreachable: "+err.Error())
	case isBrokenConn(err) && !hasSession(r):
		// The pod dropped the connection before it answered (it is going
		// away): a client starting a session retries, and new sessions avoid
		// the pod until the watch or probe catches up.
		rt, _ := r.Context().Value(routeKey{}).(route)
		b.pool.unreachable(r.Context(), rt.addr, "")
		b.log.Warn("backend dropped the connection before it answered", "backend", rt.addr, "error", err)
		w.Header().Set("Retry-After", "1")
		writeRPCError(w, http.StatusServiceUnavailable, codeInternalError, "the MCP server dropped the connection: "+err.Error())
	default:
		b.log.Warn("backend request failed", "backend", r.URL.Host, "path", r.URL.Path, "error", err)
		writeRPCError(w, http.StatusBadGateway, codeInternalError, "the MCP server is unreachable: "+err.Error())
	}
}

// probe sets the pool to the hand-given backends that accept a connection.
func (b *httpBackend) probe(ctx context.Context, hosts []string) {
	d := net.Dialer{Timeout: time.Second}
	up := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if conn, err := d.DialContext(ctx, "tcp", h); err == nil {
			_ = conn.Close()
			up = append(up, h)
		}
	}
	before := b.pool.size()
	if gone := b.pool.set(up); len(gone) > 0 || len(up) != before {
		b.log.Info("reachable backends changed", "up", up, "gone", gone, "configured", hosts)
	}
}

// Attached reports whether requests can reach a backend now.
func (b *httpBackend) Attached() bool { return b.pool.size() > 0 }

// isBrokenConn is a connection that ended before any answer came.
func isBrokenConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

func hasSession(r *http.Request) bool {
	rt, _ := r.Context().Value(routeKey{}).(route)
	return rt.session != ""
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
