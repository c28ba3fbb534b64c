// Package audit records what clients do through the proxy (ToolHive's
// spec.audit): one JSON object per line for each MCP operation, in
// ToolHive's audit log form, so that `kubectl logs … | jq` and the
// queries written for ToolHive read it alike.
//
// Two hooks feed it. Step sits on the request path and records every
// client message with how it ended: answered, refused by a later step,
// or lost. Middleware wraps the MCP endpoints and records the HTTP
// requests that carried no message (a 401 before the path, an event
// stream, a DELETE of a session). Neither ever waits for the log: events
// go through a bounded queue to one writer goroutine, and when the writer
// falls behind they are dropped and counted.
package audit

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// DefaultQueueSize is how many events wait for the writer before new ones
// are dropped, unless Options say otherwise.
const DefaultQueueSize = 1024

// dropWarnInterval spaces the warnings about dropped events.
const dropWarnInterval = 30 * time.Second

// Options configure an Auditor.
type Options struct {
	// Server is the MCP server's name: every event's component.
	Server string
	// Transport is the MCP server's own transport (stdio, sse,
	// streamable-http), recorded as metadata.extra.backend_transport; the
	// client's transport is read from each request.
	Transport string
	// Config says whether events carry the request's data, and how much.
	// Enabled is not read: whoever builds the Auditor has decided.
	Config proxyconfig.Audit
	// Out receives the events (default os.Stdout).
	Out io.Writer
	// Log is where the Auditor warns that it dropped events (default
	// slog.Default()).
	Log *slog.Logger
	// QueueSize bounds the events waiting for Out (default
	// DefaultQueueSize).
	QueueSize int
}

// Auditor writes audit events. Its Step and Middleware may be used from
// any goroutine; Close stops it.
type Auditor struct {
	component string
	backend   string
	withData  bool
	maxData   int
	log       *slog.Logger
	out       *slog.Logger
	now       func() time.Time

	// mu orders enqueues before Close: once closed is set no event enters
	// the queue, so the writer's drain sees every accepted one.
	mu      sync.RWMutex
	closed  bool
	queue   chan *event
	stop    chan struct{} // closed by Close: drain the queue, then end
	abandon chan struct{} // closed when Close gives up: end now
	done    chan struct{} // closed by the writer as it ends

	stopOnce, abandonOnce sync.Once
	dropped               atomic.Int64
	lastWarn              atomic.Int64 // unix nanoseconds of the last drop warning
}

// New starts an Auditor writing to o.Out. Close it to stop its writer.
func New(o Options) *Auditor {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	maxData := o.Config.MaxDataSize
	if maxData <= 0 {
		maxData = proxyconfig.DefaultAuditMaxDataSize
	}
	a := &Auditor{
		component: o.Server,
		backend:   o.Transport,
		withData:  o.Config.IncludeRequestData,
		maxData:   maxData,
		log:       o.Log,
		out:       newLogger(o.Out),
		now:       time.Now,
		queue:     make(chan *event, o.QueueSize),
		stop:      make(chan struct{}),
		abandon:   make(chan struct{}),
		done:      make(chan struct{}),
	}
	go a.write()
	return a
}

// Dropped is how many events were not written: the queue was full, or
// Close gave up before the writer reached them.
func (a *Auditor) Dropped() int64 { return a.dropped.Load() }

// Close stops taking events (later ones are dropped) and waits, until ctx
// ends, for the writer to write those already taken. When ctx ends first,
// the rest are dropped and the writer ends as soon as its current write
// returns; Close then returns ctx's error.
func (a *Auditor) Close(ctx context.Context) error {
	a.stopOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		a.mu.Unlock()
		close(a.stop)
	})
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		a.abandonOnce.Do(func() { close(a.abandon) })
		return fmt.Errorf("audit: stopped before writing every event: %w", ctx.Err())
	}
}

// enqueue hands e to the writer, or drops it: the request path never
// waits for the audit log.
func (a *Auditor) enqueue(e *event) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		a.drop(1)
		return
	}
	select {
	case a.queue <- e:
	default:
		a.drop(1)
	}
}

// drop counts n lost events and says so, at most once per interval. The
// warning is given on a goroutine of its own: the log it goes to may be
// as stuck as the audit stream, and the caller may be the goroutine that
// reads a shared server's output.
func (a *Auditor) drop(n int64) {
	total := a.dropped.Add(n)
	now := time.Now().UnixNano()
	last := a.lastWarn.Load()
	if now-last < int64(dropWarnInterval) || !a.lastWarn.CompareAndSwap(last, now) {
		return
	}
	go a.log.Warn("audit events dropped: the audit log is not keeping up", "dropped", total)
}

// write is the writer goroutine.
func (a *Auditor) write() {
	defer close(a.done)
	for {
		select {
		case e := <-a.queue:
			a.emit(e)
		case <-a.stop:
			a.drain()
			return
		}
	}
}

// drain writes what was queued before Close, unless Close gives up.
func (a *Auditor) drain() {
	for {
		select {
		case <-a.abandon:
			a.drop(int64(len(a.queue)))
			return
		default:
		}
		select {
		case e := <-a.queue:
			a.emit(e)
		default:
			return
		}
	}
}

// emit encodes e's request data, which was left to this goroutine so that
// the request path does not pay for it, and writes e.
func (a *Auditor) emit(e *event) {
	e.id = newID()
	if e.request != nil {
		e.data = requestData(e.request, a.maxData)
	}
	e.logTo(a.out)
}

// newID is a random (version 4) UUID, ToolHive's audit_id.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
