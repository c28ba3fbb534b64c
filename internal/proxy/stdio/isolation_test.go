package stdio

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// A stdio server shared by several clients is multi-tenant: these tests
// speak for the server (scriptedStdio, one replica) and check that nothing
// one client does reaches another. Each failed on the mux before it routed
// notifications by what they concern and checked who answers a server
// request.

// tenant is one client of the mux, recording what it is handed.
type tenant struct {
	s   *clientSession
	mu  sync.Mutex
	got []*wire.Message
}

func (c *tenant) messages() []*wire.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*wire.Message(nil), c.got...)
}

type shared struct {
	t      *testing.T
	m      *mux
	server *scriptedStdio
}

func newShared(t *testing.T, o MuxOptions) *shared {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	server := &scriptedStdio{sent: make(chan []byte, 256)}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	m := newMux(ctx, &view{out: server.subscribe(256), sent: func(line []byte) { server.sent <- line }}, o)
	return &shared{t: t, m: m, server: server}
}

func (sh *shared) client() *tenant {
	c := &tenant{}
	c.s = sh.m.open(func(msg *wire.Message, _ json.RawMessage) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.got = append(c.got, msg)
		return true
	})
	return c
}

// send is a client's message; it returns what reached the server.
func (sh *shared) send(c *tenant, msg string) *wire.Message {
	sh.t.Helper()
	m, err := wire.ParseOne([]byte(msg))
	if err != nil {
		sh.t.Fatal(err)
	}
	sh.m.fromClient(context.Background(), c.s, m)
	return sh.received(time.Second)
}

// received is the next line the server got within d, or nil.
func (sh *shared) received(d time.Duration) *wire.Message {
	select {
	case line := <-sh.server.sent:
		m, _ := wire.ParseOne(line)
		return m
	case <-time.After(d):
		return nil
	}
}

// eventually waits until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
	}
}

func TestAServerRequestIsAnsweredOnlyByTheClientItWentTo(t *testing.T) {
	sh := newShared(t, MuxOptions{})
	asked, other := sh.client(), sh.client()
	sh.send(asked, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sample"}}`)
	sh.server.write(`{"jsonrpc":"2.0","id":"srv-1","method":"sampling/createMessage","params":{}}`)
	eventually(t, "the server request never reached the client with the call", func() bool { return len(asked.messages()) == 1 })
	req := asked.messages()[0]
	// Another client answers with that id: dropped, the server sees nothing.
	sh.m.fromClient(context.Background(), other.s, &wire.Message{JSONRPC: "2.0", ID: req.ID, Result: json.RawMessage(`{"forged":true}`)})
	if got := sh.received(200 * time.Millisecond); got != nil {
		t.Fatalf("a forged answer from another client reached the server: %+v", got)
	}
	// The client it went to answers: the server gets it under its own id.
	sh.m.fromClient(context.Background(), asked.s, &wire.Message{JSONRPC: "2.0", ID: req.ID, Result: json.RawMessage(`{"ok":true}`)})
	got := sh.received(time.Second)
	if got == nil || string(got.ID) != `"srv-1"` || string(got.Result) != `{"ok":true}` {
		t.Fatalf("the server got %+v, want the answer to srv-1", got)
	}
}

func TestServerRequestIDsAreUnguessable(t *testing.T) {
	sh := newShared(t, MuxOptions{})
	c := sh.client()
	sh.send(c, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}`)
	seen := map[string]bool{}
	for i := range 50 {
		sh.server.write(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"roots/list"}`, i))
	}
	eventually(t, "server requests lost", func() bool { return len(c.messages()) == 50 })
	for _, m := range c.messages() {
		id := wire.Unquote(m.ID)
		if seen[id] || len(id) < 26 { // 128 random bits
			t.Fatalf("server request id %q repeats or is too short to be unguessable", id)
		}
		seen[id] = true
	}
}

func TestALogMessageGoesOnlyToTheClientWhoseCallIsRunning(t *testing.T) {
	sh := newShared(t, MuxOptions{})
	busy, idle := sh.client(), sh.client()
	sh.send(busy, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"secret"}}`)
	sh.server.write(`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"the token is s3cr3t"}}`)
	eventually(t, "the log message never reached the client whose call runs", func() bool { return len(busy.messages()) == 1 })
	time.Sleep(100 * time.Millisecond)
	if got := idle.messages(); len(got) != 0 {
		t.Fatalf("another client read the log message: %+v", got)
	}
}

func TestALogMessageNoClientCanBeMeantForIsDropped(t *testing.T) {
	sh := newShared(t, MuxOptions{})
	a, b := sh.client(), sh.client()
	sh.server.write(`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"to whom?"}}`)
	eventually(t, "the unroutable message was not counted", func() bool { return sh.m.opts.Stats.Unroutable.Load() == 1 })
	if len(a.messages())+len(b.messages()) != 0 {
		t.Fatal("a log message no client can be meant for was handed to one")
	}
}

func TestListChangesReachEveryClient(t *testing.T) {
	sh := newShared(t, MuxOptions{})
	a, b := sh.client(), sh.client()
	sh.server.write(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`)
	eventually(t, "a list change did not reach every client", func() bool { return len(a.messages()) == 1 && len(b.messages()) == 1 })
}

