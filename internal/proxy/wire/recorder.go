package wire

import "net/http"

// Recorder is a ResponseWriter that notes the status of the response for
// the middleware around a handler (metrics, audit) without getting in the
// way of streaming: it flushes and unwraps to the real writer.
type Recorder struct {
	http.ResponseWriter
	// Status is the response's status code (200 until one is written).
	Status      int
	wroteHeader bool
}

// NewRecorder wraps w.
func NewRecorder(w http.ResponseWriter) *Recorder {
	return &Recorder{ResponseWriter: w, Status: http.StatusOK}
}

// WriteHeader notes the first status written.
func (r *Recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.Status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write fixes the status (a body without a header is a 200).
func (r *Recorder) Write(p []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(p)
}

// Flush keeps event streams unbuffered through the recorder.
func (r *Recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
