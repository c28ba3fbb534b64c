package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// stuck is an audit stream nobody reads: every write waits until
// release is closed.
type stuck struct {
	release chan struct{}
	out     *output
}

func (s *stuck) Write(b []byte) (int, error) {
	<-s.release
	return s.out.Write(b)
}

// lockedBuffer is a log sink for more than one goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestAStuckAuditLogNeverHoldsARequest(t *testing.T) {
	const requests = 20
	w := &stuck{release: make(chan struct{}), out: newOutput()}
	var warnings lockedBuffer
	a := New(Options{Server: "github", Config: proxyconfig.Audit{Enabled: true}, Out: w, QueueSize: 4,
		Log: slog.New(slog.NewTextHandler(&warnings, nil))})
	path := pipeline.New(a.Step())

	pings, pongs := make([][]*wire.Message, requests), make([][]*wire.Message, requests)
	for i := range requests {
		pings[i] = parse(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"ping"}`, i))
		pongs[i] = parse(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{}}`, i))
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for i := range requests {
			replies, _, _, _ := path.CheckAll(post(ada), "s", pings[i])
			replies.Of(0).Answer(pongs[i][0])
		}
	}()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("requests waited for the audit log")
	}
	// At most the queue and the one being written got through.
	if got := a.Dropped(); got < requests-4-1 {
		t.Errorf("Dropped() = %d, want at least %d", got, requests-5)
	}
	// The warning is given on its own goroutine: give it a moment.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(warnings.String(), "audit events dropped") && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if got := strings.Count(warnings.String(), "audit events dropped"); got != 1 {
		t.Errorf("%d warnings about dropped events, want 1 (rate-limited):\n%s", got, warnings.String())
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := a.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with the log stuck = %v, want the deadline", err)
	}

	// Once the stream moves again the writer ends (goleak checks), and
	// every event is either written or counted as dropped.
	close(w.release)
	<-a.done
	if written := len(decodeLines(t, w.out.String())); int64(written)+a.Dropped() != requests {
		t.Errorf("%d written + %d dropped, want %d events", written, a.Dropped(), requests)
	}
}

func TestCloseWritesWhatWasQueued(t *testing.T) {
	out := newOutput()
	a := newAuditor(t, proxyconfig.Audit{Enabled: true}, out)
	path := pipeline.New(a.Step())
	for i := range 50 {
		replies, _, _, _ := path.CheckAll(post(nil), "", parse(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/list"}`, i)))
		replies.FailAll("test over")
	}
	if got := len(closeAndRead(t, a, out)); got != 50 {
		t.Errorf("%d events written, want 50", got)
	}
	// After Close, events are counted, not written.
	replies, _, _, _ := path.CheckAll(post(nil), "", parse(t, `{"jsonrpc":"2.0","id":99,"method":"tools/list"}`))
	replies.FailAll("test over")
	if got := a.Dropped(); got != 1 {
		t.Errorf("Dropped() after Close = %d, want 1", got)
	}
}
