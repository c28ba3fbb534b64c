package proxy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
)

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}`

func post(t *testing.T, url, session, contentType, body string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json, text/event-stream")
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// deleteSession ends a session at url and returns the status.
func deleteSession(t *testing.T, url, session string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, url, nil)
	req.Header.Set("Mcp-Session-Id", session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// initialize opens a session by hand and returns its id.
func initialize(t *testing.T, r *running) string {
	t.Helper()
	resp := post(t, r.base+"/mcp", "", "application/json", initBody)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Mcp-Session-Id") == "" {
		t.Fatalf("initialize: %d, session %q", resp.StatusCode, resp.Header.Get("Mcp-Session-Id"))
	}
	first := readEvent(t, resp.Body)
	if !strings.Contains(first, `"serverInfo"`) {
		t.Fatalf("initialize answered %s", first)
	}
	return resp.Header.Get("Mcp-Session-Id")
}

// rpcError is the code and message of the JSON-RPC error in body.
func rpcError(t *testing.T, body []byte) (int, string) {
	t.Helper()
	var m struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Error == nil {
		t.Errorf("not a JSON-RPC error: %q", body)
		return 0, ""
	}
	return m.Error.Code, m.Error.Message
}

func readEvent(t *testing.T, body io.Reader) string {
	t.Helper()
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			return data
		}
	}
	t.Fatalf("no event in the stream: %v", sc.Err())
	return ""
}

func TestBadInputGetsAnErrorAndTheProxyKeepsServing(t *testing.T) {
	r := startProxy(t, func(o *proxy.Options) { o.MaxBodyBytes = 2048 })
	session := initialize(t, r)
	tools := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	tests := []struct {
		name        string
		session     string
		contentType string
		body        string
		header      []string
		wantStatus  int
		wantBody    string
	}{
		{"malformed JSON", session, "application/json", `{"jsonrpc":`, nil, 400, `"code":-32700`},
		{"not JSON-RPC", session, "application/json", `{"hello":"world"}`, nil, 400, "not a JSON-RPC 2.0 message"},
		{"an object id", session, "application/json", `{"jsonrpc":"2.0","id":{},"method":"ping"}`, nil, 400, "id must be a string or a number"},
		{"wrong content type", session, "text/plain", tools, nil, 415, "Content-Type must be application/json"},
		{"oversized body", session, "application/json", `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"` + strings.Repeat("x", 4096) + `"}}}`, nil, 413, "request body exceeds 2048 bytes"},
		{"a batch where 2025-06-18 forbids it", session, "application/json", "[" + tools + "]", []string{"Mcp-Protocol-Version", "2025-06-18"}, 400, "batches are not allowed"},
		{"an unknown session", "no-such-session", "application/json", tools, nil, 404, "session not found"},
		{"no session on a non-initialize", "", "application/json", tools, nil, 400, "missing Mcp-Session-Id"},
		{"an empty batch", session, "application/json", "[]", nil, 400, "empty batch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, r.base+"/mcp", tt.session, tt.contentType, tt.body, tt.header...)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("got %d %q, want %d containing %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	// Still serving the good session.
	resp := post(t, r.base+"/mcp", session, "application/json", tools)
	if ev := readEvent(t, resp.Body); !strings.Contains(ev, `"echo"`) {
		t.Errorf("tools/list after the bad input: %s", ev)
	}
}

func TestDeleteEndsTheSession(t *testing.T) {
	r := startProxy(t)
	session := initialize(t, r)
	if got := deleteSession(t, r.base+"/mcp", session); got != http.StatusNoContent {
		t.Fatalf("DELETE: %d", got)
	}
	if got := post(t, r.base+"/mcp", session, "application/json", `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`).StatusCode; got != 404 {
		t.Errorf("POST after DELETE: %d, want 404 so the client re-initializes", got)
	}
}

func TestDrainLetsRequestsInFlightFinishAndRefusesNewSessions(t *testing.T) {
	r := startProxy(t)
	cs := connect(t, r, sessionful, nil)
	result := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "progress", Arguments: map[string]any{"steps": 10, "delayMs": 100}})
		if err == nil && res.Content[0].(*mcp.TextContent).Text != "done" {
			err = io.ErrUnexpectedEOF
		}
		result <- err
	}()
	time.Sleep(200 * time.Millisecond) // the call is under way
	r.stop()                           // what SIGTERM does

	// Readiness goes first; a new session is refused while the call runs.
	var health struct {
		Draining bool `json:"draining"`
	}
	deadline := time.Now().Add(2 * time.Second)
	for !health.Draining && time.Now().Before(deadline) {
		if resp, err := http.Get(r.base + "/health"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&health)
			_ = resp.Body.Close()
			if health.Draining && resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("/health while draining: %d, want 503", resp.StatusCode)
			}
		}
	}
	if !health.Draining {
		t.Fatal("/health never reported draining")
	}
	if err := <-result; err != nil {
		t.Errorf("the call in flight failed during the drain: %v", err)
	}
	if err := <-r.done; err != nil {
		t.Errorf("Serve after the drain: %v", err)
	}
	r.done <- nil // for the cleanup
}

func TestMetricsCountRequestsSessionsAndBackendState(t *testing.T) {
	r := startProxy(t)
	initialize(t, r)
	// The request is counted when its handler returns, just after the
	// client has read its answer.
	var body []byte
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(r.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if strings.Contains(string(body), `endpoint="/mcp",method="POST"} 1`) {
			break
		}
	}
	for _, want := range []string{
		`switchboard_proxy_http_requests_total{code="200",endpoint="/mcp",method="POST"} 1`,
		`switchboard_proxy_http_request_duration_seconds_count{endpoint="/mcp",method="POST"} 1`,
		"switchboard_proxy_active_sessions 1",
		"switchboard_proxy_backend_up 1",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
