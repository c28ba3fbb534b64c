package telemetry

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// The client's trace, as its traceparent header or _meta says it.
const (
	clientTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpan   = "00f067aa0ba902b7"
	metaTrace    = "0af7651916cd43dd8448eb211c80319c"
	metaSpan     = "b7ad6b7169203331"
	sampled      = "01"
	notSampled   = "00"
	addCall      = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}`
	protocolV    = "2025-06-18"
	clientRemote = "192.0.2.1:1234"
)

func traceparent(traceID, spanID, flags string) string {
	return "00-" + traceID + "-" + spanID + "-" + flags
}

// harness is a traced request path: Middleware around a front end that
// runs the path (the tracing step, then later) and lets the test answer.
type harness struct {
	tel   *Telemetry
	spans *tracetest.SpanRecorder
}

func newHarness(t *testing.T, cfg proxyconfig.Telemetry) *harness {
	t.Helper()
	spans := tracetest.NewSpanRecorder()
	tel, err := assemble(context.Background(), cfg, "github", proxyconfig.TransportStdio, prometheus.NewRegistry(), spans, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	return &harness{tel: tel, spans: spans}
}

func traced() proxyconfig.Telemetry {
	return proxyconfig.Telemetry{Endpoint: "collector:4318", Tracing: true, SamplingRate: 1}
}

// posted is what one HTTP request did on the path.
type posted struct {
	forwarded []*wire.Message
	changed   bool
	refusal   *pipeline.Refusal
}

// post sends body as one HTTP request with header through the path; answer
// (when not nil) answers the forwarded messages, as a backend would.
func (h *harness) post(t *testing.T, header http.Header, body string, injectMeta bool, later pipeline.Step, answer func(pipeline.Replies)) posted {
	t.Helper()
	steps := []pipeline.Step{h.tel.Step(injectMeta)}
	if later != nil {
		steps = append(steps, later)
	}
	path := pipeline.New(steps...)
	var x posted
	front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msgs, _, err := wire.Parse([]byte(body), 0)
		if err != nil {
			t.Fatal(err)
		}
		replies, changed, _, ref := path.CheckAll(r, "sess-1", msgs)
		x = posted{forwarded: msgs, changed: changed, refusal: ref}
		if ref == nil && answer != nil {
			answer(replies)
		}
	})
	req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	req.RemoteAddr = clientRemote
	req.Header.Set(wire.HeaderProtocolVersion, protocolV)
	for k, v := range header {
		req.Header[k] = v
	}
	h.tel.Middleware(front).ServeHTTP(httptest.NewRecorder(), req)
	return x
}

func (h *harness) span(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var names []string
	for _, s := range h.spans.Ended() {
		if s.Name() == name {
			return s
		}
		names = append(names, s.Name())
	}
	t.Fatalf("no span %q among the ended spans %q", name, names)
	return nil
}

func attrs(s sdktrace.ReadOnlySpan) map[string]string {
	out := map[string]string{}
	for _, kv := range s.Attributes() {
		out[string(kv.Key)] = kv.Value.String()
	}
	return out
}

func answerWith(m *wire.Message) func(pipeline.Replies) {
	return func(rs pipeline.Replies) { rs.Of(0).Answer(m) }
}

func result(id, result string) *wire.Message {
	return &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(id), Result: json.RawMessage(result)}
}

func header(traceparent string) http.Header { return http.Header{"Traceparent": {traceparent}} }

func TestAToolCallIsAServerSpanUnderTheHTTPSpanOfTheClientsTrace(t *testing.T) {
	h := newHarness(t, traced())
	h.post(t, header(traceparent(clientTrace, clientSpan, sampled)), addCall, false, nil, answerWith(result("7", `{"content":[]}`)))

	httpSpan, call := h.span(t, "POST /mcp"), h.span(t, "tools/call add")
	if got := httpSpan.Parent().SpanID().String(); httpSpan.SpanContext().TraceID().String() != clientTrace || got != clientSpan {
		t.Errorf("HTTP span: trace %s, parent %s; want the client's %s, %s", httpSpan.SpanContext().TraceID(), got, clientTrace, clientSpan)
	}
	if call.Parent().SpanID() != httpSpan.SpanContext().SpanID() || call.SpanContext().TraceID() != httpSpan.SpanContext().TraceID() {
		t.Errorf("tools/call span's parent is %s, want the HTTP span %s", call.Parent().SpanID(), httpSpan.SpanContext().SpanID())
	}
	if call.SpanKind() != trace.SpanKindServer || len(call.Links()) != 0 {
		t.Errorf("tools/call span: kind %s, %d links; want a server span without links", call.SpanKind(), len(call.Links()))
	}
	want := map[string]string{
		"mcp.method.name":          "tools/call",
		"gen_ai.tool.name":         "add",
		"gen_ai.operation.name":    "execute_tool",
		"jsonrpc.request.id":       "7",
		"jsonrpc.protocol.version": "2.0",
		"rpc.system.name":          "jsonrpc",
		"mcp.session.id":           "sess-1",
		"mcp.protocol.version":     protocolV,
		"mcp.server.name":          "github",
		"network.transport":        "tcp",
		"network.protocol.name":    "http",
		"network.protocol.version": "1.1",
		"client.address":           "192.0.2.1",
		"client.port":              "1234",
	}
	if diff := cmp.Diff(want, attrs(call)); diff != "" {
		t.Errorf("tools/call span attributes (-want +got):\n%s", diff)
	}
	if call.Status().Code != codes.Unset {
		t.Errorf("a successful call's status is %v, want unset", call.Status())
	}
	if a := attrs(httpSpan); a["http.request.method"] != "POST" || a["url.path"] != "/mcp" || a["http.response.status_code"] != "200" {
		t.Errorf("HTTP span lacks the HTTP conventions' attributes: %v", a)
	}
}

func TestEachMessageNamesItsSpanAndItsTarget(t *testing.T) {
	cases := []struct {
		name     string
		body     string
		wantName string
		want     map[string]string
	}{
		{"a prompt is named, as gen_ai.prompt.name",
			`{"jsonrpc":"2.0","id":"p-1","method":"prompts/get","params":{"name":"review"}}`,
			"prompts/get review", map[string]string{"gen_ai.prompt.name": "review", "jsonrpc.request.id": "p-1"}},
		{"a resource URI is an attribute but stays out of the name",
			`{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///etc/motd"}}`,
			"resources/read", map[string]string{"mcp.resource.uri": "file:///etc/motd", "jsonrpc.request.id": "2"}},
		{"a notification has no request id",
			`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}`,
			"notifications/cancelled", map[string]string{}},
		{"initialize names the client",
			`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","clientInfo":{"name":"inspector","version":"1"}}}`,
			"initialize", map[string]string{"mcp.client.name": "inspector", "jsonrpc.request.id": "0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, traced())
			h.post(t, nil, c.body, false, nil, func(rs pipeline.Replies) { rs.Of(0).Answer(result("1", `{}`)) })
			got := attrs(h.span(t, c.wantName))
			for _, k := range []string{"mcp.resource.uri", "gen_ai.prompt.name", "gen_ai.tool.name", "mcp.client.name", "jsonrpc.request.id"} {
				if got[k] != c.want[k] {
					t.Errorf("%s = %q, want %q", k, got[k], c.want[k])
				}
			}
		})
	}
}

