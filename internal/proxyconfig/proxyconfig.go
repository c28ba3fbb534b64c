// Package proxyconfig is the contract between the operator and the proxy: the
// operator renders a Config into the proxy container's arguments and the
// proxy parses them back with the same flag names.
package proxyconfig

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Environment variables the operator sets on the proxy container.
const (
	// EnvNamespace carries the pod's namespace (downward API).
	EnvNamespace = "POD_NAMESPACE"
	// EnvRedisPassword carries the Redis password (secretKeyRef); never a flag,
	// so it does not show in the pod spec or in ps.
	EnvRedisPassword = "SWITCHBOARD_REDIS_PASSWORD"
)

// Paths the proxy serves besides the MCP endpoints.
const (
	// HealthPath answers {"status":"healthy|degraded|unhealthy"}; 503 when
	// unhealthy or draining, which makes it the readiness probe.
	HealthPath = "/health"
	// LivePath answers 200 while the process serves HTTP (liveness probe).
	LivePath = "/livez"
	// MetricsPath serves Prometheus metrics.
	MetricsPath = "/metrics"
)

// Transports a backend speaks (Config.Transport), and ProxyMode values.
const (
	TransportStdio          = "stdio"
	TransportSSE            = "sse"
	TransportStreamableHTTP = "streamable-http"
)

// Session storage providers (Config.SessionStorage).
const (
	StorageMemory = "memory"
	StorageRedis  = "redis"
)

// AnnounceCommand is the proxy's subcommand that logs its arguments and
// exits: the operator's init container in a backend pod says with it where
// the proxy is (AnnounceArgs).
const AnnounceCommand = "announce"

// AnnounceArgs are the proxy arguments that log message and exit.
func AnnounceArgs(message string) []string { return []string{AnnounceCommand, message} }

// Config is everything the proxy needs to know about the server it fronts,
// and the limits it keeps.
type Config struct {
	// Server is the MCPServer's name.
	Server string
	// BindAddress is the interface the proxy listens on: loopback unless
	// told otherwise (the operator tells it 0.0.0.0 in a pod).
	BindAddress string
	// Port the proxy listens on.
	Port int32
	// Transport the backend speaks: stdio, sse or streamable-http.
	Transport string
	// ProxyMode is what clients speak to the proxy: streamable-http or sse.
	ProxyMode string
	// BackendPort is the backend pods' MCP port (sse / streamable-http).
	BackendPort int32
	// BackendSelector is the label selector of the backend pods.
	BackendSelector string
	// BackendService is the headless Service whose EndpointSlices list the
	// backend pods (sse / streamable-http); empty for stdio.
	BackendService string
	// EndpointPrefix is added to the endpoints the proxy advertises.
	EndpointPrefix string
	// TrustProxyHeaders honours X-Forwarded-* when advertising endpoints.
	TrustProxyHeaders bool
	// SessionStorage is memory or redis.
	SessionStorage string
	// RedisAddress, RedisDB and RedisKeyPrefix configure redis storage.
	RedisAddress   string
	RedisDB        int32
	RedisKeyPrefix string
	// RedisTLS is how Redis is reached over TLS.
	RedisTLS RedisTLS
	// RateLimit bounds the tool calls clients make (in Redis, so
	// RedisAddress is needed); nil: no limit.
	RateLimit *RateLimit
	// DrainTimeout bounds how long in-flight requests may finish after SIGTERM.
	DrainTimeout time.Duration
	// DrainDelay is how long the proxy keeps serving after SIGTERM with its
	// readiness off, while Services stop sending it traffic.
	DrainDelay time.Duration
	// AllowedOrigins are the browser origins (scheme://host[:port]) that may
	// call the MCP endpoints besides the proxy's own; requests without an
	// Origin header are always allowed.
	AllowedOrigins []string
	// AccessConfigMap names the ConfigMap in the proxy's namespace whose
	// AccessKey holds the Access document; the proxy watches it. Empty: no
	// authentication, authorization or curation.
	AccessConfigMap string
	// Audit and Telemetry are what the proxy records and exports.
	Audit     Audit
	Telemetry Telemetry

	Limits
}

