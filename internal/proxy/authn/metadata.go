package authn

import (
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// MetadataPath is where the protected-resource metadata is served (RFC 9728
// §3): bare, or followed by the path of the resource it describes
// ("/.well-known/oauth-protected-resource/mcp").
const MetadataPath = "/.well-known/oauth-protected-resource"

// defaultResourcePath is the resource the bare MetadataPath describes: the
// streamable HTTP endpoint, which is what current clients connect to.
const defaultResourcePath = "/mcp"

// Metadata serves the protected-resource metadata (RFC 9728) at MetadataPath
// and below it: which issuer a client should get a token from, for which
// resource, with which scopes. The proxy routes both MetadataPath and
// MetadataPath+"/" here.
func (a *Authenticator) Metadata() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ok := strings.CutPrefix(r.URL.Path, MetadataPath)
		if !ok || (path != "" && !strings.HasPrefix(path, "/")) {
			http.NotFound(w, r)
			return
		}
		if path == "" || path == "/" {
			path = defaultResourcePath
		}
		md := &oauthex.ProtectedResourceMetadata{
			Resource:               a.resource(r, path),
			AuthorizationServers:   []string{a.cfg.Issuer},
			BearerMethodsSupported: []string{"header"},
			ScopesSupported:        a.cfg.Scopes,
		}
		// The SDK's handler answers CORS preflights and refuses other
		// methods, as browser-based clients need.
		auth.ProtectedResourceMetadataHandler(md).ServeHTTP(w, r)
	})
}

// resource is the identifier of the resource at path: the configured one,
// or the URL clients reach it at.
func (a *Authenticator) resource(r *http.Request, path string) string {
	if a.cfg.ResourceURL != "" {
		return a.cfg.ResourceURL
	}
	return strings.TrimSuffix(a.externalURL(r), "/") + path
}

// metadataURL is where a client refused on r finds the metadata of the
// resource it asked for. It sits under the proxy's external prefix rather
// than at the host's root (where RFC 9728 would put it), because behind an
// ingress that routes only the prefix here, the root is not ours to serve.
func (a *Authenticator) metadataURL(r *http.Request) string {
	return strings.TrimSuffix(a.externalURL(r), "/") + MetadataPath + r.URL.Path
}

// requestBaseURL is the proxy's URL as the client addressed it, when the
// proxy is not told better.
func requestBaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
