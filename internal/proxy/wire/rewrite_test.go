package wire

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func upper(m *Message) bool {
	if len(m.Result) == 0 {
		return false
	}
	m.Result = json.RawMessage(`{"rewritten":true}`)
	return true
}

// An event that has arrived whole leaves in one read (one write and one
// flush downstream), its data rewritten; an event still on its way is not
// waited for while there is something to return.
func TestRewrittenEventsLeaveWholeWithoutWaiting(t *testing.T) {
	src, w := io.Pipe()
	r := RewriteEvents(src, upper)
	go func() {
		_, _ = w.Write([]byte("event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"))
	}()
	buf := make([]byte, 4096)
	n, err := r.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := "event: message\nid: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"rewritten\":true}}\n\n"
	if got := string(buf[:n]); got != want {
		t.Fatalf("first read = %q, want the whole event %q", got, want)
	}

	// Half an event: the read returns its whole lines and does not wait
	// for the rest.
	go func() { _, _ = w.Write([]byte("event: message\ndata: {\"jsonrpc\"")) }()
	done := make(chan string, 1)
	go func() {
		n, _ := r.Read(buf)
		done <- string(buf[:n])
	}()
	select {
	case got := <-done:
		if got != "event: message\n" {
			t.Fatalf("read = %q, want the one whole line", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read waited for the rest of the event")
	}
	_ = w.Close()
}

// The last event of a stream that has ended comes with io.EOF, so that the
// proxy ends its answer in the same write instead of one more. (A short
// chunked body read from net/http ends so: its last data with io.EOF.)
func TestTheLastEventComesWithTheEnd(t *testing.T) {
	const ev = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"
	r := RewriteEvents(io.NopCloser(iotest.DataErrReader(strings.NewReader(ev))), func(*Message) bool { return false })
	buf := make([]byte, 4096)
	n, err := r.Read(buf)
	if string(buf[:n]) != ev || err != io.EOF {
		t.Fatalf("read = %q, %v; want the event and io.EOF together", buf[:n], err)
	}
	if n, err := r.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("read after the end = %d, %v; want 0, io.EOF", n, err)
	}
}
