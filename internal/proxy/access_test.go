package proxy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
	"github.com/switchboard-mcp/switchboard/test/oidcprovider"
)

const testAudience = "mcp-test"

// issuer is a real OpenID provider on loopback whose clients alice (group
// eng) and bob (group sales) get tokens for the test audience, and eve one
// for another audience.
func issuer(t *testing.T) *oidcprovider.Provider {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := oidcprovider.Start(ctx, oidcprovider.Options{Clients: []oidcprovider.Client{
		{ID: "alice", Secret: "a", Groups: []string{"eng"}, Audience: testAudience},
		{ID: "bob", Secret: "b", Groups: []string{"sales"}, Audience: testAudience},
		{ID: "eve", Secret: "e", Groups: []string{"eng"}, Audience: "another-server"},
	}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = p.Close() })
	return p
}

func token(t *testing.T, p *oidcprovider.Provider, client string) string {
	t.Helper()
	tok, err := p.Token(context.Background(), client)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// writeAccess writes an access document for the proxy's --access-file.
func writeAccess(t *testing.T, path string, doc proxyconfig.Access) {
	t.Helper()
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	// Write then rename: the proxy never reads half a document.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func oidcFor(p *oidcprovider.Provider) *proxyconfig.OIDC {
	return &proxyconfig.OIDC{Type: proxyconfig.OIDCInline, Issuer: p.Issuer(), Audience: testAudience,
		InsecureAllowHTTP: true, JWKSAllowPrivateIP: true}
}

// connectAs connects with a token over streamable HTTP, or over the legacy
// SSE transport.
func connectAs(t *testing.T, base, tok string, sse bool) *mcp.ClientSession {
	t.Helper()
	client := &http.Client{Transport: proxytest.Bearer(tok, nil)}
	var transport mcp.Transport = &mcp.StreamableClientTransport{Endpoint: base + "/mcp", HTTPClient: client}
	ctx := context.Background() // the SSE stream lives as long as this context
	if sse {
		transport = &mcp.SSEClientTransport{Endpoint: base + "/sse", HTTPClient: client}
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "switchboard-test", Version: "1"}, nil)
	cs, err := c.Connect(ctx, transport, nil)
	if err != nil {
		t.Fatalf("connect with a token: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func toolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

// callErr calls a tool that must be refused and returns the error text.
func callErr(t *testing.T, cs *mcp.ClientSession, tool string) string {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: map[string]any{"text": "x"}})
	switch {
	case err != nil:
		return err.Error()
	case res.IsError:
		return "tool error"
	}
	t.Fatalf("call %s went through; it must be refused", tool)
	return ""
}

const engMayEcho = `permit(principal in THVGroup::"eng", action == Action::"call_tool", resource == Tool::"echo");`

// TestOIDCAndCedarOnEveryBackend: a real provider's tokens, a Cedar policy
// "group eng may call echo", for a shared stdio server and an HTTP backend.
func TestOIDCAndCedarOnEveryBackend(t *testing.T) {
	p := issuer(t)
	backends := []struct {
		name    string
		backend func(*proxy.Options)
		sse     bool // clients speak the legacy SSE transport
	}{
		{"stdio", func(*proxy.Options) {}, false},
		{"stdio offered as sse", func(o *proxy.Options) { o.ProxyMode = "sse" }, true},
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
			r := startProxy(t, backend, func(o *proxy.Options) { o.AccessFile = file })

			// No token: 401 with the metadata URL, as the MCP spec asks.
			resp, err := http.Post(r.base+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			challenge := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(challenge, `resource_metadata="`+r.base+"/.well-known/oauth-protected-resource") {
				t.Fatalf("no token: %d, WWW-Authenticate %q; want 401 naming the metadata", resp.StatusCode, challenge)
			}
			meta := getJSON(t, r.base+"/.well-known/oauth-protected-resource/mcp")
			if servers, _ := meta["authorization_servers"].([]any); len(servers) != 1 || servers[0] != p.Issuer() {
				t.Errorf("metadata authorization_servers = %v, want [%s]", meta["authorization_servers"], p.Issuer())
			}

			// A token for another audience is refused.
			if status := postWith(t, r.base, token(t, p, "eve")); status != http.StatusUnauthorized {
				t.Errorf("token for another audience: %d, want 401", status)
			}

			alice := connectAs(t, r.base, token(t, p, "alice"), sse)
			if got := toolNames(t, alice); !slices.Equal(got, []string{"echo"}) {
				t.Errorf("alice (eng) sees %v, want [echo]", got)
			}
			if got := callText(t, alice, "echo", map[string]any{"text": "hi"}); got != "hi" {
				t.Errorf("alice echo = %q", got)
			}
			if msg := callErr(t, alice, "add"); !strings.Contains(msg, "denied by policy") {
				t.Errorf("alice add: %q, want a denial by policy", msg)
			}

			bob := connectAs(t, r.base, token(t, p, "bob"), sse)
			if got := toolNames(t, bob); len(got) != 0 {
				t.Errorf("bob (sales) sees %v, want no tools", got)
			}
			if msg := callErr(t, bob, "echo"); !strings.Contains(msg, "denied by policy") {
				t.Errorf("bob echo: %q, want a denial by policy", msg)
			}

			// A policy edit applies without a restart, and bob's session
			// goes on.
			writeAccess(t, file, proxyconfig.Access{OIDC: oidcFor(p), Authz: &proxyconfig.Authz{Policies: []string{
				engMayEcho, `permit(principal in THVGroup::"sales", action == Action::"call_tool", resource == Tool::"echo");`}}})
			deadline := time.Now().Add(10 * time.Second)
			for !slices.Equal(toolNames(t, bob), []string{"echo"}) {
				if time.Now().After(deadline) {
					t.Fatal("the policy edit did not reach bob's session within 10 s")
				}
				time.Sleep(200 * time.Millisecond)
			}
			if got := callText(t, bob, "echo", map[string]any{"text": "now"}); got != "now" {
				t.Errorf("bob echo after the edit = %q", got)
			}
		})
	}
}

