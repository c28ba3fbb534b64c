package proxyconfig

// Health is what the proxy answers on HealthPath, and what the operator
// reads to tell whether the server is Ready. The answer is 200 when the
// proxy serves (Status healthy or degraded), 503 when it does not
// (unhealthy, or draining), with Reason saying why.
type Health struct {
	// Status is healthy, degraded or unhealthy.
	Status string `json:"status"`
	// Backend is attached, or detached when no backend takes MCP messages.
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
	// Server is what the MCP server said of itself when it last answered
	// an MCP handshake through the proxy; absent until it has.
	Server *HealthServer `json:"server,omitempty"`
	// Reason says why the status is not healthy.
	Reason string `json:"reason,omitempty"`
}

// HealthServer is what an MCP server said of itself. Its presence means
// the server answered MCP; a stdio server says what it is only in its
// handshake, which belongs to its first client, so until one came the
// object is empty.
type HealthServer struct {
	Name            string `json:"name,omitempty"`
	Version         string `json:"version,omitempty"`
	ProtocolVersion string `json:"protocolVersion,omitempty"`
	// Tools is the number of tools clients see (the server's, through the
	// tool configuration's filter); absent until the server listed them.
	Tools *int `json:"tools,omitempty"`
}
