package proxy

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// sseWriter writes server-sent events, flushing each so nothing is buffered
// between the backend and the client.
type sseWriter struct {
	w       http.ResponseWriter
	flusher http.Flusher
	started bool
}

// newSSEWriter starts the stream at once: clients wait for the headers
// before they go on (the Go SDK opens its GET stream before anything else).
func newSSEWriter(w http.ResponseWriter) *sseWriter {
	f, _ := w.(http.Flusher)
	s := &sseWriter{w: w, flusher: f}
	s.start()
	s.flush()
	return s
}

func (s *sseWriter) start() {
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

func (s *sseWriter) event(name string, msg *message) error {
	data, err := encode(msg)
	if err != nil {
		return err
	}
	return s.raw(name, data)
}

func (s *sseWriter) raw(name string, data []byte) error {
	s.start()
	if _, err := fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", name, data); err != nil {
		return err
	}
	s.flush()
	return nil
}

func (s *sseWriter) comment(text string) error {
	s.start()
	if _, err := fmt.Fprintf(s.w, ": %s\n\n", text); err != nil {
		return err
	}
	s.flush()
	return nil
}

// relay writes every message from ch as an event, with keep-alive comments
// so that idle proxies and load balancers keep the stream open, until the
// client leaves, the session closes or the proxy drains (nil: never).
func (s *sseWriter) relay(ctx context.Context, ch <-chan *message, closed, drain <-chan struct{}) {
	keepAlive := time.NewTicker(keepAliveInterval)
	defer keepAlive.Stop()
	for {
		select {
		case msg := <-ch:
			if s.event("message", msg) != nil {
				return
			}
		case <-keepAlive.C:
			if s.comment("keep-alive") != nil {
				return
			}
		case <-closed:
			return
		case <-drain:
			return
		case <-ctx.Done():
			return
		}
	}
}

func (s *sseWriter) flush() {
	if s.flusher != nil {
		s.flusher.Flush()
	}
}

// httpError answers with a plain-text error that says what to do.
func httpError(w http.ResponseWriter, status int, msg string) {
	http.Error(w, msg, status)
}

// writeRPCError answers with a JSON-RPC error body (id null: the request
// could not be read), for clients that parse the body of a failed POST.
func writeRPCError(w http.ResponseWriter, status int, code int, msg string) {
	body, err := encode(errorResponse(nil, code, msg))
	if err != nil {
		httpError(w, http.StatusInternalServerError, msg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
