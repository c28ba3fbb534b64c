package proxyconfig

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestArgsRoundTripThroughFlags(t *testing.T) {
	want := Config{
		Server: "osv", Port: 9090, Transport: "streamable-http", ProxyMode: "streamable-http",
		BackendPort: 3000, BackendSelector: "app=x", BackendService: "mcp-osv-headless",
		EndpointPrefix: "/osv", TrustProxyHeaders: true, SessionStorage: "redis",
		RedisAddress: "redis:6379", RedisDB: 2, RedisKeyPrefix: "p", DrainTimeout: 45 * time.Second, DrainDelay: 3 * time.Second,
	}
	var got Config
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	got.RegisterFlags(fs)
	if err := fs.Parse(want.Args()); err != nil {
		t.Fatalf("parse %v: %v", want.Args(), err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("config after round trip (-want +got):\n%s", d)
	}
}

func TestArgsLeaveOutEmptyValues(t *testing.T) {
	got := Config{Server: "a", Port: 8080}.Args()
	want := []string{"--server=a", "--port=8080"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("args (-want +got):\n%s", d)
	}
}

func TestBadNumberNamesTheFlag(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterFlags(fs)
	err := fs.Parse([]string{"--port=http"})
	if err == nil || !strings.Contains(err.Error(), "--port") {
		t.Fatalf("want an error naming --port, got %v", err)
	}
}
