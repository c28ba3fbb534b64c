package proxy_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// A client that vanishes in the middle of a stream leaves nothing behind.
func TestClientsVanishingMidStreamLeakNoGoroutines(t *testing.T) {
	r := startProxy(t)
	session := initialize(t, r)
	baseline := goleak.IgnoreCurrent()
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/mcp",
			strings.NewReader(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"progress","arguments":{"steps":50,"delayMs":20}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", session)
		go func() { time.Sleep(30 * time.Millisecond); cancel() }()
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}
	http.DefaultClient.CloseIdleConnections()
	if err := goleak.Find(baseline); err != nil {
		t.Error(err)
	}
}
