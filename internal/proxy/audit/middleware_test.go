package audit

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// withExchange installs the request's Exchange, as the server does
// before the audit middleware.
func withExchange(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, _ := pipeline.WithExchange(r.Context())
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func request(method, target string, header map[string]string) *http.Request {
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	}
	r := httptest.NewRequest(method, target, body)
	r.RemoteAddr = "10.1.2.3:50000"
	r.Header.Set("User-Agent", "test-client/1.0")
	for k, v := range header {
		r.Header.Set(k, v)
	}
	return r
}

func TestMiddlewareRecordsRequestsWithoutMessages(t *testing.T) {
	anonymousSubjects := map[string]any{"user": "anonymous"}
	event := func(typ, outcome string, subjects, sourceExtra, target, extra map[string]any) map[string]any {
		return map[string]any{
			"level": "AUDIT", "msg": "audit_event", "type": typ, "logged_at": loggedAt, "outcome": outcome,
			"component": "github", "source": map[string]any{"type": "network", "value": "10.1.2.3", "extra": sourceExtra},
			"subjects": subjects, "target": target, "metadata": map[string]any{"extra": extra},
		}
	}
	ua := map[string]any{"user_agent": "test-client/1.0"}
	postMCP := map[string]any{"endpoint": "/mcp", "method": "POST", "type": "endpoint"}
	httpExtra := func(status float64) map[string]any {
		return map[string]any{"transport": "http", "backend_transport": "stdio", "duration_ms": 42.0, "status_code": status}
	}
	eventStream := map[string]string{"Accept": "text/event-stream"}

	tests := []struct {
		name  string
		req   *http.Request
		inner func(t *testing.T, out *output, w http.ResponseWriter, r *http.Request)
		want  map[string]any
	}{{
		name: "a 401 from authentication before any message is denied",
		req:  request(http.MethodPost, "/mcp", nil),
		inner: func(_ *testing.T, _ *output, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			wire.HTTPError(w, http.StatusUnauthorized, "invalid token")
		},
		want: event("http_request", "denied", anonymousSubjects, ua, postMCP, httpExtra(401)),
	}, {
		name: "a 503 while the proxy is closed is an error",
		req:  request(http.MethodPost, "/mcp", nil),
		inner: func(_ *testing.T, _ *output, w http.ResponseWriter, _ *http.Request) {
			wire.WriteRPCError(w, http.StatusServiceUnavailable, wire.CodeServerError, "this MCP server is closed")
		},
		want: event("http_request", "error", anonymousSubjects, ua, postMCP, httpExtra(503)),
	}, {
		name: "a body that does not parse is the client's failure",
		req:  request(http.MethodPost, "/mcp", nil),
		inner: func(_ *testing.T, _ *output, w http.ResponseWriter, _ *http.Request) {
			wire.WriteRPCError(w, http.StatusBadRequest, wire.CodeParseError, "malformed JSON")
		},
		want: event("http_request", "failure", anonymousSubjects, ua, postMCP, httpExtra(400)),
	}, {
		name: "a DELETE of a session is recorded with the session",
		req:  request(http.MethodDelete, "/mcp", map[string]string{wire.HeaderSessionID: "sess-2"}),
		inner: func(_ *testing.T, _ *output, w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		},
		want: event("http_request", "success", anonymousSubjects,
			map[string]any{"user_agent": "test-client/1.0", "session_id": "sess-2"},
			map[string]any{"endpoint": "/mcp", "method": "DELETE", "type": "endpoint"}, httpExtra(204)),
	}, {
		name: "a legacy SSE stream's opening is an sse_connection, recorded while the stream is open",
		req:  request(http.MethodGet, "/sse", eventStream),
		inner: func(t *testing.T, out *output, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("flush through the middleware: %v", err)
			}
			select {
			case <-out.wrote:
			case <-time.After(5 * time.Second):
				t.Error("the stream's opening was not recorded while it was open")
			}
		},
		want: event("sse_connection", "success", anonymousSubjects, ua,
			map[string]any{"endpoint": "/sse", "method": "GET", "type": "sse_endpoint"},
			map[string]any{"transport": "sse", "backend_transport": "stdio", "duration_ms": 42.0, "status_code": 200.0, "user_agent": "test-client/1.0"}),
	}, {
		name: "a stream opened by an authenticated caller names them",
		req:  request(http.MethodGet, "/mcp", eventStream),
		inner: func(_ *testing.T, _ *output, w http.ResponseWriter, r *http.Request) {
			pipeline.ExchangeOf(r).Caller = ada
			w.(http.Flusher).Flush()
		},
		want: event("sse_connection", "success", map[string]any{"user": "Ada Lovelace", "user_id": "u-1", "groups": "eng,ops,admin"}, ua,
			map[string]any{"endpoint": "/mcp", "method": "GET", "type": "sse_endpoint"},
			map[string]any{"transport": "http", "backend_transport": "stdio", "duration_ms": 42.0, "status_code": 200.0, "user_agent": "test-client/1.0"}),
	}, {
		name: "a handler that panics before answering is an error",
		req:  request(http.MethodPost, "/mcp", nil),
		inner: func(_ *testing.T, _ *output, _ http.ResponseWriter, _ *http.Request) {
			panic(http.ErrAbortHandler)
		},
		want: event("http_request", "error", anonymousSubjects, ua, postMCP, httpExtra(500)),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := newOutput()
			a := newAuditor(t, proxyconfig.Audit{Enabled: true}, out)
			h := withExchange(a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.inner(t, out, w, r)
			})))
			rr := httptest.NewRecorder()
			serve(t, h, rr, tc.req)
			got := closeAndRead(t, a, out)
			if diff := cmp.Diff([]map[string]any{tc.want}, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// serve runs h as net/http would, which recovers a handler's
// ErrAbortHandler panic.
func serve(t *testing.T, h http.Handler, w http.ResponseWriter, r *http.Request) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			if err, ok := v.(error); !ok || !errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
		}
	}()
	h.ServeHTTP(w, r)
}

