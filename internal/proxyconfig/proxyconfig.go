// Package proxyconfig is the contract between the operator and the proxy: the
// operator renders a Config into the proxy container's arguments and the
// proxy parses them back with the same flag names.
package proxyconfig

import (
	"flag"
	"fmt"
	"strconv"
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

// Config is everything the proxy needs to know about the server it fronts.
type Config struct {
	// Server is the MCPServer's name.
	Server string
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
	// DrainTimeout bounds how long in-flight requests may finish after SIGTERM.
	DrainTimeout time.Duration
	// DrainDelay is how long the proxy keeps serving after SIGTERM with its
	// readiness off, while Services stop sending it traffic.
	DrainDelay time.Duration
}

const (
	flagServer          = "server"
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
	add(flagServer, c.Server)
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
	if c.DrainTimeout > 0 {
		add(flagDrainTimeout, c.DrainTimeout.String())
	}
	if c.DrainDelay > 0 {
		add(flagDrainDelay, c.DrainDelay.String())
	}
	return args
}

// RegisterFlags binds the Config's fields to fs, with the defaults the proxy
// uses when run by hand.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Server, flagServer, "", "name of the MCPServer this proxy fronts")
	int32Var(fs, &c.Port, flagPort, 8080, "port to listen on")
	fs.StringVar(&c.Transport, flagTransport, "stdio", "backend transport: stdio, sse or streamable-http")
	fs.StringVar(&c.ProxyMode, flagProxyMode, "streamable-http", "protocol offered to clients: streamable-http or sse")
	int32Var(fs, &c.BackendPort, flagBackendPort, 8080, "MCP port of the backend pods")
	fs.StringVar(&c.BackendSelector, flagBackendSelector, "", "label selector of the backend pods")
	fs.StringVar(&c.BackendService, flagBackendService, "", "headless Service of the backend pods")
	fs.StringVar(&c.EndpointPrefix, flagEndpointPrefix, "", "path prefix added to advertised endpoints")
	fs.BoolVar(&c.TrustProxyHeaders, flagTrustProxy, false, "honour X-Forwarded-* headers")
	fs.StringVar(&c.SessionStorage, flagSessionStorage, "memory", "session storage: memory or redis")
	fs.StringVar(&c.RedisAddress, flagRedisAddress, "", "Redis host:port")
	int32Var(fs, &c.RedisDB, flagRedisDB, 0, "Redis database number")
	fs.StringVar(&c.RedisKeyPrefix, flagRedisKeyPrefix, "", "prefix of every Redis key")
	fs.DurationVar(&c.DrainTimeout, flagDrainTimeout, 30*time.Second, "how long in-flight requests may finish after SIGTERM")
	fs.DurationVar(&c.DrainDelay, flagDrainDelay, 5*time.Second, "how long to keep serving after SIGTERM while endpoints stop routing here (within the drain timeout)")
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