func TestTheTraceContextInParamsMetaIsTheParentAndTheHTTPSpanALink(t *testing.T) {
	h := newHarness(t, traced())
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add","_meta":{"traceparent":"` +
		traceparent(metaTrace, metaSpan, sampled) + `","tracestate":"rojo=00f067aa0ba902b7"}}}`
	h.post(t, header(traceparent(clientTrace, clientSpan, sampled)), body, false, nil, answerWith(result("7", `{}`)))

	httpSpan, call := h.span(t, "POST /mcp"), h.span(t, "tools/call add")
	if call.SpanContext().TraceID().String() != metaTrace || call.Parent().SpanID().String() != metaSpan || !call.Parent().IsRemote() {
		t.Errorf("tools/call span: trace %s, parent %s; want _meta's %s, %s", call.SpanContext().TraceID(), call.Parent().SpanID(), metaTrace, metaSpan)
	}
	if got := call.SpanContext().TraceState().String(); got != "rojo=00f067aa0ba902b7" {
		t.Errorf("tracestate %q, want _meta's", got)
	}
	links := call.Links()
	if len(links) != 1 || links[0].SpanContext.SpanID() != httpSpan.SpanContext().SpanID() {
		t.Errorf("links %v, want one to the HTTP span %s", links, httpSpan.SpanContext().SpanID())
	}
}

