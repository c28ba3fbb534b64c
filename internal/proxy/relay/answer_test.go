package relay

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
)

// countingListener counts the writes on the connections it accepts.
type countingListener struct {
	net.Listener
	writes *atomic.Int32
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return countingConn{Conn: c, writes: l.writes}, err
}

type countingConn struct {
	net.Conn
	writes *atomic.Int32
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// wholeCalls counts the writes that carry a whole tools/call request,
// its headers and its body together (probes of the backend write too).
type wholeCalls struct {
	net.Conn
	n *atomic.Int32
}

func (c wholeCalls) Write(p []byte) (int, error) {
	if s := string(p); strings.HasPrefix(s, "POST /mcp ") && strings.Contains(s, `"tools/call"`) {
		c.n.Add(1)
	}
	return c.Conn.Write(p)
}

const event = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}\n\n"

// relayed serves a relay in front of backend, with a step that watches
// every request (so the answers pass the event rewriter), on a listener
// that counts the relay's writes to its clients; wholeToBackend counts
// the writes that took a whole tools/call to the backend.
func relayed(t *testing.T, backend http.HandlerFunc) (url string, toClients, wholeToBackend *atomic.Int32) {
	t.Helper()
	srv := httptest.NewServer(backend)
	t.Cleanup(srv.Close)
	toClients, wholeToBackend = &atomic.Int32{}, &atomic.Int32{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	watch := func(_ context.Context, r *pipeline.Request) *pipeline.Refusal {
		r.OnDone(func(pipeline.Outcome) {})
		return nil
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		return wholeCalls{Conn: c, n: wholeToBackend}, err
	}
	b, err := NewStatic(ctx, srv.URL+"/mcp", Options{Path: pipeline.New(watch), Dial: dial, MaxBody: 1 << 20, MaxBatch: 10})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewUnstartedServer(b.Streamable())
	front.Listener = countingListener{Listener: front.Listener, writes: toClients}
	front.Start()
	t.Cleanup(front.Close)
	return front.URL + "/mcp", toClients, wholeToBackend
}

// A short answer, its stream ended behind it, leaves the relay in one
// write: headers, event and end together. Its request reached the server
// in one write too. Each write is a wake-up on both sides of a hop.
func TestAShortAnswerLeavesInOneWrite(t *testing.T) {
	url, toClients, wholeToBackend := relayed(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, event)
	})
	req, _ := http.NewRequest(http.MethodPost, url,
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	toClients.Store(0)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || string(body) != event {
		t.Fatalf("answer %q (%v), want %q", body, err, event)
	}
	if n := toClients.Load(); n != 1 {
		t.Errorf("the relay wrote the answer in %d writes, want 1", n)
	}
	if n := wholeToBackend.Load(); n != 1 {
		t.Errorf("%d writes took the whole request to the server, want 1 (headers and body apart cost two)", n)
	}
}

// A stream the server keeps open gets its headers at once, and each event
// as it comes: the relay holds nothing back it cannot send whole.
func TestAnOpenStreamIsNotHeldBack(t *testing.T) {
	next := make(chan struct{})
	url, _, _ := relayed(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		select {
		case <-next:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, event)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the stream's headers did not come while the server was silent: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	close(next)
	buf := make([]byte, len(event))
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != event {
		t.Fatalf("event %q (%v), want %q while the stream stays open", buf, err, event)
	}
}