// Limits bound what clients can make the proxy hold, and how long it waits.
// Zero values take the defaults (WithDefaults).
type Limits struct {
	// MaxBodyBytes bounds one POST body.
	MaxBodyBytes int64
	// MaxBatch bounds the messages of one JSON-RPC batch.
	MaxBatch int
	// MaxSessions bounds the sessions and streams the proxy holds at once.
	MaxSessions int
	// MaxInflight bounds the unanswered calls of one session (stdio).
	MaxInflight int
	// SessionIdleTimeout ends sessions that send nothing for this long.
	SessionIdleTimeout time.Duration
	// HandshakeTimeout ends sessions that send nothing after their
	// initialize for this long, so that initializes alone cannot hold the
	// session cap for the idle timeout.
	HandshakeTimeout time.Duration
	// ReadTimeout bounds reading a whole client request, headers and body
	// (ToolHive's proxyReadTimeout): slow uploads cannot hold connections.
	ReadTimeout time.Duration
	// BackendResponseTimeout bounds the wait for an HTTP backend to begin
	// its answer; 0: no limit.
	BackendResponseTimeout time.Duration
	// CallTimeout fails a stdio call unanswered for this long; 0: no limit.
	CallTimeout time.Duration
	// StdinTimeout bounds one write to a stdio server's input: a server
	// that does not read for this long is restarted (or re-attached).
	StdinTimeout time.Duration
	// ClientWriteTimeout bounds one write to a client's event stream: a
	// client that does not read is dropped.
	ClientWriteTimeout time.Duration
	// PingInterval and PingTimeout: a stdio server that does not answer a
	// ping within the timeout is restarted (or re-attached). A negative
	// interval turns pings off.
	PingInterval, PingTimeout time.Duration
	// ProbeInterval is how often each HTTP backend is asked to initialize;
	// one that does not answer MCP takes no new sessions. Negative: off.
	ProbeInterval time.Duration
}

// DefaultLimits are the limits a proxy keeps unless told otherwise. The
// body limit is ToolHive's default (8 MiB), which an MCPServer's
// maxRequestBodySize of 0 promises.
var DefaultLimits = Limits{
	MaxBodyBytes: 8 << 20, MaxBatch: 100, MaxSessions: 10000, MaxInflight: 100,
	SessionIdleTimeout: 30 * time.Minute, ReadTimeout: 30 * time.Second, HandshakeTimeout: 30 * time.Second, StdinTimeout: 10 * time.Second, ClientWriteTimeout: 10 * time.Second,
	PingInterval: 15 * time.Second, PingTimeout: 30 * time.Second, ProbeInterval: 10 * time.Second,
}

// WithDefaults is l with every zero limit that has a default set to it.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits
	orDefault(&l.MaxBodyBytes, d.MaxBodyBytes)
	orDefault(&l.MaxBatch, d.MaxBatch)
	orDefault(&l.MaxSessions, d.MaxSessions)
	orDefault(&l.MaxInflight, d.MaxInflight)
	orDefault(&l.SessionIdleTimeout, d.SessionIdleTimeout)
	orDefault(&l.HandshakeTimeout, d.HandshakeTimeout)
	orDefault(&l.ReadTimeout, d.ReadTimeout)
	orDefault(&l.StdinTimeout, d.StdinTimeout)
	orDefault(&l.ClientWriteTimeout, d.ClientWriteTimeout)
	orDefault(&l.PingInterval, d.PingInterval)
	orDefault(&l.PingTimeout, d.PingTimeout)
	orDefault(&l.ProbeInterval, d.ProbeInterval)
	return l
}

