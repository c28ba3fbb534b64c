package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// Options configure a proxy: what the operator passes (Config) plus what
// only matters when the proxy runs by hand or in tests.
type Options struct {
	proxyconfig.Config
	// BindAddress is the interface to listen on; empty means all.
	BindAddress string
	// BackendCommand runs a local stdio MCP server (instead of a pod).
	BackendCommand []string
	// BackendURL is a local sse or streamable-http MCP server's endpoint
	// (instead of pods), e.g. http://127.0.0.1:3001/mcp, or several
	// comma-separated endpoints that new sessions are spread over.
	BackendURL string
	// Namespace of the backend pods (default: $POD_NAMESPACE).
	Namespace string
	// KubeConfig reaches the API server (default: in-cluster, then $KUBECONFIG).
	KubeConfig *rest.Config
	// Dial connects to backends (default: net.Dialer). Tests use it to reach
	// the pod IPs of an EndpointSlice on loopback addresses.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Attach opens a stdio stream to a backend pod (default: the Kubernetes
	// attach API). Tests replace it where no kubelet runs.
	Attach func(ctx context.Context, pod *corev1.Pod) (stdin io.WriteCloser, stdout io.ReadCloser, err error)
	// MaxBodyBytes bounds one POST body.
	MaxBodyBytes int64
	// MaxSessions bounds the open sessions of this proxy.
	MaxSessions int
	// SessionIdleTimeout ends sessions that send nothing for this long.
	SessionIdleTimeout time.Duration
	Log                *slog.Logger
}

// Server is a running proxy.
type Server struct {
	opts     Options
	store    sessionStore
	attached func() bool
	sessions func() int
	inflight func() int64
	closeAll func(context.Context)
	// endStreams ends the GET streams an HTTP backend relays (stdio
	// sessions end theirs on drain).
	endStreams func()
	metrics    *metrics
	draining   atomic.Bool
	drainCh    chan struct{}
	listener   net.Listener
	http       *http.Server
}

// New starts the backend and prepares the HTTP server; Serve runs it.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	s := &Server{opts: o, drainCh: make(chan struct{}), store: newMemoryStore(o.SessionIdleTimeout)}
	if o.SessionStorage == "redis" {
		if o.RedisAddress == "" {
			return nil, errors.New("--session-storage=redis needs --redis-address")
		}
		s.store = newRedisStore(o.RedisAddress, os.Getenv(proxyconfig.EnvRedisPassword), int(o.RedisDB),
			o.RedisKeyPrefix, o.SessionIdleTimeout, o.Log)
	}
	s.metrics = newMetrics(func() float64 { return boolGauge(s.attached()) }, func() float64 { return boolGauge(!s.storageDegraded()) })
	mux := http.NewServeMux()
	var err error
	switch o.Transport {
	case "stdio":
		err = s.routeStdio(ctx, mux)
	case "streamable-http", "sse":
		err = s.routeHTTP(ctx, mux)
	default:
		err = fmt.Errorf("--transport=%q: use stdio, sse or streamable-http", o.Transport)
	}
	if err != nil {
		return nil, err
	}
	// Probes and metrics answer any Host; MCP endpoints guard against DNS
	// rebinding.
	top := http.NewServeMux()
	top.Handle("/", localOnly(mux))
	mux = top
	// While draining, every answer says "Connection: close": clients
	// reconnect, and a Service sends the new connection to a ready pod,
	// instead of reusing one that Shutdown may close under their next
	// request. (SetKeepAlivesEnabled(false) would instead close idle
	// connections at once, racing requests already on their way.)
	closing := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s.draining.Load() {
				w.Header().Set("Connection", "close")
			}
			next.ServeHTTP(w, r)
		})
	}
	mux.HandleFunc(proxyconfig.HealthPath, s.health)
	mux.HandleFunc(proxyconfig.LivePath, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle(proxyconfig.MetricsPath, s.metrics.handler())
	// Slow clients: headers within 10 s, a whole request body within 60 s.
	// No write timeout: response streams are long-lived by design.
	s.http = &http.Server{Handler: closing(mux), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}

	addr := net.JoinHostPort(o.BindAddress, fmt.Sprint(o.Port))
	if s.listener, err = net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s, nil
}

