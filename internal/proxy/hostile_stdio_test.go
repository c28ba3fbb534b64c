package proxy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
)

// The stdio proxy against servers that misbehave. Each test here failed on
// the proxy before its backends had one writer with a bounded queue.

// batchEra allows JSON-RPC batches (they end at 2025-06-18).
const batchEra = "2025-03-26"

// rpcClient speaks the streamable HTTP transport by hand, from any
// goroutine: errors are returned, never t.Fatal'd.
type rpcClient struct {
	base    string
	session string
	client  *http.Client
}

func newRPCClient(t *testing.T, base string) *rpcClient {
	t.Helper()
	c := &rpcClient{base: base, client: &http.Client{Timeout: 30 * time.Second}}
	answers, _, err := c.post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"` + batchEra + `","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	if err != nil || len(answers) != 1 || answers[0]["result"] == nil {
		t.Fatalf("initialize: %v %v", answers, err)
	}
	if _, _, err := c.post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
		t.Fatalf("initialized: %v", err)
	}
	return c
}

// post sends body and returns the JSON-RPC messages of the answer.
func (c *rpcClient) post(body string) ([]map[string]any, int, error) {
	req, _ := http.NewRequest(http.MethodPost, c.base+"/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", batchEra)
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	if id := resp.Header.Get("Mcp-Session-Id"); id != "" {
		c.session = id
	}
	var out []map[string]any
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		raw, _ := io.ReadAll(resp.Body)
		var one map[string]any
		if json.Unmarshal(raw, &one) == nil {
			out = append(out, one)
		}
		return out, resp.StatusCode, nil
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 32<<20)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var m map[string]any
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				return out, resp.StatusCode, err
			}
			out = append(out, m)
		}
	}
	return out, resp.StatusCode, sc.Err()
}

func pings(from, n int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%d,"method":"ping"}`, from+i)
	}
	b.WriteByte(']')
	return b.String()
}

// watchHealth asks /health every 100 ms until stop, and reports every answer
// that took 1 s or more.
func watchHealth(t *testing.T, base string) (stop func() []string) {
	t.Helper()
	done := make(chan struct{})
	var slow []string
	var mu sync.Mutex
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		c := &http.Client{Timeout: 5 * time.Second}
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			start := time.Now()
			resp, err := c.Get(base + "/health")
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
			if took := time.Since(start); err != nil || took >= time.Second {
				mu.Lock()
				slow = append(slow, fmt.Sprintf("%v after %s", err, took))
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return slow
	}
}

// A server that answers each line before it reads the next, given 10,000
// pings at once (200 POSTs of 50 from 20 sessions): the proxy writes while
// the server writes. The old proxy held the backend's lock while writing
// stdin, and the loop reading stdout needed that lock: every session froze
// for good and /health hung.
func TestTenThousandPingsToAServerThatAnswersBeforeItReadsAllGetAnswers(t *testing.T) {
	r := startProxy(t, func(o *proxy.Options) { o.BackendCommand = mcptest.HostileCommand(mcptest.ServeSync) })
	stopWatch := watchHealth(t, r.base)
	const sessions, posts, batch = 20, 10, 50
	var answered atomic.Int64
	errs := make(chan error, sessions)
	var wg sync.WaitGroup
	for s := range sessions {
		c := newRPCClient(t, r.base)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range posts {
				answers, _, err := c.post(pings((s*posts+p)*batch, batch))
				if err != nil {
					errs <- err
					return
				}
				for _, a := range answers {
					if a["result"] != nil {
						answered.Add(1)
					}
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the proxy froze: %d of 10000 pings answered after 60 s", answered.Load())
	}
	close(errs)
	for err := range errs {
		t.Errorf("a client failed: %v", err)
	}
	if got := answered.Load(); got != sessions*posts*batch {
		t.Errorf("%d pings answered, want %d", got, sessions*posts*batch)
	}
	if slow := stopWatch(); len(slow) > 0 {
		t.Errorf("/health was slow or failed %d times: %v", len(slow), slow)
	}
}

// A batch of more than 64 requests: the old proxy's stream buffer held 64
// answers, dropped the rest and never finished the POST.
func TestABatchOfAHundredRequestsGetsAHundredAnswers(t *testing.T) {
	r := startProxy(t)
	c := newRPCClient(t, r.base)
	answers, status, err := c.post(pings(1, 100))
	if err != nil || status != http.StatusOK {
		t.Fatalf("batch: %d %v", status, err)
	}
	seen := map[float64]bool{}
	for _, a := range answers {
		if id, ok := a["id"].(float64); ok && a["result"] != nil {
			seen[id] = true
		}
	}
	if len(seen) != 100 {
		t.Fatalf("%d distinct answers to a batch of 100", len(seen))
	}
}

// A server that stops reading its input: the write that cannot finish is
// given up after the stdin timeout, the server restarted, and the calls
// waiting on it fail with an error that says so. /health keeps answering.
func TestAServerThatStopsReadingIsRestartedAndItsCallsFail(t *testing.T) {
	r := startProxy(t, func(o *proxy.Options) {
		o.BackendCommand = mcptest.HostileCommand(mcptest.ServeNoRead)
		o.StdinTimeout = 500 * time.Millisecond
	})
	stopWatch := watchHealth(t, r.base)
	c := newRPCClient(t, r.base)
	// 20 calls of 16 KiB: more than the pipe holds once the server stops.
	var b strings.Builder
	b.WriteByte('[')
	for i := range 20 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"x","arguments":{"pad":%q}}}`, i+1, strings.Repeat("a", 16<<10))
	}
	b.WriteByte(']')
	start := time.Now()
	answers, _, err := c.post(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the calls failed only after %s", took)
	}
	failed := 0
	for _, a := range answers {
		if e, ok := a["error"].(map[string]any); ok && strings.Contains(fmt.Sprint(e["message"]), "retry") {
			failed++
		}
	}
	if failed != 20 {
		t.Errorf("%d of 20 calls failed with a retry advice; answers: %.300v", failed, answers)
	}
	if m := metricsText(t, r.base); !strings.Contains(m, "switchboard_proxy_backend_stdin_stalls_total 1") {
		t.Errorf("the stall is not counted in /metrics")
	}
	if slow := stopWatch(); len(slow) > 0 {
		t.Errorf("/health was slow or failed: %v", slow)
	}
	r.waitHealth(t, http.StatusOK) // restarted
}

