package stdio

import (
	"sync"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// mailbox holds the messages on their way to one client stream, and never
// blocks the mux. A stream of one POST (dropSlow false) always keeps its
// answers (no more than the requests of that POST) and other messages up to
// maxOther, dropping the rest; an open-ended stream (GET, legacy SSE:
// dropSlow) holds at most maxOther messages of any kind, and past that its
// client is not reading: the stream is ended.
type mailbox struct {
	signal   chan struct{} // has a value when the queue is not empty
	maxOther int
	dropSlow bool

	mu       sync.Mutex
	queue    []*wire.Message
	other    int
	overflow bool
}

func newMailbox(maxOther int, dropSlow bool) *mailbox {
	return &mailbox{signal: make(chan struct{}, 1), maxOther: maxOther, dropSlow: dropSlow}
}

// put queues msg; false when it was dropped.
func (b *mailbox) put(msg *wire.Message) bool {
	b.mu.Lock()
	if b.dropSlow || !msg.IsResponse() {
		if b.other >= b.maxOther {
			b.overflow = b.dropSlow
			b.mu.Unlock()
			b.wake()
			return false
		}
		b.other++
	}
	b.queue = append(b.queue, msg)
	b.mu.Unlock()
	b.wake()
	return true
}

func (b *mailbox) wake() {
	select {
	case b.signal <- struct{}{}:
	default:
	}
}

// take empties the queue; overflow reports a stream to end for a client
// that does not read.
func (b *mailbox) take() (msgs []*wire.Message, overflow bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	msgs, b.queue, b.other = b.queue, nil, 0
	return msgs, b.overflow
}
