package proxy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
)

type healthBody struct {
	Status      string `json:"status"`
	Sessions    int    `json:"sessions"`
	MaxSessions int    `json:"maxSessions"`
}

func healthOf(t *testing.T, r *running) (int, healthBody) {
	t.Helper()
	resp, err := http.Get(r.base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var h healthBody
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("/health: %v", err)
	}
	return resp.StatusCode, h
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// waitSessions waits until /health counts n sessions.
func waitSessions(t *testing.T, r *running, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, h := healthOf(t, r)
		if h.Sessions == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health counts %d sessions, want %d", h.Sessions, n)
		}
	}
}

// relayedWithRoomFor relays the streamable-http test server with a cap of
// max sessions.
func relayedWithRoomFor(t *testing.T, max int, tweak ...func(*proxy.Options)) *running {
	backend := httpServer(t, "streamable-http", false)
	return startProxy(t, append([]func(*proxy.Options){func(o *proxy.Options) {
		o.Transport, o.BackendURL, o.MaxSessions = "streamable-http", backend, max
	}}, tweak...)...)
}

func wantRefused(t *testing.T, resp *http.Response, what string) {
	t.Helper()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s at the cap: %d (Retry-After %q), want 503 with Retry-After", what, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// Guards --max-sessions for HTTP backends: sessions relayed to one did not
// count at all, so any number of clients could pile onto the backend.
func TestRelayedSessionsFillTheCapAndADeleteFreesAPlace(t *testing.T) {
	r := relayedWithRoomFor(t, 3)
	var sessions []string
	for range 3 {
		sessions = append(sessions, initialize(t, r))
	}
	wantRefused(t, post(t, r.base+"/mcp", "", "application/json", initBody), "a fourth initialize")
	if code, h := healthOf(t, r); code != http.StatusOK || h.Status != "degraded" || h.Sessions != 3 || h.MaxSessions != 3 {
		t.Errorf("/health at the cap: %d %+v, want 200, degraded, 3 sessions of 3", code, h)
	}
	metrics := get(t, r.base+"/metrics")
	for _, want := range []string{"switchboard_proxy_active_sessions 3", "switchboard_proxy_max_sessions 3"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics at the cap lacks %q", want)
		}
	}
	if got := deleteSession(t, r.base+"/mcp", sessions[0]); got != http.StatusNoContent {
		t.Errorf("DELETE: %d", got)
	}
	initialize(t, r)
}

// openStream opens a legacy SSE stream and reads its endpoint event; the
// stream stays open until the returned func or the end of the test.
func openStream(t *testing.T, url string) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK {
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			t.Fatalf("the stream ended before its first event: %v", err)
		}
	}
	return resp, cancel
}

// Guards --max-sessions for sse backends: streams relayed to one did not
// count, so a client could hold any number open.
func TestRelayedLegacySSEStreamsCountTowardTheCapWhileOpen(t *testing.T) {
	backend := httpServer(t, "sse", false)
	r := startProxy(t, func(o *proxy.Options) {
		o.Transport, o.ProxyMode, o.BackendURL, o.MaxSessions = "sse", "sse", backend, 2
	})
	first, closeFirst := openStream(t, r.base+"/sse")
	second, _ := openStream(t, r.base+"/sse")
	if first.StatusCode != http.StatusOK || second.StatusCode != http.StatusOK {
		t.Fatalf("two streams under a cap of 2: %d, %d", first.StatusCode, second.StatusCode)
	}
	third, _ := openStream(t, r.base+"/sse")
	wantRefused(t, third, "a third stream")
	closeFirst()
	waitSessions(t, r, 1)
	if again, _ := openStream(t, r.base+"/sse"); again.StatusCode != http.StatusOK {
		t.Errorf("a stream after one closed: %d, want 200", again.StatusCode)
	}
}

// Guards the cap's atomicity: initializes racing for the last places must
// not all win.
func TestConcurrentInitializesNeverExceedTheCap(t *testing.T) {
	const places, clients = 5, 40
	r := relayedWithRoomFor(t, places)
	start := make(chan struct{})
	var mu sync.Mutex
	var won []string
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			<-start
			status, session, err := initializeRaw(r.base + "/mcp")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Errorf("initialize: %v", err)
			case status == http.StatusOK:
				won = append(won, session)
			case status != http.StatusServiceUnavailable:
				t.Errorf("initialize: %d, want 200 or 503", status)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(won) != places {
		t.Errorf("%d of %d racing initializes got a session under a cap of %d", len(won), clients, places)
	}
	waitSessions(t, r, min(len(won), places))
	for _, s := range won {
		deleteSession(t, r.base+"/mcp", s)
	}
	waitSessions(t, r, 0)
}

// initializeRaw starts a session without failing the test, for goroutines.
func initializeRaw(url string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(initBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Mcp-Session-Id") == "" {
		return 0, "", fmt.Errorf("initialize answered 200 without a session")
	}
	return resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), nil
}

// Guards the idle timeout of relayed sessions: a client that vanished
// without DELETE held its place under the cap for good.
func TestRelayedSessionsIdleForTheTimeoutAreForgottenAndFreeTheirPlace(t *testing.T) {
	r := relayedWithRoomFor(t, 1, func(o *proxy.Options) { o.SessionIdleTimeout = time.Second })
	initialize(t, r)
	wantRefused(t, post(t, r.base+"/mcp", "", "application/json", initBody), "a second initialize")
	waitSessions(t, r, 0)
	initialize(t, r)
}

// Guards the places of sessions a backend ended on its own (it restarted,
// or timed them out): it answers 404 and the client initializes again, so
// the old session must not hold its place until the idle timeout.
func TestASessionTheBackendEndedFreesItsPlace(t *testing.T) {
	backend := httpServer(t, "streamable-http", false)
	r := startProxy(t, func(o *proxy.Options) {
		o.Transport, o.BackendURL, o.MaxSessions = "streamable-http", backend, 1
	})
	session := initialize(t, r)
	wantRefused(t, post(t, r.base+"/mcp", "", "application/json", initBody), "a second initialize")
	deleteSession(t, backend, session) // behind the proxy's back
	if got := post(t, r.base+"/mcp", session, "application/json", `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`).StatusCode; got != http.StatusNotFound {
		t.Fatalf("a call of the ended session: %d, want the backend's 404", got)
	}
	waitSessions(t, r, 0)
	initialize(t, r)
}
