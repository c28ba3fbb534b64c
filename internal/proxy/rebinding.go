package proxy

import (
	"net"
	"net/http"
	"strings"
)

// localOnly guards against DNS rebinding, as the MCP spec's security best
// practices ask of local servers: a request that arrived on a loopback
// address (a proxy on a laptop, or `kubectl port-forward`) must name a
// loopback host, or a web page from evil.example resolving to 127.0.0.1
// could drive the server. Requests on other addresses (a Service, an
// Ingress) are not affected.
func localOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && isLoopback(local.String()) && !isLoopback(r.Host) {
			writeRPCError(w, http.StatusForbidden, codeInvalidRequest,
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