func TestInjectMetaWritesTheSpanIntoMetaAndKeepsEverythingElse(t *testing.T) {
	h := newHarness(t, traced())
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"html":"<b>&</b>"},` +
		`"_meta":{"progressToken":"tok-1","example.com/k":[1,{"x":null}],"traceparent":"` + traceparent(metaTrace, metaSpan, sampled) + `","tracestate":"rojo=1"}}}`
	x := h.post(t, nil, body, true, nil, answerWith(result("7", `{}`)))

	call := h.span(t, "tools/call add")
	if !x.changed || len(x.forwarded) != 1 {
		t.Fatalf("changed=%v with %d messages; want the one message changed", x.changed, len(x.forwarded))
	}
	var got any
	if err := json.Unmarshal(x.forwarded[0].Params, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name":      "add",
		"arguments": map[string]any{"a": 1.0, "html": "<b>&</b>"},
		"_meta": map[string]any{
			"progressToken": "tok-1",
			"example.com/k": []any{1.0, map[string]any{"x": nil}},
			"traceparent":   traceparent(metaTrace, call.SpanContext().SpanID().String(), sampled),
			"tracestate":    "rojo=1",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("forwarded params (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(x.forwarded[0].Params), `"<b>&</b>"`) {
		t.Errorf("forwarded params %s escape what they kept", x.forwarded[0].Params)
	}
	if m := x.forwarded[0]; string(m.ID) != "7" || m.Method != "tools/call" {
		t.Errorf("forwarded message %+v lost its id or method", m)
	}
}

func TestInjectMetaAddsMetaToParamsWithoutAndLeavesOddParamsAlone(t *testing.T) {
	cases := []struct {
		name, params string
		wantKept     bool
	}{
		{"no params", ``, false},
		{"params without _meta", `{"name":"add"}`, false},
		{"params that are not an object", `[1,2]`, true},
		{"a _meta that is not an object", `{"name":"add","_meta":"x"}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, traced())
			body := `{"jsonrpc":"2.0","method":"notifications/initialized"}`
			if c.params != "" {
				body = `{"jsonrpc":"2.0","method":"notifications/initialized","params":` + c.params + `}`
			}
			x := h.post(t, nil, body, true, nil, nil)
			if c.wantKept {
				if x.changed || string(x.forwarded[0].Params) != c.params {
					t.Errorf("params became %s (changed=%v), want them as sent", x.forwarded[0].Params, x.changed)
				}
				return
			}
			var p struct {
				Meta map[string]string `json:"_meta"`
			}
			if err := json.Unmarshal(x.forwarded[0].Params, &p); err != nil || !strings.HasPrefix(p.Meta["traceparent"], "00-") || !x.changed {
				t.Errorf("params %s (changed=%v, %v), want a _meta with a traceparent", x.forwarded[0].Params, x.changed, err)
			}
		})
	}
}

