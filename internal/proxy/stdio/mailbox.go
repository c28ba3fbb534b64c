package stdio

import (
	"sync"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// mailbox holds the messages on their way to one client stream. Answers
// are always kept (there are at most as many as the calls the session may
// have in flight); other messages only up to maxOther: past that the
// client is not reading, and the stream is ended (dropSlow) or the message
// dropped. put never blocks, so the mux never waits on a client.
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
	if !msg.IsResponse() {
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
