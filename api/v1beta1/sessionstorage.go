package v1beta1

import corev1 "k8s.io/api/core/v1"

// Messages of the SessionStorageWarning condition that admission also says.
const (
	// SessionStorageWarningMessage: an sse or streamable-http server with
	// several proxy pods and no shared session store.
	SessionStorageWarningMessage = "spec.replicas > 1 without Redis session storage: proxy pods do not share sessions, " +
		"so a client whose requests reach another proxy pod loses its session; set spec.sessionStorage.provider to redis"
	// StdioWithoutAffinityMessage: a stdio server with several proxy pods
	// and nothing that keeps a client on one of them.
	StdioWithoutAffinityMessage = "spec.replicas > 1 with spec.sessionAffinity None on a stdio server: every proxy pod attaches to the one stdio pod " +
		"and keeps the sessions of its own clients in memory, so a client whose requests reach another proxy pod loses its session; " +
		"set spec.sessionAffinity to ClientIP (the default)"
	// RedisUnusedByStdioMessage: Redis configured for a stdio server, whose
	// proxy pods never read the session store.
	RedisUnusedByStdioMessage = "spec.sessionStorage provider redis is not used by a stdio server: every proxy pod attaches to the one stdio pod " +
		"and keeps the sessions of its own clients in memory; remove spec.sessionStorage"
)

// stdioAffinityMessage is the condition's message when ClientIP affinity
// keeps the sessions of a stdio server's clients.
const stdioAffinityMessage = "the sessions of a stdio server live in the proxy pod that created them, and spec.sessionAffinity ClientIP " +
	"keeps each client on its proxy pod; a client that reaches the proxy from changing addresses, or through an ingress that " +
	"balances across the proxy pods itself, needs the same stickiness there"

// SessionStorageCheck is what the SessionStorageWarning condition and
// admission say about a server's proxy replicas and session storage.
// +kubebuilder:object:generate=false
type SessionStorageCheck struct {
	// Warning is true when a client can lose its session to another proxy
	// pod: the condition is True and admission warns.
	Warning bool
	// Reason is the condition's reason.
	Reason string
	// Advice says what holds a client's sessions, and what to do if nothing does.
	Advice string
	// RedisUnused is true for a stdio server with Redis session storage,
	// which it does not use.
	RedisUnused bool
}

// CheckSessionStorage decides whether proxy pods can lose a client's
// session. The proxy of an sse or streamable-http server shares its
// session-to-pod routing through Redis; the proxy of a stdio server never
// reads the session store: each proxy pod keeps its own clients' sessions
// in memory, so only sessionAffinity ClientIP keeps a client on the pod that
// holds its session. An unset replicas (an HPA decides) and backendReplicas
// never warn.
func (s *MCPServerSpec) CheckSessionStorage() SessionStorageCheck {
	several := s.Replicas != nil && *s.Replicas > 1
	ok := SessionStorageCheck{Reason: ReasonSessionStorageOK, Advice: "session storage is sufficient for the proxy replicas"}
	if s.Transport != TransportStdio && s.Transport != "" {
		if several && !s.UsesRedis() {
			return SessionStorageCheck{Warning: true, Reason: ReasonNoSharedSessions, Advice: SessionStorageWarningMessage}
		}
		return ok
	}
	c := ok
	switch {
	case several && s.SessionAffinity == corev1.ServiceAffinityNone:
		c = SessionStorageCheck{Warning: true, Reason: ReasonStdioNoAffinity, Advice: StdioWithoutAffinityMessage}
	case several:
		c = SessionStorageCheck{Reason: ReasonStdioAffinity, Advice: stdioAffinityMessage}
	}
	// Rate limiting keeps its buckets in that Redis, stdio or not.
	c.RedisUnused = s.UsesRedis() && s.RateLimiting == nil
	return c
}

// Message is the condition's message.
func (c SessionStorageCheck) Message() string {
	if c.RedisUnused {
		return c.Advice + "; " + RedisUnusedByStdioMessage
	}
	return c.Advice
}

// Warnings are what admission says.
func (c SessionStorageCheck) Warnings() []string {
	var w []string
	if c.Warning {
		w = append(w, c.Advice)
	}
	if c.RedisUnused {
		w = append(w, RedisUnusedByStdioMessage)
	}
	return w
}
