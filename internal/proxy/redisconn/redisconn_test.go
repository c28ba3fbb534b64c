package redisconn_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
	"github.com/switchboard-mcp/switchboard/internal/proxy/redisconn"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// ping connects with the options of c and says how it went.
func ping(t *testing.T, c proxyconfig.Config) error {
	t.Helper()
	o, err := redisconn.Options(c)
	if err != nil {
		t.Fatalf("options: %v", err)
	}
	client := redis.NewClient(o)
	defer func() { _ = client.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return client.Ping(ctx).Err()
}

func TestTLSToRedis(t *testing.T) {
	r, caFile := proxytest.StartRedisTLS(t)
	otherCA, _ := proxytest.NewCA(t, "someone else's CA")
	wrongCA := proxytest.WriteCA(t, otherCA)
	at := func(t proxyconfig.RedisTLS) proxyconfig.Config {
		return proxyconfig.Config{RedisAddress: r.Addr, RedisTLS: t}
	}

	t.Run("the server's CA connects", func(t *testing.T) {
		if err := ping(t, at(proxyconfig.RedisTLS{Enabled: true, CAFile: caFile})); err != nil {
			t.Fatalf("ping over TLS: %v", err)
		}
	})
	t.Run("another CA fails the handshake", func(t *testing.T) {
		err := ping(t, at(proxyconfig.RedisTLS{Enabled: true, CAFile: wrongCA}))
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("ping with the wrong CA: %v, want an unknown-authority error", err)
		}
	})
	t.Run("the system roots do not know a private CA", func(t *testing.T) {
		if err := ping(t, at(proxyconfig.RedisTLS{Enabled: true})); err == nil {
			t.Fatal("ping with the system roots succeeded against a throwaway CA")
		}
	})
	t.Run("insecureSkipVerify connects without a CA", func(t *testing.T) {
		if err := ping(t, at(proxyconfig.RedisTLS{Enabled: true, InsecureSkipVerify: true})); err != nil {
			t.Fatalf("ping with insecureSkipVerify: %v", err)
		}
	})
	t.Run("plain text does not reach a TLS-only server", func(t *testing.T) {
		if err := ping(t, at(proxyconfig.RedisTLS{})); err == nil {
			t.Fatal("a plain-text ping reached the TLS port")
		}
	})
}

// Guards against a fallback to plain text: a TLS client pointed at a
// server that speaks only plain text must fail, not talk in the clear.
func TestTLSNeverFallsBackToPlainText(t *testing.T) {
	r := proxytest.StartRedis(t, "")
	err := ping(t, proxyconfig.Config{RedisAddress: r.Addr, RedisTLS: proxyconfig.RedisTLS{Enabled: true, InsecureSkipVerify: true}})
	if err == nil {
		t.Fatal("a TLS client talked to a plain-text Redis")
	}
}

func TestOptions(t *testing.T) {
	t.Setenv(proxyconfig.EnvRedisPassword, "s3cret")
	o, err := redisconn.Options(proxyconfig.Config{RedisAddress: "redis.ns.svc:6380", RedisDB: 3, RedisTLS: proxyconfig.RedisTLS{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	if o.Addr != "redis.ns.svc:6380" || o.DB != 3 || o.Password != "s3cret" {
		t.Errorf("addr %q db %d password %q", o.Addr, o.DB, o.Password)
	}
	if o.TLSConfig == nil || o.TLSConfig.ServerName != "redis.ns.svc" || o.TLSConfig.MinVersion != tls.VersionTLS12 || o.TLSConfig.RootCAs != nil || o.TLSConfig.InsecureSkipVerify {
		t.Errorf("TLS config %+v: want server name redis.ns.svc, TLS 1.2 or later, the system roots, verified", o.TLSConfig)
	}
	if o, _ := redisconn.Options(proxyconfig.Config{RedisAddress: "redis:6379"}); o.TLSConfig != nil {
		t.Error("TLS without --redis-tls")
	}
}

func TestABadCAFileIsAStartupErrorNamingTheFlag(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]proxyconfig.RedisTLS{
		"missing file":     {Enabled: true, CAFile: filepath.Join(t.TempDir(), "absent.crt")},
		"not PEM":          {Enabled: true, CAFile: notPEM},
		"CA without --tls": {CAFile: notPEM},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := redisconn.Options(proxyconfig.Config{RedisAddress: "redis:6379", RedisTLS: tc})
			if err == nil || !strings.Contains(err.Error(), "--redis-tls-ca-file") {
				t.Fatalf("want an error naming --redis-tls-ca-file, got %v", err)
			}
		})
	}
}
