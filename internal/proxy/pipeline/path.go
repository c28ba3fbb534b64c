// Package pipeline is the one request path every client message takes, from
// any front end (streamable HTTP, legacy SSE) to any backend (stdio process
// or pod, HTTP relay): a list of steps that each see the parsed JSON-RPC
// message, its session and its caller, and may refuse it. Authentication,
// authorization, tool curation and audit are steps; a step that is not
// configured is not in the list and costs nothing.
package pipeline

import (
	"context"
	"net/http"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// Caller is who sent a message. Authentication fills in the subject and
// the token's claims; without it only the address is known.
type Caller struct {
	Addr    string
	Subject string
	// Claims are the verified token's claims (nil when unauthenticated).
	Claims map[string]any
}

// Request is one client message on its way to the backend.
type Request struct {
	Msg *wire.Message
	// Session is the client's session id ("" for none: the stateless era,
	// or the request that starts a session).
	Session string
	Caller  *Caller
	HTTP    *http.Request
}

// Refusal is a step's answer to a message it stops: the HTTP status for a
// request that cannot go on at all, and the JSON-RPC error for the message.
type Refusal struct {
	Status int
	Err    *wire.Error
}

// Step inspects, and may refuse, one message.
type Step func(ctx context.Context, r *Request) *Refusal

// Path is the ordered list of steps.
type Path struct{ steps []Step }

// New is a path of steps, in order.
func New(steps ...Step) *Path { return &Path{steps: steps} }

// Check runs every step on r; the first refusal wins.
func (p *Path) Check(ctx context.Context, r *Request) *Refusal {
	if p == nil {
		return nil
	}
	for _, s := range p.steps {
		if ref := s(ctx, r); ref != nil {
			return ref
		}
	}
	return nil
}

// Empty reports a path with no steps: front ends may skip parsing what
// they would otherwise pass through unread.
func (p *Path) Empty() bool { return p == nil || len(p.steps) == 0 }

// CallerOf is the caller of an HTTP request as far as the path knows it.
func CallerOf(r *http.Request) *Caller { return &Caller{Addr: r.RemoteAddr} }
