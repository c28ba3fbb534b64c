package stdio

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// fanout hands every line a stdio server writes to every attached proxy
// replica, as the attach API does.
type fanout struct {
	mu      sync.Mutex
	readers []chan []byte
}

func (f *fanout) subscribe(size int) chan []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(chan []byte, size)
	f.readers = append(f.readers, c)
	return c
}

// send hands line to every reader; f.mu is held.
func (f *fanout) send(line []byte) {
	for _, r := range f.readers {
		r <- line
	}
}

// sharedStdio is one stdio server with several proxy replicas attached.
type sharedStdio struct{ fanout }

func (s *sharedStdio) attach() *view {
	return &view{out: s.subscribe(1024), sent: s.answer}
}

// answer replies to a request with its own params, for every reader.
func (s *sharedStdio) answer(line []byte) {
	var req wire.Message
	if err := json.Unmarshal(line, &req); err != nil || !req.IsRequest() {
		return
	}
	out, _ := json.Marshal(wire.Message{JSONRPC: "2.0", ID: req.ID, Result: req.Params})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.send(out)
}

// view is one replica's attachment to a fake shared server.
type view struct {
	out  chan []byte
	sent func(line []byte)
}

func (v *view) Send(_ context.Context, line []byte, done func()) error {
	if done != nil {
		defer done()
	}
	v.sent(line)
	return nil
}
func (v *view) Recv() <-chan []byte { return v.out }
func (v *view) Attached() bool      { return true }
func (v *view) Generation() uint64  { return 1 }
func (v *view) Reset(string)        {}

// Two proxy replicas attached to one stdio server both see every answer;
// each client still gets exactly the answers to its own requests, though
// both clients use the same request ids.
func TestReplicasSharingOneStdioServerGetOnlyTheirOwnAnswers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	server := &sharedStdio{}
	const calls = 50
	type got struct {
		mu      sync.Mutex
		answers map[string]string // client id → the "from" the answer echoes
	}
	replicas := []string{"a", "b"}
	results := make([]*got, len(replicas))
	var wg sync.WaitGroup
	for r, name := range replicas {
		m := newMux(ctx, server.attach(), MuxOptions{Log: slog.New(slog.DiscardHandler)})
		g := &got{answers: map[string]string{}}
		results[r] = g
		s := m.open(func(msg *wire.Message, _ json.RawMessage) bool {
			var p struct{ From string }
			_ = json.Unmarshal(msg.Result, &p)
			g.mu.Lock()
			defer g.mu.Unlock()
			if _, dup := g.answers[string(msg.ID)]; dup {
				t.Errorf("replica %s: a second answer to id %s", name, msg.ID)
			}
			g.answers[string(msg.ID)] = p.From
			return true
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= calls; i++ {
				params, _ := json.Marshal(map[string]string{"from": name})
				m.fromClient(context.Background(), s, &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(fmt.Sprint(i)), Method: "tools/call", Params: params})
			}
		}()
	}
	wg.Wait()
	for r, g := range results {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			g.mu.Lock()
			n := len(g.answers)
			g.mu.Unlock()
			if n == calls || time.Now().After(deadline) {
				break
			}
		}
		g.mu.Lock()
		if len(g.answers) != calls {
			t.Errorf("replica %s: %d answers, want %d", replicas[r], len(g.answers), calls)
		}
		for id, from := range g.answers {
			if from != replicas[r] {
				t.Errorf("replica %s: the answer to id %s was meant for replica %s", replicas[r], id, from)
			}
		}
		g.mu.Unlock()
	}
}

// scriptedStdio is a shared stdio server the test speaks for: it records
// what the replicas send and writes what the test says to all of them.
type scriptedStdio struct {
	fanout
	sent chan []byte
}

func (s *scriptedStdio) write(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.send([]byte(line))
}

// A server request while another replica's client waits on a call: the
// replica whose client is busy hands it on; the other replica, whose only
// client is idle, neither gives it to that client nor refuses it.
func TestAServerRequestGoesOnlyToTheReplicaWhoseClientIsWaiting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	server := &scriptedStdio{sent: make(chan []byte, 16)}
	type replica struct {
		m   *mux
		s   *clientSession
		got chan *wire.Message
	}
	replicas := make([]replica, 2)
	for i := range replicas {
		r := replica{m: newMux(ctx, &view{out: server.subscribe(16), sent: func(line []byte) { server.sent <- line }}, MuxOptions{Log: slog.New(slog.DiscardHandler)}), got: make(chan *wire.Message, 4)}
		r.s = r.m.open(func(msg *wire.Message, _ json.RawMessage) bool { r.got <- msg; return true })
		replicas[i] = r
	}
	sentID := func() string {
		t.Helper()
		select {
		case line := <-server.sent:
			var m wire.Message
			_ = json.Unmarshal(line, &m)
			return string(m.ID)
		case <-time.After(2 * time.Second):
			t.Fatal("the replica sent nothing")
			return ""
		}
	}
	// Each replica's client makes a call the server answers: each replica
	// sees the other's answer on the shared output.
	for _, r := range replicas {
		r.m.fromClient(context.Background(), r.s, &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(`1`), Method: "tools/list"})
		server.write(`{"jsonrpc":"2.0","id":` + sentID() + `,"result":{"tools":[]}}`)
		<-r.got
	}
	busy, idle := replicas[0], replicas[1]
	busy.m.fromClient(context.Background(), busy.s, &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(`2`), Method: "tools/call", Params: json.RawMessage(`{"name":"sample"}`)})
	sentID() // the call, which the server holds while it asks the client
	server.write(`{"jsonrpc":"2.0","id":7,"method":"sampling/createMessage","params":{}}`)

	select {
	case msg := <-busy.got:
		if msg.Method != "sampling/createMessage" {
			t.Errorf("the waiting client got %+v; want the server's sampling request", msg)
		}
	case <-time.After(2 * time.Second):
		t.Error("the client waiting on its call never got the server's request")
	}
	select {
	case msg := <-idle.got:
		t.Errorf("the idle client of the other replica got %+v", msg)
	case line := <-server.sent:
		t.Errorf("a replica answered the server's request itself: %s", line)
	case <-time.After(300 * time.Millisecond):
	}
}