// Validate refuses limits that cannot mean anything: a negative size or
// count, or a negative timeout where 0 is not "off".
func (l Limits) Validate() error {
	for _, v := range []struct {
		flag string
		bad  bool
	}{
		{flagMaxBody, l.MaxBodyBytes < 0}, {flagMaxBatch, l.MaxBatch < 0}, {flagMaxSessions, l.MaxSessions < 0},
		{flagMaxInflight, l.MaxInflight < 0}, {flagIdleTimeout, l.SessionIdleTimeout < 0}, {flagHandshake, l.HandshakeTimeout < 0},
		{flagReadTimeout, l.ReadTimeout < 0}, {flagBackendTimeout, l.BackendResponseTimeout < 0}, {flagCallTimeout, l.CallTimeout < 0},
		{flagStdinTimeout, l.StdinTimeout < 0}, {flagClientTimeout, l.ClientWriteTimeout < 0}, {flagPingTimeout, l.PingTimeout < 0},
	} {
		if v.bad {
			return fmt.Errorf("--%s is negative: give a positive value", v.flag)
		}
	}
	return nil
}

// orDefault sets *v to def when it is the zero value.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Local is what only a proxy run by hand needs: a server to start or reach
// without Kubernetes. The operator never sets it.
type Local struct {
	// BackendCommand runs a local stdio MCP server (instead of a pod).
	BackendCommand []string
	// BackendURL is a local sse or streamable-http MCP server's endpoint
	// (instead of pods), e.g. http://127.0.0.1:3001/mcp, or several
	// comma-separated endpoints that new sessions are spread over.
	BackendURL string
	// AccessFile is an Access document on disk (instead of a ConfigMap),
	// re-read when it changes.
	AccessFile string
}

// RegisterFlags binds the Local fields to fs.
func (l *Local) RegisterFlags(fs *flag.FlagSet) {
	fs.Func(flagBackendCommand, "a local stdio MCP server to run, as one string (or give it after --)", func(s string) error {
		l.BackendCommand = strings.Fields(s)
		return nil
	})
	fs.StringVar(&l.BackendURL, flagBackendURL, "", "a local sse or streamable-http MCP server endpoint, e.g. http://127.0.0.1:3001/mcp; several, comma-separated, share the sessions out")
	fs.StringVar(&l.AccessFile, flagAccessFile, "", "a local access document (authentication, authorization, tool curation; JSON), re-read when it changes")
}

const (
	flagServer          = "server"
	flagBindAddress     = "bind-address"
	flagPort            = "port"
	flagTransport       = "transport"
	flagProxyMode       = "proxy-mode"
	flagBackendPort     = "backend-port"
	flagBackendSelector = "backend-selector"
	flagBackendService  = "backend-service"
	flagEndpointPrefix  = "endpoint-prefix"
	flagTrustProxy      = "trust-proxy-headers"
	flagSessionStorage  = "session-storage"
	flagRedisAddress    = "redis-address"
	flagRedisDB         = "redis-db"
	flagRedisKeyPrefix  = "redis-key-prefix"
	flagDrainTimeout    = "drain-timeout"
	flagDrainDelay      = "drain-delay"
	flagAllowedOrigins  = "allowed-origins"
	flagMaxBody         = "max-body-bytes"
	flagMaxBatch        = "max-batch"
	flagMaxSessions     = "max-sessions"
	flagMaxInflight     = "max-inflight-per-session"
	flagIdleTimeout     = "session-idle-timeout"
	flagHandshake       = "handshake-timeout"
	flagReadTimeout     = "read-timeout"
	flagBackendTimeout  = "backend-response-timeout"
	flagCallTimeout     = "call-timeout"
	flagStdinTimeout    = "stdin-write-timeout"
	flagClientTimeout   = "client-write-timeout"
	flagPingInterval    = "ping-interval"
	flagPingTimeout     = "ping-timeout"
	flagProbeInterval   = "probe-interval"
	flagBackendCommand  = "backend-command"
	flagBackendURL      = "backend-url"
	flagAccessConfigMap = "access-configmap"
	flagAccessFile      = "access-file"
)

