// Package redisconn stands in for github.com/stacklok/toolhive-core/redisconn
// v0.0.58, which the Go module proxy does not serve here. It has the types
// and functions ToolHive v0.63.0 calls; the transparent proxy the bench runs
// keeps its sessions in memory, so NewClient is never reached and fails.
package redisconn

import (
	"context"
	"crypto/tls"
	"errors"

	"github.com/redis/go-redis/v9"
)

// errSubstitute is what every connection attempt returns.
var errSubstitute = errors.New("redisconn: substitute module, Redis is not available in this build")

// Config is a Redis connection's settings.
type Config struct {
	Addr     string
	Password string
	DB       int
	TLS      *TLSConfig
	Sentinel *SentinelConfig
}

// SentinelConfig is a Redis Sentinel deployment's settings.
type SentinelConfig struct {
	MasterName    string
	SentinelAddrs []string
	Password      string
}

// TLSConfig is how a connection speaks TLS.
type TLSConfig struct {
	InsecureSkipVerify bool
	CACert             []byte
}

// NewClient fails: see the package doc.
func NewClient(context.Context, *Config) (redis.UniversalClient, error) { return nil, errSubstitute }

// BuildTLSConfig fails: see the package doc.
func BuildTLSConfig(*TLSConfig) (*tls.Config, error) { return nil, errSubstitute }
