package proxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
)

const callBody = `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`

func mcpHandler() http.Handler {
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return mcptest.NewServer() }, nil)
}

// stallingCalls serves the test MCP server over streamable HTTP, except
// that a tools/call is read and never answered: a tool that hangs.
func stallingCalls(t *testing.T) string {
	t.Helper()
	sdk := mcpHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte(`"tools/call"`)) {
			<-r.Context().Done()
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sdk.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return srv.URL + "/mcp"
}

// postWithin POSTs body, giving up after d.
func postWithin(d time.Duration, url, session, body string) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	got, err := io.ReadAll(resp.Body)
	return resp, got, err
}

// Guards the response timeout of HTTP backends (--backend-response-timeout):
// a backend that took a call and never answered held the client for as long
// as the client would wait.
func TestAStalledBackendHoldsTheClientNoLongerThanTheResponseTimeout(t *testing.T) {
	relayTo := func(timeout time.Duration) func(*proxy.Options) {
		return func(o *proxy.Options) {
			o.Transport, o.BackendURL, o.BackendResponseTimeout = "streamable-http", stallingCalls(t), timeout
		}
	}
	t.Run("500ms: 504 with the request timeout code", func(t *testing.T) {
		const timeout = 500 * time.Millisecond
		r := startProxy(t, relayTo(timeout))
		session := initialize(t, r)
		start := time.Now()
		resp, body, err := postWithin(10*time.Second, r.base+"/mcp", session, callBody)
		if err != nil {
			t.Fatalf("the stalled call was never answered: %v", err)
		}
		if took := time.Since(start); took < timeout || took > timeout+time.Second {
			t.Errorf("answered after %s, want just after the %s read timeout", took, timeout)
		}
		code, msg := rpcError(t, body)
		if resp.StatusCode != http.StatusGatewayTimeout || code != -32001 ||
			!strings.Contains(msg, "--backend-response-timeout") || !strings.Contains(msg, "500ms") {
			t.Errorf("got %d %d %q; want 504, -32001 and a message naming --backend-response-timeout and 500ms", resp.StatusCode, code, msg)
		}
	})
	t.Run("0: the proxy waits as long as the client does", func(t *testing.T) {
		r := startProxy(t, relayTo(0))
		session := initialize(t, r)
		if resp, body, err := postWithin(1500*time.Millisecond, r.base+"/mcp", session, callBody); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("with no read timeout the stalled call was answered (%v %s %v); want the client to give up first", resp, body, err)
		}
	})
}

// muteTCP is a backend that accepts connections and never writes a byte,
// until answer is called; from then on it serves MCP.
func muteTCP(t *testing.T) (url string, answer func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ml := &muteListener{Listener: l}
	srv := &http.Server{Handler: mcpHandler()}
	go func() { _ = srv.Serve(ml) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String() + "/mcp", func() { ml.answering.Store(true) }
}

type muteListener struct {
	net.Listener
	answering atomic.Bool
}

// Accept hands a connection to the server only once it answers; until
// then it reads what comes and never writes.
func (l *muteListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || l.answering.Load() {
			return c, err
		}
		go func() { _, _ = io.Copy(io.Discard, c); _ = c.Close() }()
	}
}

// notFound is an HTTP server that answers 404 to everything, until answer
// is called; from then on it serves MCP.
func notFound(t *testing.T) (url string, answer func()) {
	t.Helper()
	var answering atomic.Bool
	sdk := mcpHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !answering.Load() {
			http.NotFound(w, r)
			return
		}
		sdk.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp", func() { answering.Store(true) }
}

// Guards the MCP probe of HTTP backends: a backend that accepted
// connections but did not answer MCP made a healthy proxy that sent every
// new session to it.
func TestHealthFollowsWhetherTheBackendAnswersMCP(t *testing.T) {
	for _, tt := range []struct {
		name    string
		backend func(*testing.T) (string, func())
	}{
		{"a TCP listener that never writes", muteTCP},
		{"an HTTP server that answers 404", notFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url, answer := tt.backend(t)
			r := startProxyUnready(t, func(o *proxy.Options) {
				o.Transport, o.BackendURL, o.ProbeInterval = "streamable-http", url, 100*time.Millisecond
			})
			r.waitHealth(t, http.StatusServiceUnavailable)
			if got := proxytest.Health(t, r.base); got != "unhealthy" {
				t.Errorf("/health status %q, want unhealthy", got)
			}
			if resp := post(t, r.base+"/mcp", "", "application/json", initBody); resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("a new session: %d, want 503", resp.StatusCode)
			}
			// The probe waits on the stalled backend meanwhile.
			for range 3 {
				for _, path := range []string{"/health", "/metrics"} {
					start := time.Now()
					resp, err := http.Get(r.base + path)
					if err != nil {
						t.Fatal(err)
					}
					_ = resp.Body.Close()
					if took := time.Since(start); took > time.Second {
						t.Errorf("%s took %s while the backend stalls, want under 1s", path, took)
					}
				}
				time.Sleep(200 * time.Millisecond)
			}
			answer()
			r.waitHealth(t, http.StatusOK)
			if got := proxytest.Health(t, r.base); got != "healthy" {
				t.Errorf("/health status %q once the backend answers MCP, want healthy", got)
			}
			initialize(t, r)
		})
	}
}