// Args renders the Config as proxy command-line arguments, in a fixed order
// so that the generated pod template is stable. Empty values are left out.
func (c Config) Args() []string {
	var args []string
	add := func(name, value string) {
		if value != "" {
			args = append(args, fmt.Sprintf("--%s=%s", name, value))
		}
	}
	num := func(v int32) string {
		if v == 0 {
			return ""
		}
		return strconv.Itoa(int(v))
	}
	dur := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return d.String()
	}
	add(flagServer, c.Server)
	add(flagBindAddress, c.BindAddress)
	add(flagPort, num(c.Port))
	add(flagTransport, c.Transport)
	add(flagProxyMode, c.ProxyMode)
	add(flagBackendPort, num(c.BackendPort))
	add(flagBackendSelector, c.BackendSelector)
	add(flagBackendService, c.BackendService)
	add(flagEndpointPrefix, c.EndpointPrefix)
	if c.TrustProxyHeaders {
		add(flagTrustProxy, "true")
	}
	add(flagSessionStorage, c.SessionStorage)
	add(flagRedisAddress, c.RedisAddress)
	add(flagRedisDB, num(c.RedisDB))
	add(flagRedisKeyPrefix, c.RedisKeyPrefix)
	args = append(args, c.RedisTLS.args()...)
	args = append(args, c.RateLimit.args()...)
	if c.DrainTimeout > 0 {
		add(flagDrainTimeout, c.DrainTimeout.String())
	}
	if c.DrainDelay > 0 {
		add(flagDrainDelay, c.DrainDelay.String())
	}
	add(flagAllowedOrigins, strings.Join(c.AllowedOrigins, ","))
	add(flagAccessConfigMap, c.AccessConfigMap)
	if c.MaxBodyBytes != 0 {
		add(flagMaxBody, strconv.FormatInt(c.MaxBodyBytes, 10))
	}
	add(flagMaxBatch, num(int32(c.MaxBatch)))
	add(flagMaxSessions, num(int32(c.MaxSessions)))
	add(flagMaxInflight, num(int32(c.MaxInflight)))
	add(flagIdleTimeout, dur(c.SessionIdleTimeout))
	add(flagHandshake, dur(c.HandshakeTimeout))
	add(flagReadTimeout, dur(c.ReadTimeout))
	add(flagBackendTimeout, dur(c.BackendResponseTimeout))
	add(flagCallTimeout, dur(c.CallTimeout))
	add(flagStdinTimeout, dur(c.StdinTimeout))
	add(flagClientTimeout, dur(c.ClientWriteTimeout))
	add(flagPingInterval, dur(c.PingInterval))
	add(flagPingTimeout, dur(c.PingTimeout))
	add(flagProbeInterval, dur(c.ProbeInterval))
	return append(args, observeArgs(c.Audit, c.Telemetry)...)
}