// TestToolCurationRenamesAndFilters: only the new name of a renamed tool is
// listed and callable; a filtered tool is callable by neither name. In
// every protocol era, on a stdio and an HTTP backend.
func TestToolCurationRenamesAndFilters(t *testing.T) {
	for _, transport := range []string{"stdio", "streamable-http"} {
		for _, era := range eras {
			t.Run(transport+"/"+era, func(t *testing.T) {
				file := filepath.Join(t.TempDir(), "access.json")
				writeAccess(t, file, proxyconfig.Access{Tools: &proxyconfig.Tools{
					Filter:    []string{"say"},
					Overrides: map[string]proxyconfig.ToolOverride{"echo": {Name: "say", Description: "Says it back."}},
				}})
				r := startProxy(t, func(o *proxy.Options) {
					o.AccessFile = file
					if transport != "stdio" {
						// The Go SDK's handler speaks 2026-07-28 only when stateless.
						o.Transport, o.BackendURL = transport, httpServer(t, transport, era == "2026-07-28")
					}
				})
				checkCurated(t, connect(t, r, era, nil))
			})
		}
	}
}

func checkCurated(t *testing.T, cs *mcp.ClientSession) {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tools) != 1 || res.Tools[0].Name != "say" || res.Tools[0].Description != "Says it back." {
		t.Fatalf("tools/list = %+v, want only say, re-described", res.Tools)
	}
	if got := callText(t, cs, "say", map[string]any{"text": "renamed"}); got != "renamed" {
		t.Errorf("say = %q", got)
	}
	for _, hidden := range []string{"echo", "add"} {
		if msg := callErr(t, cs, hidden); !strings.Contains(msg, "unknown tool") {
			t.Errorf("call %s: %q, want unknown tool", hidden, msg)
		}
	}
}

// TestMissingAccessDocumentFailsClosed: a proxy told to enforce a document
// it cannot read refuses every request, saying why, and never serves open.
func TestMissingAccessDocumentFailsClosed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "access.json")
	writeAccess(t, file, proxyconfig.Access{Closed: `MCPAuthzConfig "cedar" (spec.authzConfigRef) not found`})
	r := startProxy(t, func(o *proxy.Options) { o.AccessFile = file })
	resp, err := http.Post(r.base+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct{ Message string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body.Error.Message, `MCPAuthzConfig "cedar"`) {
		t.Errorf("closed proxy answered %d %q; want 503 naming the missing config", resp.StatusCode, body.Error.Message)
	}
}

func postWith(t *testing.T, base, tok string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func getJSON(t *testing.T, url string) map[string]any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return out
}

// TestTheTokenStaysWithTheProxy: the proxy checks the bearer token and does
// not pass it on to the MCP server; probes and metrics need none.
func TestTheTokenStaysWithTheProxy(t *testing.T) {
	p := issuer(t)
	var seen atomic.Value
	seen.Store("")
	sdk := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return mcptest.NewServer() }, nil)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); h != "" {
			seen.Store(h)
		}
		sdk.ServeHTTP(w, r)
	}))
	t.Cleanup(backend.Close)
	file := filepath.Join(t.TempDir(), "access.json")
	writeAccess(t, file, proxyconfig.Access{OIDC: oidcFor(p)})
	r := startProxy(t, func(o *proxy.Options) {
		o.AccessFile, o.Transport, o.BackendURL = file, "streamable-http", backend.URL+"/mcp"
	})
	cs := connectAs(t, r.base, token(t, p, "alice"), false)
	if got := callText(t, cs, "echo", map[string]any{"text": "x"}); got != "x" {
		t.Fatalf("echo = %q", got)
	}
	if h := seen.Load().(string); h != "" {
		t.Errorf("the MCP server got an Authorization header (%d bytes); the proxy must keep the token", len(h))
	}
	for _, path := range []string{"/health", "/livez", "/metrics"} {
		resp, err := http.Get(r.base + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s without a token: %d, want 200", path, resp.StatusCode)
		}
	}
}