// A server that reads but never answers: the proxy's ping goes unanswered,
// the calls in flight fail with an error that says why, and the server is
// restarted.
func TestAServerThatStopsAnsweringIsRestarted(t *testing.T) {
	r := startProxy(t, func(o *proxy.Options) {
		o.BackendCommand = mcptest.HostileCommand(mcptest.ServeMute)
		o.PingInterval, o.PingTimeout = 200*time.Millisecond, 500*time.Millisecond
	})
	c := newRPCClient(t, r.base)
	start := time.Now()
	answers, _, err := c.post(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x"}}`)
	if err != nil || len(answers) != 1 {
		t.Fatalf("call: %v %v", answers, err)
	}
	msg := fmt.Sprint(answers[0]["error"])
	if !strings.Contains(msg, "did not answer a ping") {
		t.Errorf("the call failed with %q, want the ping timeout named", msg)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the call failed only after %s", took)
	}
	if m := metricsText(t, r.base); !strings.Contains(m, "switchboard_proxy_backend_unresponsive_total") ||
		strings.Contains(m, "switchboard_proxy_backend_unresponsive_total 0") {
		t.Errorf("the unanswered ping is not counted in /metrics")
	}
}

// A line over the proxy's limit: skipped with a warning, the call it
// answered fails, and the server goes on serving. The old proxy's reader
// stopped for good at such a line, leaving the backend detached.
func TestAnOversizedLineFailsItsCallAndTheServerGoesOn(t *testing.T) {
	r := startProxy(t, func(o *proxy.Options) { o.BackendCommand = mcptest.HostileCommand(mcptest.ServeLongLine) })
	c := newRPCClient(t, r.base)
	answers, _, err := c.post(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"long"}}`)
	if err != nil || len(answers) != 1 || !strings.Contains(fmt.Sprint(answers[0]["error"]), "over the proxy's limit") {
		t.Fatalf("the oversized answer: %.300v %v", answers, err)
	}
	answers, _, err = c.post(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"next"}}`)
	if err != nil || len(answers) != 1 || answers[0]["result"] == nil {
		t.Fatalf("the next call: %.300v %v", answers, err)
	}
	if m := metricsText(t, r.base); !strings.Contains(m, "switchboard_proxy_backend_oversized_lines_total 1") {
		t.Error("the oversized line is not counted in /metrics")
	}
}

