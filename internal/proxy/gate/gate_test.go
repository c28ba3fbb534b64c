package gate

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard-mcp/switchboard/internal/proxy/authn"
	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

func request(t *testing.T, headers map[string]string, body string) *pipeline.Request {
	t.Helper()
	m, err := wire.ParseOne([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return &pipeline.Request{Msg: m, HTTP: r, Caller: &pipeline.Caller{Subject: "alice", Claims: map[string]any{"groups": []any{"eng"}}}}
}

// TestHeadersMustAgreeWithTheBody: in the 2026-07-28 era the decision is
// made on the body; a header that says something else is refused.
func TestHeadersMustAgreeWithTheBody(t *testing.T) {
	g := New("srv", authn.Options{}, nil)
	g.Load(context.Background(), []byte(`{"authz":{"policies":["permit(principal, action, resource);"]}}`))
	call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`
	read := `{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///a"}}`
	tests := []struct {
		name    string
		headers map[string]string
		body    string
		refused string
	}{
		{"no headers: the body decides", nil, call, ""},
		{"headers that agree pass", map[string]string{wire.HeaderMethod: "tools/call", wire.HeaderName: "echo"}, call, ""},
		{"a URI header that agrees passes", map[string]string{wire.HeaderMethod: "resources/read", wire.HeaderName: "file:///a"}, read, ""},
		{"another method in the header is refused", map[string]string{wire.HeaderMethod: "tools/list"}, call, `Mcp-Method says "tools/list" but the body's method is "tools/call"`},
		{"another tool in the header is refused", map[string]string{wire.HeaderMethod: "tools/call", wire.HeaderName: "add"}, call, `Mcp-Name says "add" but the body names "echo"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := g.Step()(context.Background(), request(t, tt.headers, tt.body))
			switch {
			case tt.refused == "" && ref != nil:
				t.Fatalf("refused: %v", ref.Err)
			case tt.refused != "" && (ref == nil || ref.Status != http.StatusBadRequest || !strings.Contains(ref.Err.Message, tt.refused)):
				t.Fatalf("refusal %+v, want 400 saying %q", ref, tt.refused)
			}
		})
	}
}

// TestAnInvalidDocumentClosesTheGate: rules that cannot be enforced refuse
// every request with the reason, until a good document comes.
func TestAnInvalidDocumentClosesTheGate(t *testing.T) {
	g := New("srv", authn.Options{}, nil)
	if state, loaded := g.State(); loaded || !strings.HasPrefix(state, "closed: ") {
		t.Fatalf("before any document: %q loaded=%v, want closed and not loaded", state, loaded)
	}
	served := false
	h := g.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served = true }))
	for _, doc := range []string{
		`{"authz":{"policies":["permit(principal, acton, resource);"]}}`,
		`{"tools":{"overrides":{"a":{"name":"x"},"b":{"name":"x"}}}}`,
		`{"authz":{"policies":[]},"surprise":true}`,
		`{"closed":"MCPToolConfig \"t\" (spec.toolConfigRef) not found"}`,
	} {
		g.Load(context.Background(), []byte(doc))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(`{}`)))
		var body struct {
			Error struct{ Message string } `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if served || rec.Code != http.StatusServiceUnavailable || !strings.Contains(body.Error.Message, "closed") {
			t.Errorf("document %s: served=%v, %d %q; want 503 saying why", doc, served, rec.Code, body.Error.Message)
		}
		if _, loaded := g.State(); !loaded {
			t.Errorf("document %s: not counted as loaded", doc)
		}
	}
	g.Load(context.Background(), []byte(`{"tools":{"filter":["echo"]}}`))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(`{}`)))
	if state, _ := g.State(); !served || state != "enforced" {
		t.Errorf("after a good document: served=%v state %q", served, state)
	}
}

// TestDeniedCallsSayDeniedByPolicy and lists are filtered: the policy text
// never shows.
func TestDeniedCallsSayDeniedByPolicy(t *testing.T) {
	g := New("srv", authn.Options{}, nil)
	g.Load(context.Background(), []byte(`{"authz":{"policies":["permit(principal in THVGroup::\"eng\", action == Action::\"call_tool\", resource == Tool::\"echo\");"]}}`))
	ref := g.Step()(context.Background(), request(t, nil, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{}}}`))
	if ref == nil || ref.Status != http.StatusForbidden || ref.Err.Code != CodeDenied || ref.Err.Message != `denied by policy: tools/call "add" is not allowed for this caller` {
		t.Fatalf("refusal %+v", ref)
	}
	req := request(t, nil, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	if ref := g.Step()(context.Background(), req); ref != nil || req.Answer == nil {
		t.Fatalf("tools/list: refusal %+v, answer rewrite %v", ref, req.Answer != nil)
	}
	got := string(req.Answer(json.RawMessage(`{"tools":[{"name":"echo","inputSchema":{"type":"object"}},{"name":"add","inputSchema":{"type":"object"}}]}`)))
	if !strings.Contains(got, `"echo"`) || strings.Contains(got, `"add"`) {
		t.Errorf("filtered list %s, want echo only", got)
	}
}
