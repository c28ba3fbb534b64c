package pipeline

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// Outcome is how one request ended, as the steps that watch it (audit,
// traces, metrics) learn it: exactly one of its fields is set.
type Outcome struct {
	// Answer is the answer the client was sent: a result or an error.
	Answer *wire.Message
	// Refusal is a step's refusal of the request.
	Refusal *Refusal
	// Failure says why no answer will come (the client left, the proxy
	// stopped).
	Failure string
	// Forwarded is a notification or a client's answer to a server request
	// on its way to the backend: no answer is expected.
	Forwarded bool
}

// Watch is told how a request ended. It runs on whichever goroutine ends
// the request (often the one reading the backend's output), so it must
// not block: hand slow work (writing to a log stream) to another goroutine.
type Watch func(Outcome)

// OnDone registers w to learn how the request ends.
func (r *Request) OnDone(w Watch) { r.watches = append(r.watches, w) }

// Reply is what the path does with the answer to one request on its way
// back to the client: the result rewritten (Answer), then every watch told
// how the request ended. A front end calls Answer, or Fail when no answer
// will come; only the first call counts. A nil Reply does nothing.
type Reply struct {
	rewrite Rewrite
	watches []Watch
	done    atomic.Bool
}

// reply is r's Reply, or nil when no step asked for one.
func (r *Request) reply() *Reply {
	if r.Answer == nil && len(r.watches) == 0 {
		return nil
	}
	return &Reply{rewrite: r.Answer, watches: r.watches}
}

// Answer rewrites m (the answer, with the client's own id) for the client
// and tells the watches. It reports whether m's result changed.
func (p *Reply) Answer(m *wire.Message) (changed bool) {
	if p == nil || !p.done.CompareAndSwap(false, true) {
		return false
	}
	if p.rewrite != nil && len(m.Result) > 0 {
		before := m.Result
		m.Result = p.rewrite(m.Result)
		changed = !sameBytes(before, m.Result)
	}
	p.tell(Outcome{Answer: m})
	return changed
}

// Fail tells the watches that no answer will come, and why.
func (p *Reply) Fail(why string) {
	if p == nil || !p.done.CompareAndSwap(false, true) {
		return
	}
	p.tell(Outcome{Failure: why})
}

func (p *Reply) tell(o Outcome) {
	if p == nil {
		return
	}
	for _, w := range p.watches {
		w(o)
	}
}

func sameBytes(a, b json.RawMessage) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0] || string(a) == string(b))
}

// Replies are the replies of one HTTP request's messages, by index; nil
// entries (and a nil slice) for messages nobody asked about.
type Replies []*Reply

// Of is the i-th reply, or nil.
func (rs Replies) Of(i int) *Reply {
	if rs == nil {
		return nil
	}
	return rs[i]
}

// FailAll fails every reply not yet answered: the front end's last word
// when the exchange ends.
func (rs Replies) FailAll(why string) {
	for _, p := range rs {
		p.Fail(why)
	}
}

// Exchange is what the request path learned of one HTTP request, for the
// HTTP middleware around it (metrics, audit) that sees only HTTP: the MCP
// method and target of its first message, and who sent it.
type Exchange struct {
	Method string
	Target string
	Caller *Caller
}

type exchangeKey struct{}

// WithExchange is ctx with an empty Exchange that the path fills in.
func WithExchange(ctx context.Context) (context.Context, *Exchange) {
	x := &Exchange{}
	return context.WithValue(ctx, exchangeKey{}, x), x
}

// ExchangeOf is r's Exchange, or nil when it has none.
func ExchangeOf(r *http.Request) *Exchange {
	x, _ := r.Context().Value(exchangeKey{}).(*Exchange)
	return x
}
