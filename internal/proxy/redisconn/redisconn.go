// Package redisconn is the one place the proxy's Redis client is made from
// its flags: address, database, password (from the environment, never a
// flag), TLS. The session store and the rate limiter share the client.
package redisconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// Options are the go-redis options of c's Redis. A CA file that cannot be
// read or holds no certificate is an error naming its flag: the proxy does
// not start rather than trust the wrong servers.
func Options(c proxyconfig.Config) (*redis.Options, error) {
	if c.RedisAddress == "" {
		return nil, errors.New("no --redis-address")
	}
	o := &redis.Options{Addr: c.RedisAddress, Password: os.Getenv(proxyconfig.EnvRedisPassword), DB: int(c.RedisDB),
		// Short waits and one retry: a request that meets an outage should
		// learn of it in about a second, not stall (the default dials 5
		// times, 100 ms apart).
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: 1, DialerRetries: 1}
	t := c.RedisTLS
	if !t.Enabled {
		if t.CAFile != "" || t.InsecureSkipVerify {
			return nil, fmt.Errorf("%s or --redis-tls-insecure-skip-verify without --redis-tls: say --redis-tls to speak TLS to Redis", proxyconfig.FlagRedisTLSCAFile)
		}
		return o, nil
	}
	host, _, err := net.SplitHostPort(c.RedisAddress)
	if err != nil {
		return nil, fmt.Errorf("--redis-address=%q: %w", c.RedisAddress, err)
	}
	// go-redis dials TLS itself when TLSConfig is set and never retries in
	// plain text: a failed handshake is a failed connection.
	o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // G402: the user's explicit choice (insecureSkipVerify)
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", proxyconfig.FlagRedisTLSCAFile, err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s=%s holds no PEM certificate", proxyconfig.FlagRedisTLSCAFile, t.CAFile)
		}
		o.TLSConfig.RootCAs = roots
	}
	return o, nil
}

// New is the client of c's Redis; go-redis's own messages go to log at
// debug level (the users of the client report outages themselves, once).
func New(c proxyconfig.Config, log *slog.Logger) (*redis.Client, error) {
	o, err := Options(c)
	if err != nil {
		return nil, err
	}
	redis.SetLogger(redisLog{log})
	return redis.NewClient(o), nil
}

type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
