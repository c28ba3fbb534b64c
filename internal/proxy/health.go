package proxy

import (
	"encoding/json"
	"net/http"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// health is the readiness probe: 503 while the backend is unreachable or
// has not answered MCP, or the proxy drains, so a Ready proxy pod means
// the whole chain works. It reads only atomic state and never waits on
// I/O; what the server said of itself is in the answer's server object.
func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	rep := proxyconfig.Health{Status: "healthy", Backend: "attached", Transport: s.opts.Transport,
		Sessions: s.sessions.Count(), MaxSessions: s.sessions.Max(), Draining: s.draining.Load(), SessionStorage: "ok"}
	code := http.StatusOK
	if s.sessions.Full() {
		// New clients are turned away until sessions end; those it holds
		// are served, so the pod stays in the Service.
		rep.Status, rep.Reason = "degraded", "at the session cap: new sessions are refused"
	}
	if s.storageDegraded() {
		// Still serving the sessions it can route: not a reason to leave
		// the Service, but worth a look.
		rep.Status, rep.SessionStorage = "degraded", "redis unreachable"
	}
	if s.gate != nil {
		state, loaded := s.gate.State()
		rep.Access = state
		switch {
		case !loaded:
			// Not ready until it can enforce what it was told to.
			rep.Status, rep.Reason, code = "unhealthy", "the access rules are not loaded yet", http.StatusServiceUnavailable
		case state != "enforced":
			// Ready, so that clients get the reason in the refusal rather
			// than no endpoint at all.
			rep.Status, rep.Reason = "degraded", "every MCP request is refused: "+state
		}
	}
	desc, why := s.described()
	if desc != nil {
		rep.Server = &proxyconfig.HealthServer{Name: desc.Name, Version: desc.Version, ProtocolVersion: desc.ProtocolVersion,
			Tools: s.visibleTools(desc)}
	}
	switch {
	case !s.attached():
		rep.Status, rep.Backend, code = "unhealthy", "detached", http.StatusServiceUnavailable
		rep.Reason = "no backend takes MCP messages now (stdio: not running or not attached; HTTP: no ready pod answers MCP)"
		if why != "" {
			rep.Reason += ": " + why
		}
	case desc == nil && why != "":
		// Running is not enough: a server that does not speak MCP on the
		// configured transport (a common misconfiguration) is not ready.
		rep.Status, rep.Reason, code = "unhealthy", "the MCP server has not answered MCP: "+why, http.StatusServiceUnavailable
	}
	if rep.Draining {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(rep)
}

// visibleTools counts the tools clients see: the server's, through the
// tool configuration's filter; nil until the server listed them.
func (s *Server) visibleTools(desc *wire.Description) *int {
	if desc.Tools == nil {
		return nil
	}
	n := len(desc.Tools)
	if s.gate != nil {
		n = s.gate.VisibleTools(desc.Tools)
	}
	return &n
}
