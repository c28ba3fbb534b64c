package proxytest

import (
	"net/http"
	"sync/atomic"
)

// Alternating is an http.RoundTripper that sends each request to the next
// of Hosts in turn: one MCP session through every proxy replica.
type Alternating struct {
	Hosts []string
	n     atomic.Int64
}

// RoundTrip implements http.RoundTripper.
func (a *Alternating) RoundTrip(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.URL.Host = a.Hosts[int(a.n.Add(1))%len(a.Hosts)]
	out.Host = ""
	return http.DefaultTransport.RoundTrip(out)
}
