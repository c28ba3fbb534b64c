package authn

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// offlineConfig is a config whose issuer is never asked: Challenge and
// Metadata need no network.
func offlineConfig() *proxyconfig.OIDC {
	return &proxyconfig.OIDC{
		Type:     proxyconfig.OIDCInline,
		Issuer:   "https://idp.example",
		Audience: testAudience,
		Scopes:   []string{"openid", "mcp:tools"},
	}
}

func TestChallenge(t *testing.T) {
	a := newAuth(t, offlineConfig(), Options{})
	tests := []struct {
		name           string
		err            error
		wantStatus     int
		wantHeader     http.Header
		wantRPCMessage string
	}{
		{
			name:       "no token: 401 pointing at the metadata, without an error",
			err:        noToken(),
			wantStatus: http.StatusUnauthorized,
			wantHeader: http.Header{
				"Www-Authenticate": {`Bearer resource_metadata="http://proxy.example/.well-known/oauth-protected-resource/mcp"`},
				"Content-Type":     {"application/json"},
			},
			wantRPCMessage: "unauthorized: this server needs a bearer token",
		},
		{
			name:       "a refused token: 401 with invalid_token and why",
			err:        invalid(`the token is not for audience "mcp-test"`),
			wantStatus: http.StatusUnauthorized,
			wantHeader: http.Header{
				"Www-Authenticate": {`Bearer resource_metadata="http://proxy.example/.well-known/oauth-protected-resource/mcp", error="invalid_token", error_description="the token is not for audience 'mcp-test'"`},
				"Content-Type":     {"application/json"},
			},
			wantRPCMessage: `unauthorized: the token is not for audience "mcp-test"`,
		},
		{
			name:       "the issuer unreachable: 503 with Retry-After and no challenge",
			err:        unavailable("the issuer's keys could not be fetched", 2500*time.Millisecond, errors.New("dial tcp: refused")),
			wantStatus: http.StatusServiceUnavailable,
			wantHeader: http.Header{
				"Retry-After":  {"3"},
				"Content-Type": {"application/json"},
			},
			wantRPCMessage: "cannot check the token now: the issuer's keys could not be fetched",
		},
		{
			name:       "an error that is not a Failure is a refused token",
			err:        errors.New("something else"),
			wantStatus: http.StatusUnauthorized,
			wantHeader: http.Header{
				"Www-Authenticate": {`Bearer resource_metadata="http://proxy.example/.well-known/oauth-protected-resource/mcp", error="invalid_token", error_description="the token was refused"`},
				"Content-Type":     {"application/json"},
			},
			wantRPCMessage: "unauthorized: the token was refused",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			a.Challenge(w, request(), tt.err)
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantHeader, w.Header()); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			want := map[string]any{
				"jsonrpc": "2.0",
				"id":      nil,
				"error":   map[string]any{"code": float64(-32000), "message": tt.wantRPCMessage},
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChallengeBehindAPrefix(t *testing.T) {
	a := newAuth(t, offlineConfig(), Options{ExternalURL: func(*http.Request) string { return "https://gw.example/team-a/" }})
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "http://10.0.0.7:8080/sse", nil)
	a.Challenge(w, r, noToken())
	want := `Bearer resource_metadata="https://gw.example/team-a/.well-known/oauth-protected-resource/sse"`
	if got := w.Header().Get("WWW-Authenticate"); got != want {
		t.Errorf("WWW-Authenticate = %s, want %s", got, want)
	}
}

// metadataOf is the metadata document of offlineConfig's issuer for a
// resource.
func metadataOf(resource string) map[string]any {
	return map[string]any{
		"resource":                 resource,
		"authorization_servers":    []any{"https://idp.example"},
		"bearer_methods_supported": []any{"header"},
		"scopes_supported":         []any{"openid", "mcp:tools"},
	}
}

func TestMetadata(t *testing.T) {
	withResource := offlineConfig()
	withResource.ResourceURL = "https://mcp.example/fetch"
	tests := []struct {
		name       string
		cfg        *proxyconfig.OIDC
		method     string
		target     string
		wantStatus int
		want       map[string]any // nil: no document
	}{
		{
			name: "the metadata of /mcp names the issuer, the resource and the scopes",
			cfg:  offlineConfig(), method: http.MethodGet, target: "http://proxy.example/.well-known/oauth-protected-resource/mcp",
			wantStatus: http.StatusOK,
			want:       metadataOf("http://proxy.example/mcp"),
		},
		{
			name: "the bare path describes /mcp",
			cfg:  offlineConfig(), method: http.MethodGet, target: "http://proxy.example/.well-known/oauth-protected-resource",
			wantStatus: http.StatusOK,
			want:       metadataOf("http://proxy.example/mcp"),
		},
		{
			name: "the metadata of /sse describes /sse",
			cfg:  offlineConfig(), method: http.MethodGet, target: "http://proxy.example/.well-known/oauth-protected-resource/sse",
			wantStatus: http.StatusOK,
			want:       metadataOf("http://proxy.example/sse"),
		},
		{
			name: "over TLS the resource is https",
			cfg:  offlineConfig(), method: http.MethodGet, target: "https://proxy.example/.well-known/oauth-protected-resource/mcp",
			wantStatus: http.StatusOK,
			want:       metadataOf("https://proxy.example/mcp"),
		},
		{
			name: "a configured resource URL wins",
			cfg:  withResource, method: http.MethodGet, target: "http://proxy.example/.well-known/oauth-protected-resource/mcp",
			wantStatus: http.StatusOK,
			want:       metadataOf("https://mcp.example/fetch"),
		},
		{
			name: "a look-alike path is not found",
			cfg:  offlineConfig(), method: http.MethodGet, target: "http://proxy.example/.well-known/oauth-protected-resourcez",
			wantStatus: http.StatusNotFound,
		},
		{
			name: "POST is not allowed",
			cfg:  offlineConfig(), method: http.MethodPost, target: "http://proxy.example/.well-known/oauth-protected-resource/mcp",
			wantStatus: http.StatusMethodNotAllowed,
		},
		{
			name: "a CORS preflight is answered, for browser clients",
			cfg:  offlineConfig(), method: http.MethodOptions, target: "http://proxy.example/.well-known/oauth-protected-resource/mcp",
			wantStatus: http.StatusNoContent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuth(t, tt.cfg, Options{})
			w := httptest.NewRecorder()
			r := httptest.NewRequest(tt.method, tt.target, nil)
			a.Metadata().ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (body %q)", w.Code, tt.wantStatus, w.Body)
			}
			if tt.want == nil {
				return
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}
		})
	}
}