func TestResourceUpdatesGoToSubscribersAndUnsubscribeKeepsOthersSubscribed(t *testing.T) {
	sh := newShared(t, MuxOptions{})
	sub1, sub2, none := sh.client(), sh.client(), sh.client()
	for i, c := range []*tenant{sub1, sub2} {
		got := sh.send(c, `{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"file:///a"}}`)
		sh.server.write(`{"jsonrpc":"2.0","id":` + string(got.ID) + `,"result":{}}`)
		eventually(t, fmt.Sprintf("subscriber %d got no answer", i), func() bool { return len(c.messages()) == 1 })
	}
	sh.server.write(`{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"file:///a"}}`)
	eventually(t, "an update missed a subscriber", func() bool { return len(sub1.messages()) == 2 && len(sub2.messages()) == 2 })
	time.Sleep(50 * time.Millisecond)
	if len(none.messages()) != 0 {
		t.Fatal("a client that never subscribed got the update")
	}
	// sub1 unsubscribes: answered by the proxy, the server keeps sending
	// to sub2.
	sh.m.fromClient(context.Background(), sub1.s, &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(`2`), Method: "resources/unsubscribe", Params: json.RawMessage(`{"uri":"file:///a"}`)})
	if got := sh.received(200 * time.Millisecond); got != nil {
		t.Fatalf("the unsubscribe reached the server while another client is subscribed: %+v", got)
	}
	eventually(t, "the unsubscribe was not answered", func() bool { return len(sub1.messages()) == 3 })
	sh.server.write(`{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"file:///a"}}`)
	eventually(t, "the remaining subscriber lost its updates", func() bool { return len(sub2.messages()) == 3 })
	if len(sub1.messages()) != 3 {
		t.Fatal("the client that unsubscribed still gets updates")
	}
	// sub2 leaves: now the server is told.
	sh.m.close(sub2.s)
	if got := sh.received(time.Second); got == nil || got.Method != "resources/unsubscribe" {
		t.Fatalf("the last subscriber left and the server got %+v, want resources/unsubscribe", got)
	}
}

func TestEachClientGetsTheProtocolVersionItCanSpeak(t *testing.T) {
	sh := newShared(t, MuxOptions{})
	first, newer, older := sh.client(), sh.client(), sh.client()
	init := sh.send(first, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"a","version":"1"}}}`)
	sh.server.write(`{"jsonrpc":"2.0","id":` + string(init.ID) + `,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}`)
	eventually(t, "the first client got no answer", func() bool { return len(first.messages()) == 1 })
	sh.m.fromClient(context.Background(), newer.s, &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(`1`), Method: "initialize", Params: json.RawMessage(`{"protocolVersion":"2025-11-25"}`)})
	sh.m.fromClient(context.Background(), older.s, &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(`1`), Method: "initialize", Params: json.RawMessage(`{"protocolVersion":"2024-11-05"}`)})
	eventually(t, "later clients got no answer", func() bool { return len(newer.messages()) == 1 && len(older.messages()) == 1 })
	if r := string(newer.messages()[0].Result); !strings.Contains(r, `"2025-06-18"`) {
		t.Errorf("a client asking for a newer version got %s, want the server's 2025-06-18", r)
	}
	if e := string(older.messages()[0].Error); !strings.Contains(e, "2024-11-05") || !strings.Contains(e, "-32602") {
		t.Errorf("a client asking for an older version got %s, want a clear error", e)
	}
}

func TestCallStateIsFreedWhenTheCallEnds(t *testing.T) {
	sh := newShared(t, MuxOptions{})
	c := sh.client()
	for i := range 100 {
		got := sh.send(c, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"_meta":{"progressToken":"tok-%d"}}}`, i, i))
		sh.server.write(`{"jsonrpc":"2.0","id":` + string(got.ID) + `,"result":{}}`)
	}
	eventually(t, "answers lost", func() bool { return len(c.messages()) == 100 })
	sh.m.mu.Lock()
	defer sh.m.mu.Unlock()
	if len(sh.m.progress) != 0 || len(sh.m.pending) != 0 || len(c.s.inflight) != 0 {
		t.Errorf("after 100 finished calls the mux holds %d progress routes, %d pending calls, %d in flight", len(sh.m.progress), len(sh.m.pending), len(c.s.inflight))
	}
}

func TestASessionMayNotHoldMoreCallsThanItsLimit(t *testing.T) {
	sh := newShared(t, MuxOptions{MaxInflight: 3})
	c := sh.client()
	for i := range 3 {
		sh.send(c, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call"}`, i))
	}
	sh.m.fromClient(context.Background(), c.s, &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(`9`), Method: "tools/call"})
	eventually(t, "the call over the limit was not refused", func() bool { return len(c.messages()) == 1 })
	if e := string(c.messages()[0].Error); !strings.Contains(e, "in flight") {
		t.Errorf("the refusal says %s", e)
	}
	if got := sh.received(100 * time.Millisecond); got != nil {
		t.Errorf("the call over the limit reached the server: %+v", got)
	}
}

func TestACallPastTheCallTimeoutFailsAndIsCancelled(t *testing.T) {
	sh := newShared(t, MuxOptions{CallTimeout: 300 * time.Millisecond})
	c := sh.client()
	call := sh.send(c, `{"jsonrpc":"2.0","id":5,"method":"tools/call"}`)
	eventually(t, "the call never timed out", func() bool { return len(c.messages()) == 1 })
	if e := string(c.messages()[0].Error); !strings.Contains(e, "-32001") {
		t.Errorf("the timeout answer %s, want code -32001", e)
	}
	cancel := sh.received(time.Second)
	if cancel == nil || cancel.Method != "notifications/cancelled" || !strings.Contains(string(cancel.Params), wire.Unquote(call.ID)) {
		t.Errorf("the server was told %+v, want the call cancelled", cancel)
	}
}
