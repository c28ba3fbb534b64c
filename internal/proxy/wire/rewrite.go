package wire

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
)

// AnswerRewrite sees each answer (a result or an error) and may rewrite
// it in place; false: the message is unchanged.
type AnswerRewrite func(m *Message) bool

// RewriteBody rewrites the answers in a JSON body: one message or a batch.
// A body it cannot parse is returned as it is (the client sees what the
// server said).
func RewriteBody(body []byte, fn AnswerRewrite) []byte {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var raws []json.RawMessage
		if json.Unmarshal(trimmed, &raws) != nil {
			return body
		}
		changed := false
		for i, raw := range raws {
			if out, ok := rewriteOne(raw, fn); ok {
				raws[i], changed = out, true
			}
		}
		if !changed {
			return body
		}
		out, err := json.Marshal(raws)
		if err != nil {
			return body
		}
		return out
	}
	if out, ok := rewriteOne(trimmed, fn); ok {
		return out
	}
	return body
}

func rewriteOne(raw []byte, fn AnswerRewrite) ([]byte, bool) {
	var m Message
	if json.Unmarshal(raw, &m) != nil || !m.IsResponse() {
		return nil, false
	}
	if !fn(&m) {
		return nil, false
	}
	out, err := Encode(&m)
	return out, err == nil
}

// RewriteEvents is src, an event stream, with the answers in its data
// lines rewritten; every other byte passes as it is, event by event, so the
// stream is not held back.
func RewriteEvents(src io.ReadCloser, fn AnswerRewrite) io.ReadCloser {
	tail := &eofReader{r: src}
	return &eventRewriter{src: src, tail: tail, in: bufio.NewReader(tail), fn: fn}
}

type eventRewriter struct {
	src  io.ReadCloser
	tail *eofReader
	in   *bufio.Reader
	fn   AnswerRewrite
	out  []byte
	err  error
}

// Read returns the rewritten lines of what has arrived: it waits for a
// line only when it has nothing to return, and otherwise takes every whole
// line already buffered, so that an event leaves in one write (one flush)
// rather than one a line. The last bytes come with io.EOF when the stream
// has ended behind them, so the proxy can end its answer in the same write.
func (e *eventRewriter) Read(p []byte) (int, error) {
	for len(e.out) == 0 || e.lineBuffered() {
		if e.err != nil {
			break
		}
		line, err := e.in.ReadBytes('\n')
		e.err = err
		e.out = append(e.out, RewriteDataLine(line, e.fn)...)
	}
	n := copy(p, e.out)
	e.out = e.out[n:]
	if len(e.out) > 0 {
		return n, nil
	}
	e.out = e.out[:0:0] // let a large event's buffer go
	if e.err == nil && e.tail.eof && e.in.Buffered() == 0 {
		e.err = io.EOF // nothing is left to read
	}
	return n, e.err
}

// eofReader notes that its reader has ended.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (t *eofReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.eof = t.eof || err == io.EOF
	return n, err
}

// lineBuffered reports a whole line waiting in the buffer: reading it
// cannot block.
func (e *eventRewriter) lineBuffered() bool {
	if e.err != nil || e.in.Buffered() == 0 {
		return false
	}
	buf, _ := e.in.Peek(e.in.Buffered())
	return bytes.IndexByte(buf, '\n') >= 0
}

func (e *eventRewriter) Close() error { return e.src.Close() }

// RewriteDataLine rewrites one line of an event stream if it is a data line
// that holds an answer fn rewrites; other lines come back unchanged. (The
// MCP transports put each message on one data line.)
func RewriteDataLine(line []byte, fn AnswerRewrite) []byte {
	rest, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return line
	}
	payload := bytes.TrimSpace(rest)
	if len(payload) == 0 || payload[0] != '{' {
		return line
	}
	out, changed := rewriteOne(payload, fn)
	if !changed {
		return line
	}
	end := []byte("\n")
	if bytes.HasSuffix(line, []byte("\r\n")) {
		end = []byte("\r\n")
	}
	return append(append([]byte("data: "), out...), end...)
}
