package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"
)

// httpBackend is an sse or streamable-http MCP server reached over HTTP.
// The proxy forwards requests as they are, streaming responses unbuffered;
// Mcp-Session-Id, MCP-Protocol-Version and Last-Event-ID pass through.
type httpBackend struct {
	target  *url.URL
	log     *slog.Logger
	maxBody int64
	rp      *httputil.ReverseProxy
	up      atomic.Bool
}

func newHTTPBackend(ctx context.Context, raw string, maxBody int64, log *slog.Logger) (*httpBackend, error) {
	target, err := url.Parse(raw)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return nil, fmt.Errorf("--backend-url %q is not an http(s) URL", raw)
	}
	b := &httpBackend{target: target, log: log, maxBody: maxBody}
	b.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = target.Scheme, target.Host
			pr.Out.Host = target.Host
		},
		FlushInterval: -1, // every write reaches the client at once (SSE)
		ErrorHandler:  b.proxyError,
		// net/http's default keeps 2 idle connections per host: under
		// concurrent clients the proxy would dial the backend per request.
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	go b.probe(ctx)
	return b, nil
}

// forward sends r to the backend at path (with r's query).
func (b *httpBackend) forward(w http.ResponseWriter, r *http.Request, path string) {
	r.Body = http.MaxBytesReader(w, r.Body, b.maxBody)
	out := r.Clone(r.Context())
	out.URL.Path, out.URL.RawPath = path, ""
	b.rp.ServeHTTP(w, out)
}

func (b *httpBackend) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeRPCError(w, http.StatusRequestEntityTooLarge, codeInvalidRequest, fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit))
	case errors.Is(err, context.Canceled):
		// The client went away; nobody to answer.
	default:
		b.log.Warn("backend request failed", "backend", b.target.Host, "path", r.URL.Path, "error", err)
		writeRPCError(w, http.StatusBadGateway, codeInternalError, "the MCP server is unreachable: "+err.Error())
	}
}

// probe keeps Attached current by dialling the backend every second.
func (b *httpBackend) probe(ctx context.Context) {
	host := b.target.Host
	if b.target.Port() == "" {
		host = net.JoinHostPort(b.target.Hostname(), map[string]string{"http": "80", "https": "443"}[b.target.Scheme])
	}
	d := net.Dialer{Timeout: time.Second}
	for {
		conn, err := d.DialContext(ctx, "tcp", host)
		if err == nil {
			_ = conn.Close()
		}
		if was := b.up.Swap(err == nil); was != (err == nil) {
			b.log.Info("backend reachability changed", "backend", host, "up", err == nil)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (b *httpBackend) Attached() bool { return b.up.Load() }
