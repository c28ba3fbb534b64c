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
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
	"github.com/switchboard-mcp/switchboard/test/oidcprovider"
)

// BenchmarkAccessPath is what the gate adds to one tools/call on its way
// in: a cached bearer token, a Cedar decision and the curated name, against
// the request path with no access control (make bench measures the same
// end to end).
func BenchmarkAccessPath(b *testing.B) {
	ctx := context.Background()
	idp, err := oidcprovider.Start(ctx, oidcprovider.Options{Clients: []oidcprovider.Client{
		{ID: "bench", Secret: "s", Groups: []string{"eng"}, Audience: "bench"}}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = idp.Close() }()
	token, err := idp.Token(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	doc, _ := json.Marshal(proxyconfig.Access{
		OIDC: &proxyconfig.OIDC{Type: proxyconfig.OIDCInline, Issuer: idp.Issuer(), Audience: "bench", InsecureAllowHTTP: true, JWKSAllowPrivateIP: true},
		Authz: &proxyconfig.Authz{Policies: []string{
			`permit(principal in THVGroup::"eng", action == Action::"call_tool", resource == Tool::"echo");`}},
		Tools: &proxyconfig.Tools{Filter: []string{"say"}, Overrides: map[string]proxyconfig.ToolOverride{"echo": {Name: "say"}}},
	})
	g := New("bench", authn.Options{}, nil)
	g.Load(ctx, doc)
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"say","arguments":{"text":"ping"}}}`
	passed := 0
	run := func(b *testing.B, h http.Handler) {
		passed = 0
		loops := 0
		for b.Loop() {
			r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+token)
			h.ServeHTTP(httptest.NewRecorder(), r)
			loops++
		}
		if passed != loops {
			b.Fatalf("%d of %d calls passed the gate", passed, loops)
		}
	}
	// Both read and parse the body and run the path, as a front end does.
	through := func(path *pipeline.Path) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			msgs, _, ok := wire.ReadMessages(w, r, 1<<20, 0)
			if !ok {
				b.Fatal("body refused")
			}
			if _, _, _, ref := path.CheckAll(r, "", msgs); ref != nil {
				b.Fatalf("refused: %v", ref.Err)
			}
			passed++
		})
	}
	b.Run("off", func(b *testing.B) { run(b, through(pipeline.New(pipeline.Limits()))) })
	b.Run("on", func(b *testing.B) { run(b, g.Handler(through(pipeline.New(pipeline.Limits(), g.Step())))) })
}
