// Package pipeline is the one request path every client message takes, from
// any front end (streamable HTTP, legacy SSE) to any backend (stdio process
// or pod, HTTP relay): a list of steps that each see the parsed JSON-RPC
// message, its session and its caller, and may refuse it. Authentication,
// authorization, tool curation and audit are steps; a step that is not
// configured is not in the list and costs nothing.
package pipeline

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

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
	// Sent is the message as the client sent it: steps that rewrite Msg
	// (a renamed tool called by its server name) leave it as it was.
	Sent *wire.Message
	// Session is the client's session id ("" for none: the stateless era,
	// or the request that starts a session).
	Session string
	Caller  *Caller
	HTTP    *http.Request
	// Changed is set by a step that rewrote Msg (a renamed tool called by
	// its new name): a front end that forwards raw bytes re-encodes them.
	Changed bool
	// Answer, when a step sets it, rewrites the result of the answer to
	// this request before the client sees it (list filtering, renames).
	Answer Rewrite
	// watches learn how the request ends (OnDone).
	watches []Watch
}

// Rewrite turns a result into what the client may see.
type Rewrite func(result json.RawMessage) json.RawMessage

// Refusal is a step's answer to a message it stops: the HTTP status for a
// request that cannot go on at all, and the JSON-RPC error for the message.
type Refusal struct {
	Status int
	Err    *wire.Error
	// RetryAfter, when set, says when the client may try again (a rate
	// limit): the answer carries it as Retry-After, in whole seconds.
	RetryAfter time.Duration
}

// Write answers the refused message, id, with r: its status and error,
// and Retry-After when r says when to come back.
func (r *Refusal) Write(w http.ResponseWriter, id json.RawMessage) {
	if r.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(RetrySeconds(r.RetryAfter)))
	}
	wire.WriteMessage(w, r.Status, wire.ErrorResponse(id, r.Err.Code, r.Err.Message))
}

// RetrySeconds is d as Retry-After says it: whole seconds, rounded up, at
// least 1.
func RetrySeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// Step inspects, and may refuse, one message.
type Step func(ctx context.Context, r *Request) *Refusal

// Path is the ordered list of steps.
type Path struct{ steps []Step }

// New is a path of steps, in order.
func New(steps ...Step) *Path { return &Path{steps: steps} }

// Check runs every step on r; the first refusal wins, and the watches of
// the steps before it learn of it.
func (p *Path) Check(ctx context.Context, r *Request) *Refusal {
	if p == nil {
		return nil
	}
	for _, s := range p.steps {
		if ref := s(ctx, r); ref != nil {
			for _, w := range r.watches {
				w(Outcome{Refusal: ref})
			}
			return ref
		}
	}
	return nil
}

// Empty reports a path with no steps: front ends may skip parsing what
// they would otherwise pass through unread.
func (p *Path) Empty() bool { return p == nil || len(p.steps) == 0 }

type callerKey struct{}

// WithCaller is ctx carrying the authenticated caller of its request.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerOf is the caller of an HTTP request as far as the path knows it:
// the authenticated one, or only its address.
func CallerOf(r *http.Request) *Caller {
	if c, ok := r.Context().Value(callerKey{}).(*Caller); ok {
		return c
	}
	return &Caller{Addr: r.RemoteAddr}
}

// CheckAll runs the path over the messages of one HTTP request. It returns
// the replies, one per message (nil when no step asked for any), whether a
// step changed a message, and the first refusal with the message it
// refused. It notes the request's first message and caller in the
// request's Exchange, if it has one.
func (p *Path) CheckAll(r *http.Request, session string, msgs []*wire.Message) (replies Replies, changed bool, refused *wire.Message, ref *Refusal) {
	if p.Empty() {
		return nil, false, nil, nil
	}
	var forwarded Replies
	caller := CallerOf(r)
	if x := ExchangeOf(r); x != nil {
		x.Caller = caller
		if len(msgs) > 0 {
			x.Method, x.Target = msgs[0].Method, wire.Target(msgs[0].Params)
		}
	}
	for i, m := range msgs {
		req := Request{Msg: m, Sent: m, Session: session, Caller: caller, HTTP: r}
		if ref := p.Check(r.Context(), &req); ref != nil {
			// The batch goes nowhere: the messages already passed get no
			// answer either, and their notifications were not sent.
			replies.FailAll("another message of its batch was refused")
			forwarded.FailAll("another message of its batch was refused")
			return nil, false, m, ref
		}
		msgs[i] = req.Msg
		changed = changed || req.Changed
		reply := req.reply()
		if !m.IsRequest() {
			// Nothing comes back for a notification or a client's answer:
			// it is done once the whole batch passes.
			forwarded = append(forwarded, reply)
			continue
		}
		if reply != nil {
			if replies == nil {
				replies = make(Replies, len(msgs))
			}
			replies[i] = reply
		}
	}
	for _, reply := range forwarded {
		reply.tell(Outcome{Forwarded: true})
	}
	return replies, changed, nil, nil
}