func TestHowARequestEndsIsTheSpansStatus(t *testing.T) {
	refuse := func(_ context.Context, r *pipeline.Request) *pipeline.Refusal {
		return &pipeline.Refusal{Status: http.StatusForbidden, Err: wire.Errorf(-32003, "denied by policy: tools/call \"add\" is not allowed for this caller")}
	}
	cases := []struct {
		name       string
		later      pipeline.Step
		answer     func(pipeline.Replies)
		wantType   string
		wantStatus string
		wantDesc   string
	}{
		{"a JSON-RPC error answer", nil,
			answerWith(&wire.Message{JSONRPC: "2.0", ID: json.RawMessage("7"), Error: json.RawMessage(`{"code":-32602,"message":"unknown tool"}`)}),
			"-32602", "-32602", "unknown tool"},
		{"a refusal by a later step", refuse, nil,
			"-32003", "-32003", "denied by policy: tools/call \"add\" is not allowed for this caller"},
		{"a tool's result with isError", nil,
			answerWith(result("7", `{"content":[{"type":"text","text":"division by zero"}],"isError":true}`)),
			"tool_error", "", ""},
		{"no answer at all", nil,
			func(rs pipeline.Replies) { rs.FailAll("the client went away") },
			"_OTHER", "", "the client went away"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, traced())
			h.post(t, nil, addCall, false, c.later, c.answer)
			call := h.span(t, "tools/call add")
			a := attrs(call)
			if a["error.type"] != c.wantType || a["rpc.response.status_code"] != c.wantStatus {
				t.Errorf("error.type %q, rpc.response.status_code %q; want %q, %q", a["error.type"], a["rpc.response.status_code"], c.wantType, c.wantStatus)
			}
			if want := (sdktrace.Status{Code: codes.Error, Description: c.wantDesc}); call.Status() != want {
				t.Errorf("status %+v, want %+v", call.Status(), want)
			}
		})
	}
}

func TestANotificationsSpanEndsWhenItIsForwarded(t *testing.T) {
	h := newHarness(t, traced())
	h.post(t, nil, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, false, nil, nil)
	if s := h.span(t, "notifications/initialized"); s.Status().Code != codes.Unset {
		t.Errorf("status %v, want unset", s.Status())
	}
}

func TestAClientsAnswerToTheServerHasNoSpan(t *testing.T) {
	h := newHarness(t, traced())
	h.post(t, nil, `{"jsonrpc":"2.0","id":"srv-1","result":{}}`, true, nil, nil)
	if got := len(h.spans.Ended()); got != 1 { // the HTTP request's only
		t.Errorf("%d spans, want only the HTTP one", got)
	}
}

func TestSamplingFollowsTheClientsDecision(t *testing.T) {
	cases := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"a sampled client trace is recorded at rate 0", header(traceparent(clientTrace, clientSpan, sampled)), 2},
		{"an unsampled client trace is not", header(traceparent(clientTrace, clientSpan, notSampled)), 0},
		{"a new trace is not, at rate 0", nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := traced()
			cfg.SamplingRate = 0
			h := newHarness(t, cfg)
			h.post(t, c.header, addCall, false, nil, answerWith(result("7", `{}`)))
			if got := len(h.spans.Ended()); got != c.want {
				t.Errorf("%d spans recorded, want %d", got, c.want)
			}
		})
	}
}

func TestAnUnsampledSpanStillTellsTheBackendItsDecision(t *testing.T) {
	cfg := traced()
	cfg.SamplingRate = 0
	h := newHarness(t, cfg)
	x := h.post(t, header(traceparent(clientTrace, clientSpan, notSampled)), addCall, true, nil, nil)
	var p struct {
		Meta map[string]string `json:"_meta"`
	}
	_ = json.Unmarshal(x.forwarded[0].Params, &p)
	if tp := p.Meta["traceparent"]; !strings.HasPrefix(tp, "00-"+clientTrace+"-") || !strings.HasSuffix(tp, "-"+notSampled) {
		t.Errorf("_meta.traceparent %q, want the client's trace, not sampled", tp)
	}
}

func TestLegacyAttributesAddToolHivesOldNames(t *testing.T) {
	cfg := traced()
	cfg.LegacyAttributes = true
	h := newHarness(t, cfg)
	h.post(t, nil, addCall, false, nil, answerWith(result("7", `{}`)))
	got := attrs(h.span(t, "tools/call add"))
	want := map[string]string{"mcp.method": "tools/call", "rpc.system": "jsonrpc", "rpc.service": "mcp",
		"mcp.request.id": "7", "mcp.resource.id": "add", "mcp.tool.name": "add", "mcp.transport": "stdio",
		"gen_ai.tool.name": "add"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if a := attrs(h.span(t, "POST /mcp")); a["http.method"] != "POST" || a["http.target"] != "/mcp" {
		t.Errorf("HTTP span lacks the legacy http.* names: %v", a)
	}
}
