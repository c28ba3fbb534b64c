package audit

// What an event says of the request: who sent it, from where, over which
// transport.

import (
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// subjects is who the caller is, in ToolHive's keys: the token's subject,
// a name to show (name, else preferred_username, else email, else
// "anonymous"), the client's name and version when the token says, and
// (ours) the groups and roles the authorization policies test.
func subjects(c *pipeline.Caller) map[string]string {
	s := map[string]string{}
	var claims map[string]any
	if c != nil {
		claims = c.Claims
		if c.Subject != "" {
			s[subjectKeyUserID] = c.Subject
		}
	}
	s[subjectKeyUser] = anonymous
	for _, k := range []string{"name", "preferred_username", "email"} {
		if v, _ := claims[k].(string); v != "" {
			s[subjectKeyUser] = v
			break
		}
	}
	for claim, key := range map[string]string{"client_name": subjectKeyClientName, "client_version": subjectKeyClientVersion} {
		if v, _ := claims[claim].(string); v != "" {
			s[key] = v
		}
	}
	if g := groups(claims); len(g) > 0 {
		s[subjectKeyGroups] = strings.Join(g, ",")
	}
	return s
}

// groups are the "groups" and "roles" claims' strings, without repeats,
// in order: the default claims the authorization policies read.
func groups(claims map[string]any) []string {
	var all []string
	for _, name := range []string{"groups", "roles"} {
		switch v := claims[name].(type) {
		case []string:
			all = append(all, v...)
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					all = append(all, s)
				}
			}
		}
	}
	seen := make(map[string]bool, len(all))
	return slices.DeleteFunc(all, func(g string) bool {
		dup := seen[g]
		seen[g] = true
		return dup
	})
}

// clientIP is the host of the caller's address. Forwarding headers are
// not read: a client could write any address into them, and an audit
// record must not be the client's to forge.
func clientIP(c *pipeline.Caller, r *http.Request) string {
	addr := r.RemoteAddr
	if c != nil && c.Addr != "" {
		addr = c.Addr
	}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// sourceExtra is what the request says of its client: user agent, the
// X-Request-ID a gateway gave it, and the MCP session.
func sourceExtra(r *http.Request, session string) map[string]any {
	x := map[string]any{}
	if ua := r.UserAgent(); ua != "" {
		x[sourceKeyUserAgent] = ua
	}
	if id := r.Header.Get("X-Request-ID"); id != "" {
		x[sourceKeyRequestID] = id
	}
	if session != "" {
		x[sourceKeySessionID] = session
	}
	return x
}

// sessionOf is the MCP session an HTTP request names: the streamable
// header, or the legacy endpoint's query.
func sessionOf(r *http.Request) string {
	if s := r.Header.Get(wire.HeaderSessionID); s != "" {
		return s
	}
	q := r.URL.Query()
	if s := q.Get("sessionId"); s != "" {
		return s
	}
	return q.Get("session_id")
}

// transportOf is the client's transport as ToolHive names it: "sse" for
// the legacy endpoints (GET /sse, POST /messages), "http" for streamable
// HTTP.
func transportOf(r *http.Request) string {
	if p := r.URL.Path; strings.HasSuffix(p, "/sse") || strings.HasSuffix(p, "/messages") {
		return "sse"
	}
	return "http"
}

// metadata is the metadata.extra every event of r starts with.
func (a *Auditor) metadata(r *http.Request) map[string]any {
	x := map[string]any{extraKeyTransport: transportOf(r)}
	if a.backend != "" {
		x[extraKeyBackendTransport] = a.backend
	}
	if v := r.Header.Get(wire.HeaderProtocolVersion); v != "" {
		x[extraKeyMCPVersion] = v
	}
	return x
}
