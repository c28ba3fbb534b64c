package proxy

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// guard wraps the MCP endpoints in the checks the MCP spec asks of a
// server: the Origin header is validated (a browser page of another origin
// must not drive the server), and a request that arrived on a loopback
// address must name a loopback host (DNS rebinding).
func guard(next http.Handler, allowedOrigins []string) http.Handler {
	return localOnly(allowOrigins(next, allowedOrigins))
}

// allowOrigins refuses a request whose Origin is neither the proxy's own
// (same host as the request names) nor listed. Requests without Origin
// (every non-browser MCP client) pass; "*" in the list allows any origin.
func allowOrigins(next http.Handler, allowed []string) http.Handler {
	any := slices.Contains(allowed, "*")
	listed := make([]string, len(allowed))
	for i, o := range allowed {
		listed[i] = normalOrigin(o)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || any || slices.Contains(listed, normalOrigin(origin)) || sameOrigin(origin, r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		wire.WriteRPCError(w, http.StatusForbidden, wire.CodeInvalidRequest,
			"Origin "+origin+" is not allowed: call from the proxy's own origin, or list this origin in the proxy's --allowed-origins")
	})
}

// normalOrigin is an origin as browsers send it: no trailing slash, lower case.
func normalOrigin(origin string) string { return strings.ToLower(strings.TrimSuffix(origin, "/")) }

// sameOrigin reports an Origin whose host and port are the request's Host.
// A Host without a port names the default port of the scheme the client
// used, which for a page of the same origin is the Origin's: the proxy's
// own scheme says nothing, as TLS often ends at an ingress in front.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(withPort(u.Host, u.Scheme), withPort(host, u.Scheme))
}

func withPort(hostport, scheme string) string {
	if _, _, err := net.SplitHostPort(hostport); err == nil {
		return hostport
	}
	if scheme == "https" {
		return net.JoinHostPort(strings.Trim(hostport, "[]"), "443")
	}
	return net.JoinHostPort(strings.Trim(hostport, "[]"), "80")
}

// localOnly guards against DNS rebinding, as the MCP spec's security best
// practices ask of local servers: a request that arrived on a loopback
// address (a proxy on a laptop, or `kubectl port-forward`) must name a
// loopback host, or a web page from evil.example resolving to 127.0.0.1
// could drive the server. Requests on other addresses (a Service, an
// Ingress) are not affected; a proxy run by hand listens on loopback only
// unless told otherwise (--bind-address).
func localOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && isLoopback(local.String()) && !isLoopback(r.Host) {
			wire.WriteRPCError(w, http.StatusForbidden, wire.CodeInvalidRequest,
				"Host "+r.Host+" is not allowed on a loopback address (DNS rebinding protection): use localhost or 127.0.0.1")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isLoopback reports whether hostport (host, or host:port) names the local
// machine: localhost, or a loopback IP.
func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
