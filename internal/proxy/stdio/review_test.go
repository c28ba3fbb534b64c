package stdio

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// A pod whose server stops reading its input: the write watchdog detaches
// and the backend attaches again. (The failure report once ran inside the
// writer's Once and closed the writer through the same Once: the backend's
// lock stayed held for good.)
func TestAPodThatStopsReadingIsAttachedAgain(t *testing.T) {
	var calls attachCalls
	attach := func(ctx context.Context, pod *corev1.Pod) (io.WriteCloser, io.ReadCloser, error) {
		calls.record(pod)
		_, stdin := io.Pipe() // nobody reads: every write blocks
		out, outW := io.Pipe()
		context.AfterFunc(ctx, func() { _ = outW.Close() })
		return stdin, out, nil
	}
	b := startPodBackend(t, attach, staticPods(mcpPod("a", 0)), time.Second, time.Second,
		func(b *podBackend) { b.writeTimeout = 100 * time.Millisecond })
	calls.wait(t, 1)
	for deadline := time.Now().Add(5 * time.Second); !b.Attached(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("never attached")
		}
	}
	_ = b.Send(NoWait, []byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`), nil)
	calls.wait(t, 2) // detached after the stall, attached again
	if b.stats.Stalls.Load() == 0 {
		t.Error("the stall is not counted")
	}
}

// The client whose initialize went to the server leaves before the answer:
// the answer still serves the clients waiting for it. (The mux forgot the
// call, dropped the answer, and every later initialize waited forever.)
func TestAnInitializeWhoseClientLeftStillAnswersTheOthers(t *testing.T) {
	sh := newShared(t, MuxOptions{})
	first, second := sh.client(), sh.client()
	init := sh.send(first, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}`)
	sh.m.fromClient(context.Background(), second.s, &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(`7`), Method: "initialize", Params: json.RawMessage(`{"protocolVersion":"2025-06-18"}`)})
	sh.m.close(first.s)
	sh.server.write(`{"jsonrpc":"2.0","id":` + string(init.ID) + `,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}`)
	eventually(t, "the waiting client never got the server's answer", func() bool { return len(second.messages()) == 1 })
	if r := string(second.messages()[0].Result); !strings.Contains(r, "serverInfo") {
		t.Fatalf("the waiting client got %+v", second.messages()[0])
	}
	third := sh.client()
	sh.m.fromClient(context.Background(), third.s, &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(`1`), Method: "initialize", Params: json.RawMessage(`{"protocolVersion":"2025-06-18"}`)})
	eventually(t, "a later client was not answered from the cache", func() bool { return len(third.messages()) == 1 })
}

// An initialize the server never answers fails, with its waiters, after the
// init timeout instead of holding every client.
func TestAnUnansweredInitializeFailsAfterTheInitTimeout(t *testing.T) {
	sh := newShared(t, MuxOptions{InitTimeout: 300 * time.Millisecond})
	a, b := sh.client(), sh.client()
	sh.send(a, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`)
	sh.m.fromClient(context.Background(), b.s, &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(`1`), Method: "initialize", Params: json.RawMessage(`{}`)})
	eventually(t, "the initialize and its waiter never failed", func() bool { return len(a.messages()) == 1 && len(b.messages()) == 1 })
	if e := string(b.messages()[0].Error); !strings.Contains(e, "initialize") {
		t.Errorf("the waiter got %s", e)
	}
}

// Calls a client cancelled free their places: servers need not answer a
// cancelled request. (They stayed in flight for good, and the session hit
// its limit.)
func TestCancelledCallsFreeTheirPlaceInTheSession(t *testing.T) {
	sh := newShared(t, MuxOptions{MaxInflight: 2})
	c := sh.client()
	for i := range 4 {
		id := json.RawMessage(string(rune('1' + i)))
		got := sh.send(c, `{"jsonrpc":"2.0","id":`+string(id)+`,"method":"tools/call"}`)
		if got == nil || got.Method != "tools/call" {
			t.Fatalf("call %d did not reach the server: %+v", i, got)
		}
		cancel := sh.send(c, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":`+string(id)+`}}`)
		if cancel == nil || cancel.Method != "notifications/cancelled" {
			t.Fatalf("the cancel did not reach the server: %+v", cancel)
		}
	}
	if n := len(c.messages()); n != 0 {
		t.Errorf("the client got %d answers to calls it cancelled", n)
	}
}

