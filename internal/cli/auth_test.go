package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
)

const goodToken = "s3cret"

// guarded is the test MCP server behind a check like the proxy's: a
// request without "Bearer s3cret" gets 401 with a WWW-Authenticate header
// pointing at the resource metadata, and a tools/call of a tool in denied
// gets 403 with a JSON-RPC error.
type guarded struct {
	url    string
	denied string

	mu   sync.Mutex
	seen []string
}

func newGuarded(t *testing.T) *guarded {
	t.Helper()
	g := &guarded{denied: "whoami"}
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return mcptest.NewServer() }, nil))
	mux.Handle("/sse", mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return mcptest.NewServer() }, nil))
	srv := httptest.NewServer(g.check(mux))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

func (g *guarded) check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		g.mu.Lock()
		g.seen = append(g.seen, fmt.Sprintf("%s %s: %s", r.Method, r.URL.Path, auth))
		g.mu.Unlock()
		switch auth {
		case "":
			w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer resource_metadata=%q", g.url+"/.well-known/oauth-protected-resource/mcp"))
			rpcError(w, http.StatusUnauthorized, "unauthorized: this server needs a bearer token")
			return
		case "Bearer " + goodToken:
		default:
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer resource_metadata=%q, error="invalid_token", error_description="the token has expired"`,
				g.url+"/.well-known/oauth-protected-resource/mcp"))
			rpcError(w, http.StatusUnauthorized, "unauthorized: the token has expired")
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var msg struct {
			Method string `json:"method"`
			Params struct {
				Name string `json:"name"`
			} `json:"params"`
		}
		if json.Unmarshal(body, &msg) == nil && msg.Method == "tools/call" && msg.Params.Name == g.denied {
			rpcError(w, http.StatusForbidden, "denied by policy: tools/call "+g.denied)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func rpcError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"jsonrpc": "2.0", "id": nil, "error": map[string]any{"code": -32001, "message": message},
	})
}

// authorizations are the distinct Authorization headers the server saw.
func (g *guarded) authorizations() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var auths []string
	for _, s := range g.seen {
		_, auth, _ := strings.Cut(s, ": ")
		if !slices.Contains(auths, auth) {
			auths = append(auths, auth)
		}
	}
	return auths
}

func (g *guarded) requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.seen...)
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTheTokenGoesOnEveryRequest(t *testing.T) {
	tests := []struct {
		name  string
		env   string
		flags func(t *testing.T) []string
	}{
		{"--token", "", func(*testing.T) []string { return []string{"--token", goodToken} }},
		{"SWITCHBOARD_TOKEN when no flag is given", goodToken, func(*testing.T) []string { return nil }},
		{"--token over SWITCHBOARD_TOKEN", "stale", func(*testing.T) []string { return []string{"--token", goodToken} }},
		{"--token-file, trimmed", "", func(t *testing.T) []string { return []string{"--token-file", writeFile(t, goodToken+"\n")} }},
		{"--token-file over SWITCHBOARD_TOKEN", "stale", func(t *testing.T) []string { return []string{"--token-file", writeFile(t, goodToken)} }},
	}
	for _, tt := range tests {
		for _, path := range []string{"/mcp", "/sse"} {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				t.Setenv("SWITCHBOARD_TOKEN", tt.env)
				g := newGuarded(t)
				flags := append([]string{"--server", g.url + path}, tt.flags(t)...)

				out, errOut, code := run(t, append([]string{"mcp", "list", "tools"}, flags...)...)
				if code != 0 || !strings.Contains(out, "echo") {
					t.Fatalf("list tools exited %d: %q %q", code, out, errOut)
				}
				out, errOut, code = run(t, append([]string{"mcp", "call-tool", "--tool", "add", "--args", `{"a":20,"b":22}`}, flags...)...)
				if code != 0 || strings.TrimSpace(out) != "42" {
					t.Fatalf("call-tool exited %d: %q %q", code, out, errOut)
				}
				if diff := cmp.Diff([]string{"Bearer " + goodToken}, g.authorizations()); diff != "" {
					t.Errorf("Authorization headers (-want +got):\n%s\nrequests: %q", diff, g.requests())
				}
				// The legacy transport opens its stream with a GET; the
				// streamable one ends its session with a DELETE.
				want := map[string]string{"/mcp": "DELETE /mcp", "/sse": "GET /sse"}[path]
				if !strings.Contains(strings.Join(g.requests(), "\n"), want) {
					t.Errorf("no %s among %q", want, g.requests())
				}
			})
		}
	}
}

func TestARefusalSaysWhyAndWhatToDo(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantErrs []string
	}{
		{
			name: "no token: 401 names the resource metadata and how to pass a token",
			args: []string{"mcp", "list", "tools"},
			wantErrs: []string{
				"401 Unauthorized: it needs a bearer token",
				"resource_metadata: URL/.well-known/oauth-protected-resource/mcp",
				"pass a bearer token with --token, --token-file or SWITCHBOARD_TOKEN",
			},
		},
		{
			name: "a refused token: 401 says why",
			args: []string{"mcp", "list", "tools", "--token", "expired"},
			wantErrs: []string{
				"401 Unauthorized: it refused the bearer token (the token has expired)",
				"resource_metadata: URL/.well-known/oauth-protected-resource/mcp",
				"pass a bearer token with --token, --token-file or SWITCHBOARD_TOKEN",
			},
		},
		{
			name: "a denied call: 403 says the token is fine and gives the server's reason",
			args: []string{"mcp", "call-tool", "--tool", "whoami", "--token", goodToken},
			wantErrs: []string{
				"call whoami: the server answered 403 Forbidden: the token is valid but the server's policy denies this call: denied by policy: tools/call whoami",
			},
		},
	}
	for _, tt := range tests {
		for _, path := range []string{"/mcp", "/sse"} {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				t.Setenv("SWITCHBOARD_TOKEN", "")
				g := newGuarded(t)
				_, errOut, code := run(t, append(tt.args, "--server", g.url+path)...)
				if code != 1 {
					t.Errorf("exit %d, want 1", code)
				}
				for _, want := range tt.wantErrs {
					if want = strings.ReplaceAll(want, "URL", g.url); !strings.Contains(errOut, want) {
						t.Errorf("stderr %q\ndoes not say %q", errOut, want)
					}
				}
			})
		}
	}
}

func TestTheTokenStaysWithTheServersOrigin(t *testing.T) {
	elsewhere := newGuarded(t)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.url+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)

	_, errOut, _ := run(t, "mcp", "list", "tools", "--server", redirect.URL+"/mcp", "--token", goodToken)
	if diff := cmp.Diff([]string{""}, elsewhere.authorizations()); diff != "" {
		t.Errorf("Authorization headers at the other origin (-want +got):\n%s\nstderr: %s", diff, errOut)
	}
}

func TestBadTokenFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    func(t *testing.T) []string
		code    int
		wantErr string
	}{
		{"--token and --token-file together", func(t *testing.T) []string {
			return []string{"--token", "a", "--token-file", writeFile(t, "b")}
		}, 2, "give --token or --token-file, not both"},
		{"a --token-file that is not there", func(*testing.T) []string {
			return []string{"--token-file", "/nonexistent/token"}
		}, 1, "read --token-file: open /nonexistent/token"},
		{"an empty --token-file", func(t *testing.T) []string {
			return []string{"--token-file", writeFile(t, " \n")}
		}, 1, "is empty"},
		{"a token with the scheme pasted in", func(*testing.T) []string {
			return []string{"--token", "Bearer abc"}
		}, 1, `the token from --token has spaces or control characters in it; give the token alone, without "Bearer "`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"mcp", "list", "tools", "--server", "http://127.0.0.1:1/mcp"}, tt.args(t)...)
			_, errOut, code := run(t, args...)
			if code != tt.code || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code, tt.wantErr)
			}
		})
	}
}
