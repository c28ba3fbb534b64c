package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

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
	backend  lineBackend
	front    *streamable
	metrics  *metrics
	draining atomic.Bool
	drainCh  chan struct{}
	listener net.Listener
	http     *http.Server
}

// New starts the backend and prepares the HTTP server; Serve runs it.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Transport != "stdio" {
		return nil, fmt.Errorf("--transport=%s: only stdio backends are supported by this build", o.Transport)
	}
	backend, err := newProcessBackend(ctx, o.BackendCommand, o.Log)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, backend: backend, drainCh: make(chan struct{})}
	s.metrics = newMetrics(func() float64 {
		if backend.Attached() {
			return 1
		}
		return 0
	})
	s.front = &streamable{
		mux: newMux(ctx, backend, o.Log), log: o.Log, maxBody: o.MaxBodyBytes, maxSessions: o.MaxSessions,
		idleTimeout: o.SessionIdleTimeout, draining: s.draining.Load, metrics: s.metrics,
		sessions: map[string]*httpSession{}, drain: s.drainCh,
	}
	go s.front.expireIdle(ctx)

	mux := http.NewServeMux()
	mux.Handle("/mcp", s.metrics.instrument("/mcp", s.front))
	mux.HandleFunc(proxyconfig.HealthPath, s.health)
	mux.HandleFunc(proxyconfig.LivePath, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.Handle(proxyconfig.MetricsPath, s.metrics.handler())
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	addr := net.JoinHostPort(o.BindAddress, fmt.Sprint(o.Port))
	if s.listener, err = net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s, nil
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
	s.opts.Log.Info("draining", "timeout", s.opts.DrainTimeout, "sessions", s.front.mux.sessionCount(), "inflight", s.front.inflight.Load())
	s.draining.Store(true)
	close(s.drainCh)
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.DrainTimeout)
	defer cancel()
	// Keep listening (health answers 503) while calls are in flight.
	for s.front.inflight.Load() > 0 && shutdown.Err() == nil {
		select {
		case <-shutdown.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	if n := s.front.inflight.Load(); n > 0 {
		s.opts.Log.Warn("drain timeout passed with calls still open; closing them", "inflight", n)
	}
	// Nothing is in flight: give requests that just arrived a moment, but do
	// not wait out connections that were dialled and never used (net/http
	// counts those as active for 5 s).
	last, cancelLast := context.WithTimeout(shutdown, time.Second)
	defer cancelLast()
	err := s.http.Shutdown(last)
	s.front.closeAll(shutdown)
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
}

// health is the readiness probe: 503 while the backend is unreachable or
// the proxy drains, so a Ready proxy pod means the whole chain works.
func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	rep := healthReport{Status: "healthy", Backend: "attached", Transport: s.opts.Transport,
		Sessions: s.front.mux.sessionCount(), Draining: s.draining.Load()}
	code := http.StatusOK
	if !s.backend.Attached() {
		rep.Status, rep.Backend, code = "unhealthy", "detached", http.StatusServiceUnavailable
	}
	if rep.Draining {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(rep)
}