// routeStdio serves both client transports from one shared stdio server.
func (s *Server) routeStdio(ctx context.Context, mux *http.ServeMux) error {
	o := s.opts
	var backend lineBackend
	var err error
	switch {
	case len(o.BackendCommand) > 0:
		backend, err = newProcessBackend(ctx, o.BackendCommand, o.Log)
	case o.BackendSelector != "":
		backend, err = s.podBackend(ctx)
	default:
		err = errors.New("a stdio backend needs --backend-command (local) or --backend-selector (in Kubernetes)")
	}
	if err != nil {
		return err
	}
	m := newMux(ctx, backend, o.Log)
	front := &streamable{
		mux: m, log: o.Log, maxBody: o.MaxBodyBytes, maxSessions: o.MaxSessions,
		idleTimeout: o.SessionIdleTimeout, draining: s.draining.Load, metrics: s.metrics,
		sessions: map[string]*httpSession{}, drain: s.drainCh,
	}
	go front.expireIdle(ctx)
	legacy := &legacySSE{mux: m, prefix: o.EndpointPrefix, trustProxy: o.TrustProxyHeaders, maxBody: o.MaxBodyBytes,
		drain: s.drainCh, draining: s.draining.Load, sessions: map[string]*clientSession{}}
	mux.Handle("/mcp", s.metrics.instrument("/mcp", front))
	mux.Handle("/sse", s.metrics.instrument("/sse", http.HandlerFunc(legacy.stream)))
	mux.Handle("/messages", s.metrics.instrument("/messages", http.HandlerFunc(legacy.messages)))
	s.attached, s.sessions, s.closeAll = backend.Attached, m.sessionCount, front.closeAll
	s.inflight = front.inflight.Load
	return nil
}

// routeHTTP relays an sse or streamable-http server.
func (s *Server) routeHTTP(ctx context.Context, mux *http.ServeMux) error {
	o := s.opts
	backend, err := s.httpBackend(ctx)
	if err != nil {
		return err
	}
	// Calls in flight are what a drain waits for; GET streams live as long
	// as their session, so the drain ends them (cleanly) once calls are done.
	var active atomic.Int64
	streams, endStreams := context.WithCancel(context.Background())
	counted := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				ctx, cancel := context.WithCancel(r.Context())
				defer cancel()
				defer context.AfterFunc(streams, cancel)()
				h(w, r.WithContext(ctx))
				return
			}
			active.Add(1)
			defer active.Add(-1)
			h(w, r)
		}
	}
	if o.Transport == "streamable-http" {
		mux.Handle("/mcp", s.metrics.instrument("/mcp", counted(backend.serveStreamable)))
	} else {
		sse := &ssePassthrough{backend: backend, prefix: o.EndpointPrefix, trustProxy: o.TrustProxyHeaders, paths: map[string]string{}}
		mux.Handle("/sse", s.metrics.instrument("/sse", counted(sse.stream)))
		mux.Handle("/messages", s.metrics.instrument("/messages", counted(sse.messages)))
	}
	s.attached, s.sessions, s.closeAll = backend.Attached, func() int { return 0 }, func(context.Context) {}
	s.endStreams = endStreams
	s.inflight = active.Load
	return nil
}

// Addr is the address the proxy listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Serve serves until ctx ends, then drains: readiness turns off and no new
// session starts, standalone streams end, requests in flight may finish
// within the drain timeout, then every session is closed.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.listener) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.opts.Log.Info("draining", "timeout", s.opts.DrainTimeout, "sessions", s.sessions(), "inflight", s.inflight())
	s.draining.Store(true)
	close(s.drainCh)
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.DrainTimeout)
	defer cancel()
	// Keep serving with readiness off for the drain delay, while Services
	// stop routing here, and then while calls are in flight.
	delay := time.NewTimer(min(s.opts.DrainDelay, s.opts.DrainTimeout))
	select {
	case <-delay.C:
	case <-shutdown.Done():
	}
	for s.inflight() > 0 && shutdown.Err() == nil {
		select {
		case <-shutdown.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	if n := s.inflight(); n > 0 {
		s.opts.Log.Warn("drain timeout passed with calls still open; closing them", "inflight", n)
	}
	// Nothing is in flight: give requests that just arrived a moment, but do
	// not wait out connections that were dialled and never used (net/http
	// counts those as active for 5 s).
	last, cancelLast := context.WithTimeout(shutdown, time.Second)
	defer cancelLast()
	if s.endStreams != nil {
		s.endStreams()
	}
	err := s.http.Shutdown(last)
	s.closeAll(shutdown)
	if errors.Is(err, context.DeadlineExceeded) {
		return s.http.Close()
	}
	return err
}

type healthReport struct {
	Status    string `json:"status"`
	Backend   string `json:"backend"`
	Transport string `json:"transport"`
	Sessions  int    `json:"sessions"`
	Draining  bool   `json:"draining,omitempty"`
	// SessionStorage is "ok", or what is wrong with the shared store.
	SessionStorage string `json:"sessionStorage"`
}

// health is the readiness probe: 503 while the backend is unreachable or
// the proxy drains, so a Ready proxy pod means the whole chain works.
func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	rep := healthReport{Status: "healthy", Backend: "attached", Transport: s.opts.Transport,
		Sessions: s.sessions(), Draining: s.draining.Load(), SessionStorage: "ok"}
	code := http.StatusOK
	if s.storageDegraded() {
		// Still serving the sessions it can route: not a reason to leave
		// the Service, but worth a look.
		rep.Status, rep.SessionStorage = "degraded", "redis unreachable"
	}
	if !s.attached() {
		rep.Status, rep.Backend, code = "unhealthy", "detached", http.StatusServiceUnavailable
	}
	if rep.Draining {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(rep)
}

func (s *Server) storageDegraded() bool {
	rs, ok := s.store.(*redisStore)
	return ok && rs.degraded.Load()
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
