package proxy_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// auditLine is the part of an audit event these tests read.
type auditLine struct {
	Msg      string            `json:"msg"`
	Type     string            `json:"type"`
	Outcome  string            `json:"outcome"`
	Subjects map[string]string `json:"subjects"`
	Target   map[string]string `json:"target"`
}

func auditLines(t *testing.T, out string) []auditLine {
	t.Helper()
	var lines []auditLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("an audit line is not JSON: %v\n%s", err, sc.Text())
		}
		lines = append(lines, l)
	}
	return lines
}

// waitAudit waits until an event of typ with outcome (and target name, if
// given) is written, and returns it.
func waitAudit(t *testing.T, out *proxytest.Buffer, typ, outcome, name string) auditLine {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		for _, l := range auditLines(t, out.String()) {
			if l.Msg == "audit_event" && l.Type == typ && l.Outcome == outcome && (name == "" || l.Target["name"] == name) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s %s event for %q in:\n%s", typ, outcome, name, out.String())
		}
	}
}

// TestAuditEventsAndToolHiveMetricsOnEveryBackend: with audit on, an
// allowed call, a call the policy denies and a request without a token each
// give one event naming the caller, and /metrics counts the calls per tool
// under ToolHive's names.
func TestAuditEventsAndToolHiveMetricsOnEveryBackend(t *testing.T) {
	p := issuer(t)
	backends := []struct {
		name    string
		backend func(*proxy.Options)
		sse     bool
	}{
		{"stdio", func(*proxy.Options) {}, false},
		{"streamable-http", func(o *proxy.Options) {
			o.Transport, o.BackendURL = "streamable-http", httpServer(t, "streamable-http", false)
		}, false},
		{"sse", func(o *proxy.Options) {
			o.Transport, o.ProxyMode, o.BackendURL = "sse", "sse", httpServer(t, "sse", false)
		}, true},
	}
	for _, tc := range backends {
		backend, sse := tc.backend, tc.sse
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "access.json")
			writeAccess(t, file, proxyconfig.Access{OIDC: oidcFor(p), Authz: &proxyconfig.Authz{Policies: []string{engMayEcho}}})
			out := &proxytest.Buffer{}
			r := startProxy(t, backend, func(o *proxy.Options) {
				o.Server, o.AccessFile, o.AuditOut = "audited", file, out
				o.Audit = proxyconfig.Audit{Enabled: true}
			})
			if status := postWith(t, r.base, ""); status != http.StatusUnauthorized {
				t.Fatalf("no token: %d, want 401", status)
			}
			alice := connectAs(t, r.base, token(t, p, "alice"), sse)
			if got := callText(t, alice, "echo", map[string]any{"text": "secret-argument"}); got != "secret-argument" {
				t.Fatalf("echo = %q", got)
			}
			callErr(t, alice, "add")

			ok := waitAudit(t, out, "mcp_tool_call", "success", "echo")
			if ok.Subjects["user_id"] != "alice" || ok.Subjects["groups"] != "eng" {
				t.Errorf("the allowed call's subjects = %v, want user_id alice, groups eng", ok.Subjects)
			}
			waitAudit(t, out, "mcp_tool_call", "denied", "add")
			waitAudit(t, out, "http_request", "denied", "")
			if strings.Contains(out.String(), "secret-argument") {
				t.Errorf("an argument value is in the audit log, which does not include request data by default")
			}

			// A call is counted when its exchange ends, which may be a
			// moment after the client has read the answer.
			var m string
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				m = metricsText(t, r.base)
				if lineOf(m, "toolhive_mcp_tool_calls_total{", `tool="echo"`) != "" || time.Now().After(deadline) {
					break
				}
			}
			for _, want := range []string{`server="audited"`, `status="success"`, `tool="echo"`} {
				if !strings.Contains(lineOf(m, "toolhive_mcp_tool_calls_total{", `tool="echo"`), want) {
					t.Errorf("toolhive_mcp_tool_calls_total for echo lacks %s:\n%s", want, m)
				}
			}
			if lineOf(m, "toolhive_mcp_requests_total{", `status_code="401"`) == "" {
				t.Errorf("the 401 is not counted in toolhive_mcp_requests_total:\n%s", m)
			}
		})
	}
}