func TestMiddlewareKeepsStreamsFlushing(t *testing.T) {
	out := newOutput()
	a := newAuditor(t, proxyconfig.Audit{Enabled: true}, out)
	rr := httptest.NewRecorder()
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "event: endpoint\ndata: /messages\n\n")
		w.(http.Flusher).Flush()
		if got := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Second)); !errors.Is(got, http.ErrNotSupported) {
			// The recorder supports no deadline: reaching it through
			// Unwrap is what says ErrNotSupported rather than failing.
			t.Errorf("SetWriteDeadline through the middleware: %v", got)
		}
	}))
	h.ServeHTTP(rr, request(http.MethodGet, "/sse", map[string]string{"Accept": "text/event-stream"}))
	if !rr.Flushed {
		t.Error("the flush did not reach the client's writer")
	}
	if got := rr.Body.String(); got != "event: endpoint\ndata: /messages\n\n" {
		t.Errorf("body %q", got)
	}
}

func TestAMessageTheStepRecordedIsNotRecordedAgain(t *testing.T) {
	out := newOutput()
	a := newAuditor(t, proxyconfig.Audit{Enabled: true}, out)
	path := pipeline.New(a.Step())
	frontEnd := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msgs, _, ok := wire.ReadMessages(w, r, 1<<20, 0)
		if !ok {
			return
		}
		replies, _, _, _ := path.CheckAll(r, "", msgs)
		replies.Of(0).Answer(parse(t, `{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}`)[0])
		w.WriteHeader(http.StatusOK)
	})
	withExchange(a.Middleware(frontEnd)).ServeHTTP(httptest.NewRecorder(), request(http.MethodPost, "/mcp", nil))

	var got []string
	for _, e := range closeAndRead(t, a, out) {
		got = append(got, e["type"].(string)+" "+e["outcome"].(string))
	}
	if diff := cmp.Diff([]string{"mcp_tools_list success"}, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestStatusOutcomeIsToolHives(t *testing.T) {
	got := map[int]string{}
	for _, s := range []int{0, 101, 200, 202, 204, 302, 400, 401, 403, 404, 405, 413, 500, 502, 503} {
		got[s] = statusOutcome(s)
	}
	want := map[int]string{
		0: "success", 101: "success", 200: "success", 202: "success", 204: "success", 302: "success",
		400: "failure", 401: "denied", 403: "denied", 404: "failure", 405: "failure", 413: "failure",
		500: "error", 502: "error", 503: "error",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}
