package main

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	colltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
)

const (
	clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpan  = "00f067aa0ba902b7"
	traceparent = "00-" + clientTrace + "-" + clientSpan + "-01"
)

// span is what the collector learned of one span.
type span struct {
	name, trace, id, parent, service string
}

// collector is an OTLP/HTTP receiver on 127.0.0.1 that keeps every span.
type collector struct {
	mu    sync.Mutex
	spans []span
}

func startCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req colltrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, rs := range req.GetResourceSpans() {
			service := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					c.spans = append(c.spans, span{name: s.GetName(), trace: hex.EncodeToString(s.GetTraceId()),
						id: hex.EncodeToString(s.GetSpanId()), parent: hex.EncodeToString(s.GetParentSpanId()), service: service})
				}
			}
		}
		b, _ := proto.Marshal(&colltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	t.Setenv(envEndpoint, srv.URL)
	for _, env := range []string{envTracesEndpoint, envProtocol, envTracesProtocol, "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER"} {
		t.Setenv(env, "")
	}
	return c
}

func (c *collector) span(t *testing.T, name string) span {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.spans {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("no span %q among %+v", name, c.spans)
	return span{}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// The proxy writes its span into params._meta of what it forwards to a
// stdio server; the server's span continues that trace.
func TestAStdioCallContinuesTheTraceInParamsMeta(t *testing.T) {
	col := startCollector(t)
	toServer, fromClient := io.Pipe()
	toClient, fromServer := io.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{transport: "stdio", name: "t", stdio: &mcp.IOTransport{Reader: toServer, Writer: fromServer}}, quiet)
	}()

	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	session, err := client.Connect(ctx, &mcp.IOTransport{Reader: toClient, Writer: fromClient}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A ping has no params: the server must not trip over their absence
	// (the proxy pings a stdio server to learn that it speaks MCP).
	if err := session.Ping(ctx, nil); err != nil {
		t.Fatalf("ping: %v", err)
	}
	_, err = session.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"},
		Meta: mcp.Meta{"traceparent": traceparent, "progressToken": "p-1"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = session.Close()
	if err := <-done; err != nil { // run flushes the spans before it returns
		t.Logf("run: %v", err)
	}

	got := col.span(t, "tools/call echo")
	if want := (span{name: "tools/call echo", trace: clientTrace, parent: clientSpan, id: got.id, service: "mcpserver"}); got != want {
		t.Errorf("span %+v, want %+v", got, want)
	}
}

// Over streamable HTTP without _meta, the MCP span's parent is the HTTP
// request's span, which continues the traceparent header.
func TestAnHTTPCallIsUnderTheHTTPSpanOfTheHeadersTrace(t *testing.T) {
	col := startCollector(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := startTracing(ctx)
	if err != nil || tr == nil {
		t.Fatalf("tracing: %v, %v", tr, err)
	}
	server := mcptest.NewServer()
	tr.instrument(server)
	srv := httptest.NewServer(tr.handler(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)))
	defer srv.Close()

	httpClient := &http.Client{Transport: withHeader{"Traceparent", traceparent}}
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", HTTPClient: httpClient, DisableStandaloneSSE: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}}); err != nil {
		t.Fatal(err)
	}
	_ = session.Close()
	// The server's span of a request ends when its handler returns, which
	// may be after the client has read the whole answer: Close waits for
	// the handlers, so every span has ended before the export.
	srv.Close()
	tr.shutdown(quiet)

	call := col.span(t, "tools/call echo")
	var post span
	col.mu.Lock()
	for _, s := range col.spans {
		if s.name == "POST /mcp" && s.id == call.parent {
			post = s
		}
	}
	col.mu.Unlock()
	if post.id == "" || post.trace != clientTrace || post.parent != clientSpan || call.trace != clientTrace {
		t.Errorf("tools/call span %+v is not under a POST /mcp span continuing the header's trace (found %+v)", call, post)
	}
}

type withHeader [2]string

func (h withHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h[0], h[1])
	return http.DefaultTransport.RoundTrip(r)
}