// A server that floods stderr, with lines of 100 KiB among them: stderr is
// read to the end all the time (the server never blocks on it, so calls go
// on), and what is logged is cut and rate-limited. The old proxy logged
// every line whole: over 500 MB of log in 10 s.
func TestAStderrFloodIsDrainedButItsLogIsBounded(t *testing.T) {
	log := &proxytest.Buffer{}
	r := startProxy(t, func(o *proxy.Options) {
		o.BackendCommand = mcptest.HostileCommand(mcptest.ServeStderrFlood)
		o.Log = slog.New(slog.NewJSONHandler(log, nil))
	})
	c := newRPCClient(t, r.base)
	deadline := time.Now().Add(2 * time.Second)
	calls := 0
	for ; time.Now().Before(deadline); calls++ {
		answers, _, err := c.post(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"ping"}`, calls+1))
		if err != nil || len(answers) != 1 || answers[0]["result"] == nil {
			t.Fatalf("call %d during the flood: %v %v", calls, answers, err)
		}
	}
	if n := log.Len(); n > 1<<20 {
		t.Errorf("%d bytes of log in 2 s of stderr flood, want at most 1 MiB", n)
	}
	m := metricsText(t, r.base)
	if !strings.Contains(m, "switchboard_proxy_backend_stderr_suppressed_lines_total") || strings.Contains(m, "switchboard_proxy_backend_stderr_suppressed_lines_total 0\n") {
		t.Error("suppressed stderr lines are not counted in /metrics")
	}
	t.Logf("%d calls answered during the flood, %d bytes logged", calls, log.Len())
}

// Two requests with one id in flight at once in one session: the second is
// refused (the old proxy gave it the first one's answer).
func TestADuplicateIDInFlightIsRefused(t *testing.T) {
	r := startProxy(t)
	c := newRPCClient(t, r.base)
	first := make(chan []map[string]any, 1)
	go func() {
		a, _, _ := c.post(`{"jsonrpc":"2.0","id":"same","method":"tools/call","params":{"name":"progress","arguments":{"steps":3,"delayMs":300}}}`)
		first <- a
	}()
	time.Sleep(200 * time.Millisecond)
	answers, status, err := c.post(`{"jsonrpc":"2.0","id":"same","method":"tools/call","params":{"name":"echo","arguments":{"text":"second"}}}`)
	if err != nil || status != http.StatusBadRequest || len(answers) != 1 || !strings.Contains(fmt.Sprint(answers[0]["error"]), "already in flight") {
		t.Fatalf("the duplicate: %d %v %v", status, answers, err)
	}
	a := <-first
	if len(a) == 0 || !strings.Contains(fmt.Sprint(a[len(a)-1]["result"]), "done") {
		t.Fatalf("the first call lost its answer: %v", a)
	}
}

// A progress token is kept for as long as its call runs: the proxy refuses
// one that would make it hold client-sized state (the old proxy kept 800
// tokens of 1 MB: 1.28 GB).
func TestAnOversizedProgressTokenIsRefused(t *testing.T) {
	r := startProxy(t)
	c := newRPCClient(t, r.base)
	token := strings.Repeat("t", 1000)
	answers, status, err := c.post(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},"_meta":{"progressToken":"` + token + `"}}}`)
	if err != nil || status != http.StatusBadRequest || len(answers) != 1 || !strings.Contains(fmt.Sprint(answers[0]["error"]), "progressToken") {
		t.Fatalf("oversized token: %d %v %v", status, answers, err)
	}
	if code := answers[0]["error"].(map[string]any)["code"]; code != float64(-32602) {
		t.Errorf("code %v, want -32602", code)
	}
}

// Every session and stream counts toward --max-sessions, the cap taken
// atomically: streamable sessions and legacy SSE streams alike, and
// sessions that only initialized are ended after the handshake timeout so
// that initializes alone cannot lock clients out.
func TestEverySessionAndStreamCountsTowardTheCap(t *testing.T) {
	r := startProxy(t, func(o *proxy.Options) { o.MaxSessions, o.HandshakeTimeout = 10, 500*time.Millisecond })
	// A legacy stream takes a place while open.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/sse", nil)
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != http.StatusOK {
		t.Fatalf("legacy stream: %v %v", stream, err)
	}
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, r.base+"/mcp", strings.NewReader(initBody))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusServiceUnavailable:
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 9 || refused.Load() != 21 {
		t.Errorf("30 initializes racing for 9 places (one held by a legacy stream): %d took one, %d refused", ok.Load(), refused.Load())
	}
	if got := proxytest.Health(t, r.base); got != "degraded" {
		t.Errorf("health at the cap %q, want degraded", got)
	}
	cancel()
	_ = stream.Body.Close()
	// The sessions that only initialized end after the handshake timeout.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if proxytest.Health(t, r.base) == "healthy" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sessions that only initialized still hold the cap")
		}
	}
	initialize(t, r) // room again
}