// RegisterFlags binds the Config's fields to fs, with the defaults the proxy
// uses when run by hand.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Server, flagServer, "", "name of the MCPServer this proxy fronts")
	fs.StringVar(&c.BindAddress, flagBindAddress, "127.0.0.1", "interface to listen on (0.0.0.0: every interface)")
	int32Var(fs, &c.Port, flagPort, 8080, "port to listen on")
	fs.StringVar(&c.Transport, flagTransport, TransportStdio, "backend transport: stdio, sse or streamable-http")
	fs.StringVar(&c.ProxyMode, flagProxyMode, TransportStreamableHTTP, "protocol offered to clients: streamable-http or sse")
	int32Var(fs, &c.BackendPort, flagBackendPort, 8080, "MCP port of the backend pods")
	fs.StringVar(&c.BackendSelector, flagBackendSelector, "", "label selector of the backend pods")
	fs.StringVar(&c.BackendService, flagBackendService, "", "headless Service of the backend pods")
	fs.StringVar(&c.EndpointPrefix, flagEndpointPrefix, "", "path prefix added to advertised endpoints")
	fs.BoolVar(&c.TrustProxyHeaders, flagTrustProxy, false, "honour X-Forwarded-* headers")
	fs.StringVar(&c.SessionStorage, flagSessionStorage, StorageMemory, "session storage: memory or redis")
	fs.StringVar(&c.RedisAddress, flagRedisAddress, "", "Redis host:port")
	int32Var(fs, &c.RedisDB, flagRedisDB, 0, "Redis database number")
	fs.StringVar(&c.RedisKeyPrefix, flagRedisKeyPrefix, "", "prefix of every Redis key")
	c.RedisTLS.registerFlags(fs)
	rateLimitVar(fs, &c.RateLimit)
	fs.DurationVar(&c.DrainTimeout, flagDrainTimeout, 30*time.Second, "how long in-flight requests may finish after SIGTERM")
	fs.DurationVar(&c.DrainDelay, flagDrainDelay, 5*time.Second, "how long to keep serving after SIGTERM while endpoints stop routing here (within the drain timeout)")
	fs.Func(flagAllowedOrigins, "comma-separated browser origins (scheme://host[:port]) allowed besides the proxy's own; no Origin header is always allowed", func(s string) error {
		c.AllowedOrigins = nil
		for _, o := range strings.Split(s, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.AllowedOrigins = append(c.AllowedOrigins, o)
			}
		}
		return nil
	})
	fs.StringVar(&c.AccessConfigMap, flagAccessConfigMap, "", "ConfigMap (in the pod's namespace) holding the access document under access.json; watched")
	d := DefaultLimits
	fs.Int64Var(&c.MaxBodyBytes, flagMaxBody, d.MaxBodyBytes, "largest POST body accepted")
	fs.IntVar(&c.MaxBatch, flagMaxBatch, d.MaxBatch, "most messages in one JSON-RPC batch")
	fs.IntVar(&c.MaxSessions, flagMaxSessions, d.MaxSessions, "most sessions and streams this proxy holds at once")
	fs.IntVar(&c.MaxInflight, flagMaxInflight, d.MaxInflight, "most unanswered calls of one session (stdio)")
	fs.DurationVar(&c.SessionIdleTimeout, flagIdleTimeout, d.SessionIdleTimeout, "end sessions that send nothing for this long")
	fs.DurationVar(&c.HandshakeTimeout, flagHandshake, d.HandshakeTimeout, "end sessions that send nothing after their initialize for this long")
	fs.DurationVar(&c.ReadTimeout, flagReadTimeout, d.ReadTimeout, "how long a client may take to send a whole request, headers and body")
	fs.DurationVar(&c.BackendResponseTimeout, flagBackendTimeout, 0, "how long an HTTP backend may take to begin its answer (0: no limit)")
	fs.DurationVar(&c.CallTimeout, flagCallTimeout, 0, "fail a stdio call unanswered for this long (0: no limit)")
	fs.DurationVar(&c.StdinTimeout, flagStdinTimeout, d.StdinTimeout, "restart a stdio server that does not read its input for this long")
	fs.DurationVar(&c.ClientWriteTimeout, flagClientTimeout, d.ClientWriteTimeout, "drop a client that does not read its event stream for this long")
	fs.DurationVar(&c.PingInterval, flagPingInterval, d.PingInterval, "how often to ping a stdio server (negative: never)")
	fs.DurationVar(&c.PingTimeout, flagPingTimeout, d.PingTimeout, "restart a stdio server that does not answer a ping for this long")
	fs.DurationVar(&c.ProbeInterval, flagProbeInterval, d.ProbeInterval, "how often to check that each HTTP backend answers MCP (negative: never)")
	registerObserveFlags(fs, &c.Audit, &c.Telemetry)
}

func int32Var(fs *flag.FlagSet, p *int32, name string, def int32, usage string) {
	*p = def
	fs.Func(name, fmt.Sprintf("%s (default %d)", usage, def), func(s string) error {
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
		*p = int32(v)
		return nil
	})
}
