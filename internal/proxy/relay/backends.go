package relay

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
)

// NewStatic relays to the backend, or the comma-separated backends, at raw
// (--backend-url). Each is dialled every second and only reachable ones
// take new sessions. One backend decides on sessions itself; with several,
// a session the table does not know is "not found", as with pods.
func NewStatic(ctx context.Context, raw string, o Options) (*Relay, error) {
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
	b := newRelay(scheme, path, strings.HasSuffix(path, "/sse"), len(hosts) == 1, o)
	b.dialAll(ctx, hosts) // the first round before serving: start with what is up
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
				b.dialAll(ctx, hosts)
			}
		}
	}()
	b.start(ctx)
	return b, nil
}

// NewService relays to the ready pods behind a headless Service, as its
// EndpointSlices list them, on port (or the slices' port named "http").
// transport is sse or streamable-http.
func NewService(ctx context.Context, client kubernetes.Interface, ns, service string, port int32, transport string, o Options) (*Relay, error) {
	path := "/mcp"
	if transport == "sse" {
		path = "/sse"
	}
	b := newRelay("http", path, transport == "sse", false, o)
	if err := watchEndpointSlices(ctx, client, ns, service, port, b.pool, o.Log); err != nil {
		return nil, err
	}
	b.start(ctx)
	return b, nil
}

// start runs the background work every relay has: forgetting idle
// sessions, and the MCP probe.
func (b *Relay) start(ctx context.Context) {
	go b.pool.expire(ctx, b.o.IdleTimeout, b.o.HandshakeTimeout)
	if b.o.ProbeInterval > 0 {
		b.probeAll(ctx) // before serving
		go func() {
			t := time.NewTicker(b.o.ProbeInterval)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					b.probeAll(ctx)
				}
			}
		}()
	}
}

// dialAll sets the pool to the hand-given backends that accept a connection.
func (b *Relay) dialAll(ctx context.Context, hosts []string) {
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
		b.o.Log.Info("reachable backends changed", "up", up, "gone", gone, "configured", hosts)
	}
}