// lineOf is the first line of the exposition that starts with prefix and
// holds has.
func lineOf(exposition, prefix, has string) string {
	for _, l := range strings.Split(exposition, "\n") {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, has) {
			return l
		}
	}
	return ""
}

// The client's trace: W3C trace context in its request's headers.
const (
	clientTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientParent = "00-" + clientTrace + "-00f067aa0ba902b7-01"
)

// tracing turns on tracing at sampling 0 (only what the client samples is
// recorded) with exports to a collector that takes anything.
func tracing(t *testing.T) func(*proxy.Options) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	t.Cleanup(sink.Close)
	return func(o *proxy.Options) {
		o.Telemetry = proxyconfig.Telemetry{Endpoint: sink.Listener.Addr().String(), Insecure: true, Tracing: true}
	}
}

func callWithTrace(t *testing.T, base string) {
	t.Helper()
	client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		r.Header.Set("traceparent", clientParent)
		return http.DefaultTransport.RoundTrip(r)
	})}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "traced", Version: "1"}, nil).Connect(t.Context(),
		&mcp.StreamableClientTransport{Endpoint: base + "/mcp", HTTPClient: client}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cs.Close() }()
	callText(t, cs, "echo", map[string]any{"text": "traced"})
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestTheClientsTraceReachesTheServer: the trace a client starts goes on
// to an HTTP server in the relay's headers and to a stdio server in
// params._meta, under a span of the proxy's own.
func TestTheClientsTraceReachesTheServer(t *testing.T) {
	t.Run("streamable-http", func(t *testing.T) {
		var mu sync.Mutex
		var seen []string
		mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return mcptest.NewServer() }, nil)
		backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, r.Header.Get("traceparent"))
			mu.Unlock()
			mcpHandler.ServeHTTP(w, r)
		}))
		t.Cleanup(backend.Close)
		r := startProxy(t, tracing(t), func(o *proxy.Options) {
			o.Transport, o.BackendURL = "streamable-http", backend.URL+"/mcp"
			o.ProbeInterval = -1 // the probe's requests carry no trace
		})
		callWithTrace(t, r.base)
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 {
			t.Fatal("the backend saw no request")
		}
		for _, tp := range seen {
			if !strings.HasPrefix(tp, "00-"+clientTrace+"-") || tp == clientParent {
				t.Errorf("the backend got traceparent %q; want the client's trace %s under a span of the proxy's", tp, clientTrace)
			}
		}
	})
	t.Run("stdio", func(t *testing.T) {
		input := filepath.Join(t.TempDir(), "stdin")
		cmd := append([]string{"sh", "-c", `tee "$0" | "$@"`, input}, mcptest.Command()...)
		r := startProxy(t, tracing(t), func(o *proxy.Options) { o.BackendCommand = cmd })
		callWithTrace(t, r.base)
		data, err := os.ReadFile(input)
		if err != nil {
			t.Fatal(err)
		}
		var call map[string]any
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, `"tools/call"`) {
				_ = json.Unmarshal([]byte(line), &call)
			}
		}
		params, _ := call["params"].(map[string]any)
		meta, _ := params["_meta"].(map[string]any)
		tp, _ := meta["traceparent"].(string)
		if !strings.HasPrefix(tp, "00-"+clientTrace+"-") || tp == clientParent {
			t.Errorf("the stdio server got params._meta %v; want a traceparent in the client's trace %s under a span of the proxy's\n%s", meta, clientTrace, data)
		}
		if args, _ := params["arguments"].(map[string]any); args["text"] != "traced" {
			t.Errorf("the call's arguments changed on the way: %v", params)
		}
	})
}
