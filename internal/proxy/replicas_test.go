package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"
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

func (s *sharedStdio) attach() *stdioView {
	return &stdioView{server: s, out: s.subscribe(1024)}
}

// answer replies to a request with its own params, for every reader.
func (s *sharedStdio) answer(line []byte) {
	var req message
	if err := json.Unmarshal(line, &req); err != nil || !req.isRequest() {
		return
	}
	out, _ := json.Marshal(message{JSONRPC: "2.0", ID: req.ID, Result: req.Params})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.send(out)
}

type stdioView struct {
	server *sharedStdio
	out    chan []byte
}

func (v *stdioView) Send(_ context.Context, line []byte) error {
	v.server.answer(line)
	return nil
}
func (v *stdioView) Recv() <-chan []byte { return v.out }
func (v *stdioView) Attached() bool      { return true }
func (v *stdioView) Generation() uint64  { return 1 }

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
		m := newMux(ctx, server.attach(), slog.New(slog.DiscardHandler))
		g := &got{answers: map[string]string{}}
		results[r] = g
		s := m.open(func(msg *message, _ json.RawMessage) {
			var p struct{ From string }
			_ = json.Unmarshal(msg.Result, &p)
			g.mu.Lock()
			defer g.mu.Unlock()
			if _, dup := g.answers[string(msg.ID)]; dup {
				t.Errorf("replica %s: a second answer to id %s", name, msg.ID)
			}
			g.answers[string(msg.ID)] = p.From
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= calls; i++ {
				params, _ := json.Marshal(map[string]string{"from": name})
				m.fromClient(ctx, s, &message{JSONRPC: "2.0", ID: json.RawMessage(fmt.Sprint(i)), Method: "tools/call", Params: params})
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
