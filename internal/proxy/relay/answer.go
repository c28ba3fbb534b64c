package relay

import (
	"io"
	"net/http"
	"sync/atomic"
)

// answerWriter passes a backend's answer on in as few writes as the
// backend's own: on loopback every write and wake-up is most of what a hop
// costs. The reverse proxy flushes after each piece of an event stream
// (and its headers at once); this writer lets two of those flushes go:
//   - the one of the last piece, read together with the end of the body:
//     the handler's return sends it with the end of the answer, in one
//     write (with a Content-Length when it is short);
//   - for a POST, one before any byte of the body: the headers leave with
//     the first bytes, as a server answering the POST directly sends them.
//     A GET's stream may stay silent for long, so its headers go at once.
type answerWriter struct {
	http.ResponseWriter
	holdHeaders bool
	wrote       atomic.Bool // flushes come from the reverse proxy's timer goroutine too
	ended       atomic.Bool
}

func (a *answerWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		a.wrote.Store(true)
	}
	return a.ResponseWriter.Write(p)
}

func (a *answerWriter) FlushError() error {
	if a.ended.Load() || (a.holdHeaders && !a.wrote.Load()) {
		return nil
	}
	return http.NewResponseController(a.ResponseWriter).Flush()
}

func (a *answerWriter) Flush() { _ = a.FlushError() }

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (a *answerWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// endingBody tells the answerWriter when the backend's body has ended.
type endingBody struct {
	io.ReadCloser
	ended *atomic.Bool
}

func (b endingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.ended.Store(true)
	}
	return n, err
}
