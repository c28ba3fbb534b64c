package stdio

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// Options configure the client side of a shared stdio server.
type Options struct {
	MuxOptions
	Path     *pipeline.Path
	Sessions *pipeline.Sessions
	MaxBody  int64
	MaxBatch int
	// IdleTimeout ends sessions that send nothing for this long.
	IdleTimeout time.Duration
	// HandshakeTimeout ends sessions that send nothing after their
	// initialize for this long, so that initializes alone cannot hold the
	// session cap for the idle timeout.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds each write to a client's event stream.
	WriteTimeout time.Duration
	// Prefix and TrustProxy shape the legacy SSE endpoint advertised.
	Prefix     string
	TrustProxy bool
	// Drain is closed when the proxy starts draining; Draining says so.
	Drain    <-chan struct{}
	Draining func() bool
}

// Mailbox sizes: messages other than answers a stream holds for a client
// that reads slower than the server writes.
const (
	callStreamOther = 1024 // progress of one POST's calls: dropped past this
	openStreamOther = 256  // GET and legacy streams: ended past this
)

// Frontend serves one stdio backend to many clients.
type Frontend struct {
	mux        *mux
	streamable *streamable
	legacy     *legacySSE
	backend    Backend
}

// NewFrontend shares backend among the clients of its handlers until ctx
// ends.
func NewFrontend(ctx context.Context, backend Backend, o Options) *Frontend {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Stats == nil {
		o.Stats = &Stats{}
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = 30 * time.Second
	}
	m := newMux(ctx, backend, o.MuxOptions)
	f := &Frontend{mux: m, backend: backend,
		streamable: &streamable{mux: m, o: o, sessions: map[string]*httpSession{}},
		legacy:     &legacySSE{mux: m, o: o, sessions: map[string]*legacySession{}},
	}
	go f.streamable.expireIdle(ctx)
	return f
}

// Streamable serves /mcp.
func (f *Frontend) Streamable() http.Handler { return f.streamable }

// SSE serves the legacy /sse stream.
func (f *Frontend) SSE() http.Handler { return http.HandlerFunc(f.legacy.stream) }

// Messages serves the legacy stream's /messages.
func (f *Frontend) Messages() http.Handler { return http.HandlerFunc(f.legacy.messages) }

// Attached reports whether the backend can take messages now.
func (f *Frontend) Attached() bool { return f.backend.Attached() }

// Inflight counts the POSTs waiting for answers, which a drain lets finish.
func (f *Frontend) Inflight() int64 { return f.streamable.inflight.Load() }

// CloseAll ends every session (at the end of a drain).
func (f *Frontend) CloseAll() { f.streamable.closeAll() }

// check runs the request path over msgs (which its steps may rewrite); the
// refusal is the answer. It returns the replies, one per message, or nil.
func check(w http.ResponseWriter, r *http.Request, path *pipeline.Path, session string, msgs []*wire.Message) (pipeline.Replies, bool) {
	replies, _, refused, ref := path.CheckAll(r, session, msgs)
	if ref != nil {
		ref.Write(w, refused.ID)
		return nil, false
	}
	return replies, true
}

// pump writes what box receives to sse, with keep-alives, until the client
// leaves or stops reading, a done channel closes, or complete says the
// stream has all it waited for.
func pump(ctx context.Context, sse *wire.SSEWriter, box *mailbox, stats *Stats, complete func(*wire.Message) bool, done ...<-chan struct{}) {
	keepAlive := time.NewTicker(wire.KeepAliveInterval)
	defer keepAlive.Stop()
	var d1, d2 <-chan struct{}
	if len(done) > 0 {
		d1 = done[0]
	}
	if len(done) > 1 {
		d2 = done[1]
	}
	for {
		select {
		case <-box.signal:
			msgs, overflow := box.take()
			for _, msg := range msgs {
				if sse.Event("message", msg) != nil {
					stats.Dropped.Add(1)
					return
				}
				if complete(msg) {
					return
				}
			}
			if overflow {
				stats.Dropped.Add(1)
				return
			}
		case <-keepAlive.C:
			if sse.Comment("keep-alive") != nil {
				return
			}
		case <-d1:
			return
		case <-d2:
			return
		case <-ctx.Done():
			return
		}
	}
}

func never(*wire.Message) bool { return false }
