// Package proxy carries MCP clients to an MCP server: the server itself
// (listener, health, metrics, drain, guards) around one request path from
// the client front ends to the backend: a shared stdio server (package
// stdio) or HTTP backend pods (package relay), speaking the wire format of
// package wire, through the steps of package pipeline.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/switchboard-mcp/switchboard/internal/proxy/audit"
	"github.com/switchboard-mcp/switchboard/internal/proxy/authn"
	"github.com/switchboard-mcp/switchboard/internal/proxy/gate"
	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/ratelimit"
	"github.com/switchboard-mcp/switchboard/internal/proxy/redisconn"
	"github.com/switchboard-mcp/switchboard/internal/proxy/relay"
	"github.com/switchboard-mcp/switchboard/internal/proxy/stdio"
	"github.com/switchboard-mcp/switchboard/internal/proxy/telemetry"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// Options configure a proxy: its flags (Config, and Local for a proxy run
// by hand) plus what only tests set.
type Options struct {
	proxyconfig.Config
	proxyconfig.Local
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
	// AuditOut receives the audit events (default: standard output, the
	// container's log stream).
	AuditOut io.Writer
	Log      *slog.Logger
}

// Server is a running proxy.
type Server struct {
	opts     Options
	sessions *pipeline.Sessions
	stats    *stdio.Stats
	store    relay.Store // nil on the stdio path, which keeps no routing table
	// redis is the client of --redis-address, shared by the session store
	// and the rate limiter; nil without an address.
	redis    *redis.Client
	attached func() bool
	// described is what the MCP server said of itself, or why the proxy
	// does not know ("" with nil: it does not check).
	described func() (*wire.Description, string)
	inflight  func() int64
	closeAll  func()
	// endStreams ends the GET streams an HTTP backend relays (stdio
	// sessions end theirs on drain).
	endStreams func()
	metrics    *metrics
	// telemetry exports traces and metrics (Prometheus always, OTLP when
	// configured); audit writes the audit events, nil when off.
	telemetry *telemetry.Telemetry
	audit     *audit.Auditor
	// gate enforces the access document; nil when the server has none.
	gate     *gate.Gate
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
	o.Limits = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := o.RateLimit.Validate(); err != nil {
		return nil, err
	}
	if o.RateLimit != nil && o.RedisAddress == "" {
		return nil, errors.New("--rate-limit needs --redis-address: the buckets live in Redis, shared by every replica")
	}
	s := &Server{opts: o, drainCh: make(chan struct{}), sessions: pipeline.NewSessions(o.MaxSessions), stats: &stdio.Stats{}}
	s.metrics = newMetrics(s)
	if o.RedisAddress != "" {
		var err error
		if s.redis, err = redisconn.New(o.Config, o.Log); err != nil {
			return nil, err
		}
	}
	observe, err := s.startObserving(ctx)
	if err != nil {
		return nil, err
	}
	// Steps that watch how requests end (audit, traces) come before the
	// ones that may refuse them: a refusal is told to the steps before it.
	steps := append([]pipeline.Step{pipeline.Limits()}, observe...)
	if s.gate, err = s.startGate(ctx); err != nil {
		s.stopObserving(ctx)
		return nil, err
	}
	if s.gate != nil {
		steps = append(steps, s.gate.Step())
	}
	if o.RateLimit != nil {
		// After the gate: per-user buckets need the authenticated caller.
		limiter := ratelimit.New(s.redis, o.RateLimit, o.RedisKeyPrefix, o.Server, o.Log)
		steps = append(steps, limiter.Step(ratelimit.NewMetrics(s.metrics.registry)))
	}
	path := pipeline.New(steps...)
	mux := http.NewServeMux()
	switch o.Transport {
	case proxyconfig.TransportStdio:
		err = s.routeStdio(ctx, mux, path)
	case proxyconfig.TransportStreamableHTTP, proxyconfig.TransportSSE:
		err = s.routeHTTP(ctx, mux, path)
	default:
		err = fmt.Errorf("--transport=%q: use stdio, sse or streamable-http", o.Transport)
	}
	if err != nil {
		s.stopObserving(ctx)
		return nil, err
	}
	// Probes and metrics answer any Host and Origin; MCP endpoints guard
	// against DNS rebinding and cross-origin browsers.
	top := http.NewServeMux()
	var mcp http.Handler = mux
	if s.gate != nil {
		mcp = s.gate.Handler(mux)
		top.Handle(authn.MetadataPath, s.gate.Metadata())
		top.Handle(authn.MetadataPath+"/", s.gate.Metadata())
	}
	top.Handle("/", s.observed(guard(mcp, o.AllowedOrigins)))
	top.HandleFunc(proxyconfig.HealthPath, s.health)
	top.HandleFunc(proxyconfig.LivePath, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	top.Handle(proxyconfig.MetricsPath, s.metrics.handler())
	// Slow clients: headers within 10 s, a whole request within the read
	// timeout (spec.proxyReadTimeout, 30 s by default).
	// No write timeout on the server: response streams are long-lived by
	// design; each event write has its own deadline instead.
	s.http = &http.Server{Handler: s.closing(top), ReadHeaderTimeout: min(10*time.Second, o.ReadTimeout), ReadTimeout: o.ReadTimeout, IdleTimeout: 2 * time.Minute}

	addr := net.JoinHostPort(o.BindAddress, fmt.Sprint(o.Port))
	if s.listener, err = net.Listen("tcp", addr); err != nil {
		s.stopObserving(ctx)
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s, nil
}

// closing says "Connection: close" on every answer while draining: clients
// reconnect, and a Service sends the new connection to a ready pod, instead
// of reusing one that Shutdown may close under their next request.
// (SetKeepAlivesEnabled(false) would instead close idle connections at
// once, racing requests already on their way.)
func (s *Server) closing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// routeStdio serves both client transports from one shared stdio server.
func (s *Server) routeStdio(ctx context.Context, mux *http.ServeMux, path *pipeline.Path) error {
	o := s.opts
	var backend stdio.Backend
	var err error
	switch {
	case len(o.BackendCommand) > 0:
		backend, err = stdio.NewProcess(ctx, o.BackendCommand, o.StdinTimeout, s.stats, o.Log)
	case o.BackendSelector != "":
		backend, err = s.podBackend(ctx)
	default:
		err = errors.New("a stdio backend needs --backend-command (local) or --backend-selector (in Kubernetes)")
	}
	if err != nil {
		return err
	}
	ping := o.PingInterval
	if ping < 0 {
		ping = 0
	}
	front := stdio.NewFrontend(ctx, backend, stdio.Options{
		MuxOptions: stdio.MuxOptions{MaxInflight: o.MaxInflight, CallTimeout: o.CallTimeout,
			PingInterval: ping, PingTimeout: o.PingTimeout, Stats: s.stats, Log: o.Log, Describe: true},
		Path: path, Sessions: s.sessions, MaxBody: o.MaxBodyBytes, MaxBatch: o.MaxBatch,
		IdleTimeout: o.SessionIdleTimeout, HandshakeTimeout: o.HandshakeTimeout, WriteTimeout: o.ClientWriteTimeout,
		Prefix: o.EndpointPrefix, TrustProxy: o.TrustProxyHeaders, Drain: s.drainCh, Draining: s.draining.Load,
	})
	mux.Handle("/mcp", s.metrics.instrument("/mcp", front.Streamable()))
	mux.Handle("/sse", s.metrics.instrument("/sse", front.SSE()))
	mux.Handle("/messages", s.metrics.instrument("/messages", front.Messages()))
	s.attached, s.inflight, s.closeAll, s.described = front.Attached, front.Inflight, front.CloseAll, front.Described
	return nil
}

// routeHTTP relays an sse or streamable-http server.
func (s *Server) routeHTTP(ctx context.Context, mux *http.ServeMux, path *pipeline.Path) error {
	o := s.opts
	s.store = relay.NewMemoryStore(o.SessionIdleTimeout)
	if o.SessionStorage == proxyconfig.StorageRedis {
		if o.RedisAddress == "" {
			return errors.New("--session-storage=redis needs --redis-address")
		}
		s.store = relay.NewRedisStore(s.redis, o.RedisKeyPrefix, o.SessionIdleTimeout, o.Log)
	}
	probe := o.ProbeInterval
	if probe < 0 {
		probe = 0
	}
	ro := relay.Options{Store: s.store, Dial: o.Dial, MaxBody: o.MaxBodyBytes, MaxBatch: o.MaxBatch, Path: path,
		Sessions: s.sessions, ResponseTimeout: o.BackendResponseTimeout, IdleTimeout: o.SessionIdleTimeout, HandshakeTimeout: o.HandshakeTimeout, ProbeInterval: probe,
		Prefix: o.EndpointPrefix, TrustProxy: o.TrustProxyHeaders, WrapTransport: s.telemetry.Transport, Log: o.Log,
		// A token the proxy checked is its own business; without a gate
		// the backend may check it itself.
		KeepAuthorization: s.gate == nil}
	var backend *relay.Relay
	var err error
	if o.BackendURL != "" {
		backend, err = relay.NewStatic(ctx, o.BackendURL, ro)
	} else {
		backend, err = s.serviceBackend(ctx, ro)
	}
	if err != nil {
		return err
	}
	// Calls in flight are what a drain waits for; GET streams live as long
	// as their session, so the drain ends them (cleanly) once calls are done.
	var active atomic.Int64
	streams, endStreams := context.WithCancel(context.Background())
	counted := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				ctx, cancel := context.WithCancel(r.Context())
				defer cancel()
				defer context.AfterFunc(streams, cancel)()
				h.ServeHTTP(w, r.WithContext(ctx))
				return
			}
			active.Add(1)
			defer active.Add(-1)
			h.ServeHTTP(w, r)
		})
	}
	if o.Transport == proxyconfig.TransportStreamableHTTP {
		mux.Handle("/mcp", s.metrics.instrument("/mcp", counted(backend.Streamable())))
	} else {
		mux.Handle("/sse", s.metrics.instrument("/sse", counted(backend.SSE())))
		mux.Handle("/messages", s.metrics.instrument("/messages", counted(backend.Messages())))
	}
	s.attached, s.closeAll, s.described = backend.Attached, func() {}, backend.Described
	s.endStreams = endStreams
	s.inflight = active.Load
	return nil
}

