package proxy

import (
	"encoding/json"
	"net/http"
)

type healthReport struct {
	Status    string `json:"status"`
	Backend   string `json:"backend"`
	Transport string `json:"transport"`
	Sessions  int    `json:"sessions"`
	// MaxSessions is the cap Sessions counts toward.
	MaxSessions int  `json:"maxSessions"`
	Draining    bool `json:"draining,omitempty"`
	// SessionStorage is "ok", or what is wrong with the shared store.
	SessionStorage string `json:"sessionStorage"`
	// Access is "enforced", or why every MCP request is refused; empty
	// when the server controls no access.
	Access string `json:"access,omitempty"`
	// Reason says why the status is not healthy.
	Reason string `json:"reason,omitempty"`
}

// health is the readiness probe: 503 while the backend is unreachable (or
// does not answer MCP) or the proxy drains, so a Ready proxy pod means the
// whole chain works. It reads only atomic state and never waits on I/O.
func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	rep := healthReport{Status: "healthy", Backend: "attached", Transport: s.opts.Transport,
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
	if !s.attached() {
		rep.Status, rep.Backend, code = "unhealthy", "detached", http.StatusServiceUnavailable
		rep.Reason = "no backend takes MCP messages now (stdio: not running or not attached; HTTP: no ready pod answers MCP)"
	}
	if rep.Draining {
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(rep)
}
