// Package proxytest starts a proxy for tests of other packages: on
// loopback, with test-sized limits, healthy before it returns, stopped (and
// its backend with it) when the test ends.
package proxytest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
)

// Start runs a proxy with o (zero limits get test defaults) and returns its
// base URL once /health answers 200.
func Start(t testing.TB, o proxy.Options) string {
	t.Helper()
	o.BindAddress = "127.0.0.1"
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 4 << 20
	}
	if o.MaxSessions == 0 {
		o.MaxSessions = 100
	}
	if o.SessionIdleTimeout == 0 {
		o.SessionIdleTimeout = time.Minute
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 2 * time.Second
	}
	backendCtx, stopBackend := context.WithCancel(context.Background())
	p, err := proxy.New(backendCtx, o)
	if err != nil {
		stopBackend()
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(serveCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("proxy: %v", err)
		}
		stopBackend()
	})
	base := "http://" + p.Addr()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/health"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the proxy never became healthy")
		}
	}
}