// startGate loads the access document (--access-configmap in Kubernetes,
// --access-file by hand) and keeps it current; nil when there is none.
func (s *Server) startGate(ctx context.Context) (*gate.Gate, error) {
	o := s.opts
	if o.AccessConfigMap == "" && o.AccessFile == "" {
		return nil, nil
	}
	cfg := o.KubeConfig
	var client kubernetes.Interface
	if o.AccessConfigMap != "" {
		var err error
		if cfg, client, err = kubeClient(o.KubeConfig); err != nil {
			return nil, err
		}
	}
	g := gate.New(o.Server, authn.Options{
		KubeConfig:   cfg,
		ClientSecret: os.Getenv(proxyconfig.EnvOIDCClientSecret),
		ExternalURL:  func(r *http.Request) string { return externalURL(r, o.EndpointPrefix, o.TrustProxyHeaders) },
		Log:          o.Log,
	}, o.Log)
	if o.AccessFile != "" {
		g.WatchFile(ctx, o.AccessFile, time.Second)
	} else {
		g.WatchConfigMap(ctx, client, namespace(o.Namespace), o.AccessConfigMap)
	}
	return g, nil
}

// externalURL is the proxy's base URL as the client sees it:
// scheme://host[/prefix], from X-Forwarded-* when they are trusted.
func externalURL(r *http.Request, prefix string, trustProxy bool) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if trustProxy {
		if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
			scheme = p
		}
		if h := r.Header.Get("X-Forwarded-Host"); h != "" {
			host = h
		}
	}
	return scheme + "://" + host + wire.Advertise(r, prefix, trustProxy, "")
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
	s.opts.Log.Info("draining", "timeout", s.opts.DrainTimeout, "sessions", s.sessions.Count(), "inflight", s.inflight())
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
	s.closeAll()
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.http.Close()
	}
	s.stopObserving(ctx)
	if s.redis != nil {
		_ = s.redis.Close()
	}
	return err
}

func (s *Server) storageDegraded() bool { return s.store != nil && s.store.Degraded() }

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
