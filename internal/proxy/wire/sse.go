package wire

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// SSEWriter writes server-sent events, flushing each so nothing is buffered
// between the backend and the client. Each write must finish within the
// write timeout: a client that stops reading is dropped, not waited for.
type SSEWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	started bool
}

// NewSSEWriter starts the stream at once: clients wait for the headers
// before they go on (the Go SDK opens its GET stream before anything else).
// timeout bounds each write (0: none).
func NewSSEWriter(w http.ResponseWriter, timeout time.Duration) *SSEWriter {
	s := &SSEWriter{w: w, rc: http.NewResponseController(w), timeout: timeout}
	s.start()
	_ = s.flush()
	return s
}

func (s *SSEWriter) start() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // ask ingress proxies not to buffer
	s.w.WriteHeader(http.StatusOK)
}

// Event writes msg as an event called name.
func (s *SSEWriter) Event(name string, msg *Message) error {
	data, err := Encode(msg)
	if err != nil {
		return err
	}
	return s.Raw(name, data)
}

// Raw writes data as an event called name.
func (s *SSEWriter) Raw(name string, data []byte) error {
	return s.write(func() error {
		_, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", name, data)
		return err
	})
}

// Comment writes a comment line (a keep-alive).
func (s *SSEWriter) Comment(text string) error {
	return s.write(func() error {
		_, err := fmt.Fprintf(s.w, ": %s\n\n", text)
		return err
	})
}

// write runs one write and its flush under the write deadline, then lifts
// the deadline so that an idle stream is not cut.
func (s *SSEWriter) write(f func() error) error {
	s.start()
	if s.timeout > 0 {
		_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout)) // unsupported by test recorders only
		defer func() { _ = s.rc.SetWriteDeadline(time.Time{}) }()
	}
	if err := f(); err != nil {
		return err
	}
	return s.flush()
}

func (s *SSEWriter) flush() error {
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
