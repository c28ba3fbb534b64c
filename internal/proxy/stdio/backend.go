// Package stdio lets many MCP clients share one stdio MCP server: the
// server side (a local process, or a pod reached through the attach API),
// the mux that routes every message to the client it belongs to, and the
// client side (streamable HTTP and legacy SSE front ends).
package stdio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// MaxLine bounds one JSON-RPC message on a stdio backend; a longer line is
// skipped, not allowed to stop the reader.
const MaxLine = 16 << 20

// Backend is a stdio MCP server: newline-delimited JSON-RPC in both
// directions. No method blocks on the server's I/O.
type Backend interface {
	// Send queues one message for the server's stdin, waiting for room in
	// the queue until ctx ends (NoWait: not at all). It fails at once while
	// the backend is detached. When it succeeds, done (if not nil) runs
	// once the line has left the queue: written, or dropped with the
	// attachment.
	Send(ctx context.Context, line []byte, done func()) error
	// Recv delivers every line the backend writes, across restarts.
	Recv() <-chan []byte
	// Attached reports whether messages can flow now.
	Attached() bool
	// Generation increases each time the backend is (re)started, so that
	// cached state (the initialize result) can be dropped.
	Generation() uint64
	// Reset restarts the process, or re-attaches to the pod, of a server
	// that stopped answering.
	Reset(reason string)
}

// Stats count what a stdio backend did that the proxy's metrics show.
type Stats struct {
	StderrLines      atomic.Int64 // stderr lines logged
	StderrSuppressed atomic.Int64 // stderr lines over the log rate, counted only
	OversizedLines   atomic.Int64 // output lines over MaxLine, skipped
	Stalls           atomic.Int64 // writes to stdin that passed the write timeout
	QueueFull        atomic.Int64 // messages refused because stdin's queue was full
	Unresponsive     atomic.Int64 // pings the server did not answer in time
	Unroutable       atomic.Int64 // server notifications no single client could be meant for
	Dropped          atomic.Int64 // messages dropped, or streams ended, for clients that did not read
}

// Queue bounds of one backend's stdin.
const (
	queueLines = 1024
	queueBytes = 32 << 20
)

// writer is the one writer to a backend's stdin: messages queue (bounded,
// Send never waits) and each write must finish within timeout, or the
// writer gives up, closes stdin and reports the stall.
type writer struct {
	stdin   io.WriteCloser
	queue   chan queued
	bytes   atomic.Int64 // queued bytes
	since   atomic.Int64 // start of the write in progress (unix ns), 0 when idle
	stats   *Stats
	failed  func(error) // called once, when a write fails or stalls
	once    sync.Once
	done    chan struct{}
	timeout time.Duration
}

// queued is one line on its way, and what to run when it leaves the queue.
type queued struct {
	line []byte
	done func()
}

func (q queued) left() {
	if q.done != nil {
		q.done()
	}
}

func startWriter(stdin io.WriteCloser, timeout time.Duration, stats *Stats, failed func(error)) *writer {
	w := &writer{stdin: stdin, queue: make(chan queued, queueLines), stats: stats, failed: failed,
		done: make(chan struct{}), timeout: timeout}
	go w.run()
	if timeout > 0 {
		go w.watch()
	}
	return w
}

var errQueueFull = wire.Errorf(wire.CodeServerError, "the stdio MCP server is not reading its input (the proxy's queue to it is full); retry shortly")

// NoWait is the context of a Send that must not wait for room in the
// queue: the mux's own messages, sent from the loop that reads the server.
var NoWait = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// send queues line, waiting for room until ctx ends. The queue holds at
// most queueLines lines and queueBytes bytes.
func (w *writer) send(ctx context.Context, line []byte, done func()) error {
	n := int64(len(line) + 1)
	if w.bytes.Add(n) > queueBytes {
		w.bytes.Add(-n)
		w.stats.QueueFull.Add(1)
		return errQueueFull
	}
	q := queued{line: append(line, '\n'), done: done}
	select {
	case <-w.done:
		w.bytes.Add(-n)
		return errors.New("the stdio backend's input is closed; retry shortly")
	case w.queue <- q:
		return nil
	default:
	}
	var err error
	select {
	case w.queue <- q:
		return nil
	case <-w.done:
		err = errors.New("the stdio backend's input is closed; retry shortly")
	case <-ctx.Done():
		w.stats.QueueFull.Add(1)
		err = errQueueFull
	}
	w.bytes.Add(-n)
	return err
}

func (w *writer) run() {
	defer w.drop()
	for {
		select {
		case <-w.done:
			return
		case q := <-w.queue:
			w.since.Store(time.Now().UnixNano())
			_, err := w.stdin.Write(q.line)
			w.since.Store(0)
			w.bytes.Add(-int64(len(q.line)))
			q.left()
			if err != nil {
				w.fail(fmt.Errorf("write to the stdio backend: %w", err))
				return
			}
		}
	}
}

// drop empties the queue of a writer that stopped: its lines will never be
// written, and their senders must know they left.
func (w *writer) drop() {
	for {
		select {
		case q := <-w.queue:
			q.left()
		default:
			return
		}
	}
}

// watch ends a write that takes longer than the timeout: the server stopped
// reading its input.
func (w *writer) watch() {
	t := time.NewTicker(max(w.timeout/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-t.C:
			if s := w.since.Load(); s != 0 && time.Since(time.Unix(0, s)) > w.timeout {
				w.stats.Stalls.Add(1)
				w.fail(fmt.Errorf("the stdio MCP server did not read its input for %s", w.timeout))
				return
			}
		}
	}
}

