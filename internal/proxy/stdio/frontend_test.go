package stdio

import (
	"bufio"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
)

// frontendOn serves a Frontend over a scripted server on loopback.
func frontendOn(t *testing.T, o Options) (*shared, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	server := &scriptedStdio{sent: make(chan []byte, 1024)}
	o.Log = slog.New(slog.DiscardHandler)
	o.Sessions = pipeline.NewSessions(100)
	o.MaxBody, o.MaxBatch = 1<<20, 100
	o.Draining = func() bool { return false }
	f := NewFrontend(ctx, &view{out: server.subscribe(1 << 16), sent: func(line []byte) { server.sent <- line }}, o)
	mux := http.NewServeMux()
	mux.Handle("/mcp", f.Streamable())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &shared{t: t, m: f.mux, server: server}, srv.URL + "/mcp"
}

// openSession initializes through the front end (the scripted server
// answers) and returns the session id.
func openSession(t *testing.T, sh *shared, url string) string {
	t.Helper()
	go func() {
		if got := sh.received(2 * time.Second); got != nil {
			sh.server.write(`{"jsonrpc":"2.0","id":` + string(got.ID) + `,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}`)
		}
	}()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("initialize: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	return resp.Header.Get("Mcp-Session-Id")
}

// openGET opens the session's GET stream and returns it unread.
func openGET(t *testing.T, url, session string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET stream: %v %v", resp, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// A client that opens its GET stream and never reads it: the old proxy
// kept the stream (and a goroutine) and never expired the session. Now
// the stream ends when the client falls behind, and the session expires
// after its idle timeout all the same.
func TestAGETStreamNobodyReadsIsDroppedAndItsSessionExpires(t *testing.T) {
	sh, url := frontendOn(t, Options{IdleTimeout: 300 * time.Millisecond, WriteTimeout: 200 * time.Millisecond})
	session := openSession(t, sh, url)
	stream := openGET(t, url, session)
	// Far more than the stream holds for a client that does not read.
	big := `{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{"pad":"` + strings.Repeat("p", 8<<10) + `"}}`
	for range 2000 {
		sh.server.write(big)
	}
	eventually(t, "the session never expired while its GET stream was open and unread", func() bool { return sh.m.sessionCount() == 0 })
	// The stream was ended: reading it now reaches its end.
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stream.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the unread GET stream is still open")
	}
}
