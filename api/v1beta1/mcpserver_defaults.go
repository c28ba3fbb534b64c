package v1beta1

// Default fills the fields whose defaults depend on other fields, which a CRD
// schema default cannot express. The mutating webhook calls it at admission;
// the reconciler calls it again on its own copy, so a server admitted while
// the webhook was down behaves the same. old is the stored object on update
// (nil on create): a proxyPort that was derived from the deprecated port
// follows port when only port changes.
func (m *MCPServer) Default(old *MCPServer) {
	s := &m.Spec
	var oldSpec *MCPServerSpec
	if old != nil {
		oldSpec = &old.Spec
	}
	s.ProxyPort = aliasedPort(s.ProxyPort, s.Port, oldSpec, func(o *MCPServerSpec) (int32, int32) { return o.ProxyPort, o.Port })
	s.MCPPort = aliasedPort(s.MCPPort, s.TargetPort, oldSpec, func(o *MCPServerSpec) (int32, int32) { return o.MCPPort, o.TargetPort })

	if s.Transport == "" {
		s.Transport = TransportStdio
	}
	if s.ProxyMode == "" {
		s.ProxyMode = ProxyModeStreamableHTTP
		if s.Transport == TransportSSE {
			s.ProxyMode = ProxyModeSSE
		}
	}
	if s.SessionAffinity == "" {
		s.SessionAffinity = "ClientIP"
	}
	if s.SessionStorage != nil && s.SessionStorage.Provider == "" {
		s.SessionStorage.Provider = SessionStorageMemory
	}
	for i := range s.Secrets {
		if s.Secrets[i].TargetEnvName == "" {
			s.Secrets[i].TargetEnvName = s.Secrets[i].Key
		}
	}
}

// aliasedPort resolves a port and its deprecated alias: the alias fills an
// unset port, and keeps following the alias on update while the port was
// the alias's copy and the user changed only the alias.
func aliasedPort(port, alias int32, old *MCPServerSpec, fields func(*MCPServerSpec) (port, alias int32)) int32 {
	if alias != 0 {
		if port == 0 {
			return alias
		}
		if old != nil {
			oldPort, oldAlias := fields(old)
			if oldPort == oldAlias && port == oldPort {
				return alias
			}
		}
	}
	if port == 0 {
		return DefaultPort
	}
	return port
}

// ExposedAs is the protocol clients speak to the proxy.
func (s *MCPServerSpec) ExposedAs() ProxyMode {
	switch s.Transport {
	case TransportSSE:
		return ProxyModeSSE
	case TransportStreamableHTTP:
		return ProxyModeStreamableHTTP
	}
	if s.ProxyMode == "" {
		return ProxyModeStreamableHTTP
	}
	return s.ProxyMode
}

// UsesRedis reports whether the spec asks for Redis session storage.
func (s *MCPServerSpec) UsesRedis() bool {
	return s.SessionStorage != nil && s.SessionStorage.Provider == SessionStorageRedis
}

// ConnectsToRedis reports whether the proxy talks to Redis at all: to
// share session routing, or to keep rate-limit buckets (stdio servers too).
func (s *MCPServerSpec) ConnectsToRedis() bool {
	return s.SharesSessionsThroughRedis() || (s.UsesRedis() && s.RateLimiting != nil)
}

// SharesSessionsThroughRedis reports whether proxy pods route sessions
// through Redis: an sse or streamable-http server that asks for it. The
// stdio proxy keeps no routing table, so it is given no Redis at all.
func (s *MCPServerSpec) SharesSessionsThroughRedis() bool {
	return s.UsesRedis() && s.Transport != TransportStdio && s.Transport != ""
}
