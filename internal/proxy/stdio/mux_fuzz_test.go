package stdio

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"testing"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// FuzzMuxRouting drives the message router with what two clients and a
// server say, in any order, and checks that it never panics and never hands
// one client an answer to a request it did not send. Each input line is
// "a:<msg>" or "b:<msg>" (a client's) or "s:<msg>" (the server's), where in
// the server's lines $N stands for the N-th id the server received.
func FuzzMuxRouting(f *testing.F) {
	for _, seed := range []string{
		"a:{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}\ns:{\"jsonrpc\":\"2.0\",\"id\":$0,\"result\":{}}",
		"a:{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\"}}\nb:{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2024-11-05\"}}\ns:{\"jsonrpc\":\"2.0\",\"id\":$0,\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"serverInfo\":{}}}",
		"a:{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"tools/call\",\"params\":{\"_meta\":{\"progressToken\":7}}}\nb:{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"tools/call\"}\ns:{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":$0}}\ns:{\"jsonrpc\":\"2.0\",\"id\":$1,\"result\":{}}",
		"a:{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\"}\ns:{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"sampling/createMessage\"}\nb:{\"jsonrpc\":\"2.0\",\"id\":\"sb-s-x\",\"result\":{}}",
		"a:{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/subscribe\",\"params\":{\"uri\":\"u\"}}\ns:{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{\"uri\":\"u\"}}\ns:{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu sync.Mutex
		var received []json.RawMessage // ids the server got
		backend := &view{out: make(chan []byte), sent: func(line []byte) {
			if m, err := wire.ParseOne(line); err == nil && len(m.ID) > 0 {
				mu.Lock()
				received = append(received, m.ID)
				mu.Unlock()
			}
		}}
		m := newMux(ctx, backend, MuxOptions{Log: slog.New(slog.DiscardHandler), MaxInflight: 5})
		sent := map[string]map[string]bool{"a": {}, "b": {}}
		sentCount := map[string]map[string]int{"a": {}, "b": {}}
		answers := map[string]map[string]int{"a": {}, "b": {}}
		clients := map[string]*clientSession{}
		for _, name := range []string{"a", "b"} {
			clients[name] = m.open(func(msg *wire.Message, _ json.RawMessage) bool {
				if !msg.IsResponse() {
					return true
				}
				mu.Lock()
				defer mu.Unlock()
				if !sent[name][string(msg.ID)] {
					t.Errorf("client %s was handed an answer to id %s, which it never sent", name, msg.ID)
				}
				answers[name][string(msg.ID)]++
				if answers[name][string(msg.ID)] > sentCount[name][string(msg.ID)] {
					t.Errorf("client %s got %d answers to id %s, sent %d", name, answers[name][string(msg.ID)], msg.ID, sentCount[name][string(msg.ID)])
				}
				return true
			})
		}
		for _, line := range bytes.Split(script, []byte("\n")) {
			who, text, ok := bytes.Cut(line, []byte(":"))
			if !ok {
				continue
			}
			switch string(who) {
			case "a", "b":
				msg, err := wire.ParseOne(text)
				if err != nil {
					continue
				}
				if msg.IsRequest() {
					mu.Lock()
					sent[string(who)][string(msg.ID)] = true
					sentCount[string(who)][string(msg.ID)]++
					mu.Unlock()
				}
				m.fromClient(NoWait, clients[string(who)], msg)
			case "s":
				mu.Lock()
				for i := len(received) - 1; i >= 0; i-- {
					text = bytes.ReplaceAll(text, []byte("$"+strconv.Itoa(i)), received[i])
				}
				mu.Unlock()
				if msg, err := wire.ParseOne(text); err == nil {
					m.fromBackend(msg)
				}
			}
		}
		m.close(clients["a"])
		m.close(clients["b"])
	})
}