// fail closes stdin (which ends a blocked write) and reports err, once
// and outside the Once: the report may close the writer itself.
func (w *writer) fail(err error) {
	first := false
	w.once.Do(func() {
		close(w.done)
		_ = w.stdin.Close()
		first = true
	})
	if first {
		w.failed(err)
	}
}

// close stops the writer without reporting a failure.
func (w *writer) close() {
	w.once.Do(func() {
		close(w.done)
		_ = w.stdin.Close()
	})
}

// readLines sends every non-empty line of r to out until r ends or ctx
// does. A line over MaxLine is skipped with one warning, and reading goes
// on; when its start names an id, an error answer to that id takes its
// place, so that the call waiting for it fails instead of hanging.
func readLines(ctx context.Context, r io.Reader, out chan<- []byte, log *slog.Logger, stats *Stats) error {
	send := func(line []byte) {
		select {
		case out <- line:
		case <-ctx.Done():
		}
	}
	return scanLines(r, MaxLine, func(line []byte) { send(bytes.Clone(line)) }, func(n int, head, tail []byte) {
		stats.OversizedLines.Add(1)
		log.Warn("the stdio MCP server wrote a line over the proxy's limit; skipped it", "bytes", n, "limit", MaxLine)
		if id := proxyID(head, tail); id != nil {
			answer, _ := wire.Encode(wire.ErrorResponse(id, wire.CodeInternalError,
				fmt.Sprintf("the MCP server's answer was %d bytes, over the proxy's limit of %d", n, MaxLine)))
			send(answer)
		}
	})
}

// backendIDPattern is an "id" member holding one of the proxy's own request
// ids ("sb-…"), the only ids worth answering for the server.
var backendIDPattern = regexp.MustCompile(`"id"\s*:\s*"(sb-[A-Za-z0-9-]+)"`)

// proxyID finds the proxy's id in the start or the end of a message too
// long to read (SDKs write the id before the result, or after it).
func proxyID(head, tail []byte) json.RawMessage {
	if m := backendIDPattern.FindAllSubmatch(tail, -1); len(m) > 0 {
		return wire.Quote(string(m[len(m)-1][1]))
	}
	if m := backendIDPattern.FindSubmatch(head); m != nil {
		return wire.Quote(string(m[1]))
	}
	return nil
}

// scanLines calls line for each line of r of at most limit bytes (without
// its newline), and oversized with the length and the first and last few
// KiB of each longer line, whose other bytes are dropped as they come. The
// slices are valid only for the call.
func scanLines(r io.Reader, limit int, line func([]byte), oversized func(n int, head, tail []byte)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	const keep = 4 << 10
	var long, head, tail []byte
	skipping, skipped := false, 0
	for {
		chunk, err := br.ReadSlice('\n')
		full := errors.Is(err, bufio.ErrBufferFull)
		if err != nil && !full && len(chunk) == 0 {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		switch {
		case skipping:
			skipped += len(chunk)
			tail = append(tail, chunk...)
			tail = tail[max(0, len(tail)-keep):]
		case len(long)+len(chunk) > limit+1:
			head = append(head[:0], long[:min(len(long), keep)]...)
			if len(long) == 0 {
				head = append(head, chunk[:min(len(chunk), keep)]...)
			}
			tail = append(tail[:0], chunk[max(0, len(chunk)-keep):]...)
			skipping, skipped, long = true, len(long)+len(chunk), long[:0]
		case full || len(long) > 0:
			long = append(long, chunk...)
		}
		if full {
			continue
		}
		// chunk ends the line (or the stream, without a newline).
		switch {
		case skipping:
			oversized(skipped-1, head, tail)
			skipping = false
		case len(long) > 0:
			emit(long, line)
			long = long[:0]
		default:
			emit(chunk, line)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func emit(b []byte, line func([]byte)) {
	b = bytes.TrimRight(b, "\r\n")
	if len(b) > 0 {
		line(b)
	}
}

// Logged stderr: each line cut to stderrLogBytes, at most stderrRate lines a
// second (bursts of stderrBurst); the rest is counted, and the count logged.
const (
	stderrLogBytes = 1 << 10
	stderrRate     = 20
	stderrBurst    = 100
)

// drainStderr reads a server's stderr to its end, whatever it writes, and
// logs it within the limits above.
func drainStderr(r io.Reader, log *slog.Logger, stats *Stats) {
	limit := rate.NewLimiter(stderrRate, stderrBurst)
	suppressed := 0
	logged := func(b []byte) {
		if !limit.Allow() {
			suppressed++
			stats.StderrSuppressed.Add(1)
			return
		}
		if suppressed > 0 {
			log.Warn("stdio backend stderr over the log rate; lines not logged", "suppressed", suppressed, "ratePerSecond", stderrRate)
			suppressed = 0
		}
		stats.StderrLines.Add(1)
		log.Info("stdio backend stderr", "line", wire.Truncate(b, stderrLogBytes))
	}
	// Long lines are logged by their start: the reader keeps at most the
	// first 64 KiB of a line, cut further when logged.
	_ = scanLines(r, 64<<10, logged, func(n int, _, _ []byte) {
		logged([]byte(fmt.Sprintf("[a line of %d bytes, not logged]", n)))
	})
	if suppressed > 0 {
		log.Warn("stdio backend stderr over the log rate; lines not logged", "suppressed", suppressed, "ratePerSecond", stderrRate)
	}
}
