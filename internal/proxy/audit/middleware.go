package audit

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
)

// Middleware records the HTTP requests to next that carry no MCP message
// Step records: a 401 from authentication, a 503 while the proxy is
// closed, a body that does not parse, a DELETE of a session. Each is one
// http_request event, its outcome read from the HTTP status as ToolHive
// reads it. An event stream's opening (a GET that accepts
// text/event-stream) is one sse_connection event, written when the
// response starts rather than when the stream ends, hours later.
//
// Wrap the MCP endpoints outside authentication, so that its refusals are
// seen. The caller of an unparsed request is the Exchange's (see
// pipeline.WithExchange), or anonymous.
func (a *Auditor) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		audited := new(atomic.Bool)
		r = r.WithContext(context.WithValue(r.Context(), auditedKey{}, audited))
		rec := &recorder{ResponseWriter: w, a: a, r: r, start: a.now(), stream: isStreamOpen(r)}
		completed := false
		defer func() {
			if audited.Load() {
				return
			}
			status := rec.code()
			if !completed && status == 0 {
				// next panicked before answering: the client gets no
				// response at all.
				status = http.StatusInternalServerError
			}
			rec.log(status)
		}()
		next.ServeHTTP(rec, r)
		completed = true
	})
}

type auditedKey struct{}

// markAudited tells the Middleware around r, if any, that Step recorded a
// message of r: r needs no event of its own.
func markAudited(r *http.Request) {
	if r == nil {
		return
	}
	if b, ok := r.Context().Value(auditedKey{}).(*atomic.Bool); ok {
		b.Store(true)
	}
}

// isStreamOpen is ToolHive's test for the opening of an event stream.
func isStreamOpen(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(strings.ToLower(r.Header.Get("Accept")), "text/event-stream")
}

// httpEvent records r, answered with status.
func (a *Auditor) httpEvent(r *http.Request, status int, start time.Time) {
	end := a.now()
	var c *pipeline.Caller
	if x := pipeline.ExchangeOf(r); x != nil {
		c = x.Caller
	}
	e := &event{
		typ:       EventTypeHTTPRequest,
		loggedAt:  end.UTC(),
		outcome:   statusOutcome(status),
		component: a.component,
		source:    clientIP(c, r),
		sourceX:   sourceExtra(r, sessionOf(r)),
		subjects:  subjects(c),
		target:    map[string]string{targetKeyEndpoint: r.URL.Path, targetKeyMethod: r.Method, targetKeyType: targetTypeEndpoint},
		extra:     a.metadata(r),
	}
	e.extra[extraKeyDuration] = end.Sub(start).Milliseconds()
	e.extra[extraKeyStatus] = status
	if isStreamOpen(r) {
		e.typ, e.target[targetKeyType] = EventTypeSSEConnection, targetTypeSSEStream
		// ToolHive repeats the user agent here for stream openings.
		e.extra[extraKeyUserAgent] = r.UserAgent()
	}
	a.enqueue(e)
}

// statusOutcome is ToolHive's outcome of an HTTP status.
func statusOutcome(status int) string {
	switch {
	case status >= 200 && status < 300:
		return OutcomeSuccess
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return OutcomeDenied
	case status >= 400 && status < 500:
		return OutcomeFailure
	case status >= 500:
		return OutcomeError
	default:
		return OutcomeSuccess
	}
}

// recorder notes the status of a response, and records a stream's opening
// as the response starts. It flushes and unwraps like the writer it
// wraps, so event streams behave as without it.
type recorder struct {
	http.ResponseWriter
	a      *Auditor
	r      *http.Request
	start  time.Time
	stream bool
	status atomic.Int32 // 0 until the response starts
	logged atomic.Bool
}

// code is the response's status, 200 when next wrote nothing (as
// net/http then answers), 0 while it has not started and may yet panic.
func (rec *recorder) code() int { return int(rec.status.Load()) }

func (rec *recorder) started(status int) {
	if rec.status.CompareAndSwap(0, int32(status)) && rec.stream {
		rec.log(status)
	}
}

// log records the request once.
func (rec *recorder) log(status int) {
	if status == 0 {
		status = http.StatusOK
	}
	if rec.logged.CompareAndSwap(false, true) {
		rec.a.httpEvent(rec.r, status, rec.start)
	}
}

// WriteHeader notes the final status (not an informational 1xx).
func (rec *recorder) WriteHeader(status int) {
	if status >= http.StatusOK {
		rec.started(status)
	}
	rec.ResponseWriter.WriteHeader(status)
}

// Write starts the response with 200 if it has not started.
func (rec *recorder) Write(b []byte) (int, error) {
	rec.started(http.StatusOK)
	return rec.ResponseWriter.Write(b)
}

// Flush sends what is buffered to the client, starting the response.
func (rec *recorder) Flush() { _ = rec.FlushError() }

// FlushError is Flush with the error, for http.ResponseController.
func (rec *recorder) FlushError() error {
	rec.started(http.StatusOK)
	return http.NewResponseController(rec.ResponseWriter).Flush()
}

// Unwrap is the wrapped writer, for http.ResponseController.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }
