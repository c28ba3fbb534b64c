package stdio

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// goSDKStdio is a real Go SDK stdio server several proxy replicas attach
// to, as to a pod: every line it writes reaches every replica and its log.
type goSDKStdio struct {
	fanout
	stdin io.Writer
	log   bytes.Buffer // guarded by fanout.mu
}

func startGoSDKStdio(t *testing.T) *goSDKStdio {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &goSDKStdio{stdin: inW}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = mcptest.NewServerNamed("stdio-pod").Run(ctx, &mcp.IOTransport{Reader: inR, Writer: outW})
	}()
	go func() {
		_ = scanLines(outR, MaxLine, func(b []byte) {
			line := append([]byte(nil), b...)
			s.mu.Lock()
			s.log.Write(append(line, '\n'))
			s.send(line)
			s.mu.Unlock()
		}, func(int, []byte, []byte) {})
	}()
	t.Cleanup(func() {
		cancel()
		_ = inW.Close()
		_ = outW.Close()
		<-done
	})
	return s
}

func (s *goSDKStdio) attach() *goSDKView {
	return &goSDKView{server: s, out: s.subscribe(64)}
}

// goSDKView is one replica's attachment; it reads the server's log as the
// pod backend does.
type goSDKView struct {
	server *goSDKStdio
	out    chan []byte
	mu     sync.Mutex
}

func (v *goSDKView) Send(_ context.Context, line []byte, done func()) error {
	if done != nil {
		defer done()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	_, err := v.server.stdin.Write(append(line, '\n'))
	return err
}
func (v *goSDKView) Recv() <-chan []byte { return v.out }
func (v *goSDKView) Attached() bool      { return true }
func (v *goSDKView) Generation() uint64  { return 1 }
func (v *goSDKView) Reset(string)        {}
func (v *goSDKView) InitializeResult(_ context.Context, requested string) (json.RawMessage, error) {
	v.server.mu.Lock()
	log := append([]byte(nil), v.server.log.Bytes()...)
	v.server.mu.Unlock()
	return initializeResultIn(bytes.NewReader(log), requested)
}

// client is one MCP client of a mux, answers by id.
type muxClient struct {
	t       *testing.T
	m       *mux
	s       *clientSession
	answers chan *wire.Message
}

func newMuxClient(t *testing.T, m *mux) *muxClient {
	c := &muxClient{t: t, m: m, answers: make(chan *wire.Message, 8)}
	c.s = m.open(func(msg *wire.Message, _ json.RawMessage) bool { c.answers <- msg; return true })
	return c
}

func (c *muxClient) call(id, method, params string) *wire.Message {
	c.t.Helper()
	c.m.fromClient(context.Background(), c.s, &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(id), Method: method, Params: json.RawMessage(params)})
	select {
	case a := <-c.answers:
		return a
	case <-time.After(5 * time.Second):
		c.t.Fatalf("no answer to %s", method)
		return nil
	}
}

const initParams = `{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}`

// A proxy that attaches to a stdio server another proxy initialized (the
// new pod of a rolling update, a second replica) gets its clients through
// initialize: the server refuses a second one, so the proxy answers with
// what the server answered the first time, read from its output (in
// Kubernetes, the container's log).
func TestAProxyAttachingToAnInitializedServerServesItsClients(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	server := startGoSDKStdio(t)
	discard := slog.New(slog.DiscardHandler)

	first := newMuxClient(t, newMux(ctx, server.attach(), MuxOptions{Log: discard}))
	firstResult := first.call("1", "initialize", initParams)
	if len(firstResult.Error) != 0 {
		t.Fatalf("the first initialize: %s", firstResult.Error)
	}
	first.m.fromClient(context.Background(), first.s, &wire.Message{JSONRPC: "2.0", Method: "notifications/initialized"})

	later := newMuxClient(t, newMux(ctx, server.attach(), MuxOptions{Log: discard}))
	a := later.call("1", "initialize", initParams)
	if len(a.Error) != 0 || string(a.Result) != string(firstResult.Result) {
		t.Fatalf("initialize through a proxy that attached later: result %s, error %s; want the first result %s", a.Result, a.Error, firstResult.Result)
	}
	later.m.fromClient(context.Background(), later.s, &wire.Message{JSONRPC: "2.0", Method: "notifications/initialized"})
	if w := later.call("2", "tools/call", `{"name":"whoami"}`); !strings.Contains(string(w.Result), "stdio-pod") {
		t.Errorf("whoami through the later proxy: result %s, error %s", w.Result, w.Error)
	}
}

// A client of the initialize era after one of the stateless era, on one
// stdio server: the Go SDK server counts server/discover as its
// initialization and refuses initialize; the client is answered with what
// the server's discover result says.
func TestAnInitializeAfterAStatelessClientIsAnswered(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	server := startGoSDKStdio(t)
	m := newMux(ctx, server.attach(), MuxOptions{Log: slog.New(slog.DiscardHandler)})
	stateless := newMuxClient(t, m)
	if a := stateless.call("1", "server/discover", `{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",`+
		`"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}}}`); len(a.Error) != 0 {
		t.Fatalf("server/discover: %s", a.Error)
	}
	classic := newMuxClient(t, m)
	a := classic.call("1", "initialize", initParams)
	var r struct {
		ProtocolVersion string `json:"protocolVersion"`
		ServerInfo      struct{ Name string }
		Capabilities    map[string]json.RawMessage
	}
	if err := json.Unmarshal(a.Result, &r); err != nil || r.ProtocolVersion != "2025-06-18" || r.ServerInfo.Name != "mcptest" || r.Capabilities["tools"] == nil {
		t.Fatalf("initialize after a stateless client: result %s, error %s", a.Result, a.Error)
	}
	if w := classic.call("2", "tools/call", `{"name":"whoami"}`); !strings.Contains(string(w.Result), "stdio-pod") {
		t.Errorf("whoami: result %s, error %s", w.Result, w.Error)
	}
}

func TestInitializeResultInAServersOutput(t *testing.T) {
	const result = `{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"s","version":"1"}}`
	const discover = `{"supportedVersions":["2026-07-28","2025-11-25","2025-06-18"],"capabilities":{"tools":{}},"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s","version":"1"}}}`
	tests := []struct {
		name, output, requested, want string
	}{
		{"the first initialize result, among other lines", "starting\n" + `{"jsonrpc":"2.0","id":"x","result":{}}` + "\n" +
			`{"jsonrpc":"2.0","id":"sb-1","result":` + result + "}\n" +
			`{"jsonrpc":"2.0","id":"sb-0","result":` + discover + "}\n" +
			`{"jsonrpc":"2.0","id":"sb-2","result":{"protocolVersion":"2024-11-05","capabilities":{},"serverInfo":{"name":"later"}}}` + "\n", "2025-06-18", result},
		{"from server/discover, the requested version", `{"jsonrpc":"2.0","id":"sb-1","result":` + discover + "}\n", "2025-06-18",
			`{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"s","version":"1"}}`},
		{"from server/discover, the newest classic version", `{"jsonrpc":"2.0","id":"sb-1","result":` + discover + "}\n", "2024-11-05",
			`{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"s","version":"1"}}`},
		{"a refusal is no result", `{"jsonrpc":"2.0","id":"sb-1","error":{"code":-32600,"message":"duplicate"}}` + "\n", "2025-06-18", ""},
		{"nothing", "", "2025-06-18", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := initializeResultIn(strings.NewReader(tt.output), tt.requested)
			if tt.want == "" {
				if err == nil {
					t.Errorf("found %s in output without an initialize result", got)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("got %s (%v), want %s", got, err, tt.want)
			}
		})
	}
}

// A proxy that describes the server for /health, attached after a client
// of the stateless era, still answers a client of the initialize era with
// the version it asked for: what it read for /health is not what clients
// are answered with.
func TestDescribingAnInitializedServerKeepsEachClientsVersion(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	server := startGoSDKStdio(t)
	discard := slog.New(slog.DiscardHandler)
	stateless := newMuxClient(t, newMux(ctx, server.attach(), MuxOptions{Log: discard}))
	if a := stateless.call("1", "server/discover", `{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",`+
		`"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}}}`); len(a.Error) != 0 {
		t.Fatalf("server/discover: %s", a.Error)
	}

	m := newMux(ctx, server.attach(), MuxOptions{Log: discard, Describe: true})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if s := m.described.Load(); s != nil && s.desc != nil && s.desc.Name != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy never described the server: %+v", m.described.Load())
		}
	}
	classic := newMuxClient(t, m)
	a := classic.call("1", "initialize", initParams)
	var r struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if err := json.Unmarshal(a.Result, &r); err != nil || r.ProtocolVersion != "2025-06-18" {
		t.Fatalf("initialize (2025-06-18) after the proxy described the server: result %s, error %s", a.Result, a.Error)
	}
}