// A server request to a client that has no stream to take it: the server is
// told at once, instead of waiting for an answer that cannot come.
func TestAServerRequestNoStreamCanTakeIsRefusedToTheServer(t *testing.T) {
	sh := newShared(t, MuxOptions{Log: slog.New(slog.DiscardHandler)})
	c := sh.m.open(func(*wire.Message, json.RawMessage) bool { return false })
	sh.m.fromClient(context.Background(), c, &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(`1`), Method: "tools/call"})
	sh.received(time.Second)
	sh.server.write(`{"jsonrpc":"2.0","id":"r1","method":"roots/list"}`)
	got := sh.received(time.Second)
	if got == nil || string(got.ID) != `"r1"` || !strings.Contains(string(got.Error), "no open stream") {
		t.Fatalf("the server got %+v, want an error answer to r1", got)
	}
}

// An answer over the line limit fails its call whether the server writes
// the id first (Go SDK) or last (TypeScript SDK); ids inside the result are
// not taken for it.
func TestAnOversizedAnswerFailsTheCallByItsIDAtEitherEnd(t *testing.T) {
	big := strings.Repeat("x", MaxLine)
	for name, line := range map[string]string{
		"id first": `{"jsonrpc":"2.0","id":"sb-ab12-7","result":{"text":"` + big + `"}}`,
		"id last":  `{"result":{"items":[{"id":"sb-not-this"}],"text":"` + big + `"},"jsonrpc":"2.0","id":"sb-ab12-7"}`,
	} {
		t.Run(name, func(t *testing.T) {
			out := make(chan []byte, 4)
			err := readLines(context.Background(), strings.NewReader(line+"\n"+`{"jsonrpc":"2.0","id":"sb-ab12-8","result":{}}`+"\n"), out, slog.New(slog.DiscardHandler), &Stats{})
			if err != nil {
				t.Fatal(err)
			}
			close(out)
			var got []string
			for l := range out {
				got = append(got, string(l))
			}
			if len(got) != 2 || !strings.Contains(got[0], `"id":"sb-ab12-7"`) || !strings.Contains(got[0], "over the proxy's limit") || !strings.Contains(got[1], "sb-ab12-8") {
				t.Fatalf("lines passed on: %.300q", got)
			}
		})
	}
}

// stuckInput is a server whose input queue never moves: lines are taken
// and never written.
type stuckInput struct {
	view
	lines int
}

func (b *stuckInput) Send(_ context.Context, _ []byte, _ func()) error {
	b.lines++
	return nil
}

// One client flooding the server's input cannot take the queue every client
// shares: past its share it waits for its own lines, and the others' still
// go through.
func TestOneClientCannotTakeTheSharedInputQueue(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	backend := &stuckInput{view: view{out: make(chan []byte)}}
	m := newMux(ctx, backend, MuxOptions{Log: slog.New(slog.DiscardHandler)})
	flood := m.open(func(*wire.Message, json.RawMessage) bool { return true })
	other := m.open(func(*wire.Message, json.RawMessage) bool { return true })
	note := &wire.Message{JSONRPC: "2.0", Method: "notifications/roots/list_changed"}
	for i := range sessionQueue {
		if err := m.sendFor(NoWait, flood, note); err != nil {
			t.Fatalf("line %d of the flooding client refused within its share: %v", i, err)
		}
	}
	short, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	if err := m.sendFor(short, flood, note); err == nil {
		t.Fatal("the flooding client queued past its share")
	}
	if err := m.sendFor(NoWait, other, note); err != nil {
		t.Fatalf("another client's line waited behind the flood: %v", err)
	}
	if backend.lines != sessionQueue+1 {
		t.Errorf("%d lines reached the queue, want %d", backend.lines, sessionQueue+1)
	}
}
