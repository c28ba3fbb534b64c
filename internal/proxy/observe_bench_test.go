package proxy_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-mcp/switchboard/internal/proxy/audit"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcpmetrics"
	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/telemetry"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// BenchmarkObservePath is what audit events and tracing add to one
// tools/call, on its way in and its answer on the way back, against the
// same path with both off (ToolHive's metrics are on in every case, as in
// the proxy). Audit events go to a file, as a container's stdout does;
// traces are exported over OTLP/HTTP to a collector that takes anything.
// make bench measures the same end to end.
func BenchmarkObservePath(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer sink.Close()
	out, err := os.CreateTemp(b.TempDir(), "audit")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = out.Close() }()
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"ping"}}}`
	answer := `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"ping"}]}}`

	// handler is the middleware and path of a proxy observed as cfg says,
	// around an endpoint that reads the body, runs the path and answers.
	handler := func(b *testing.B, withAudit bool, tc proxyconfig.Telemetry) http.Handler {
		ctx := context.Background()
		t, err := telemetry.New(ctx, tc, "bench", "streamable-http", prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = t.Shutdown(ctx) })
		m, err := mcpmetrics.New(t.MeterProvider(), "bench", "streamable-http")
		if err != nil {
			b.Fatal(err)
		}
		steps := []pipeline.Step{pipeline.Limits()}
		var a *audit.Auditor
		if withAudit {
			a = audit.New(audit.Options{Server: "bench", Transport: "streamable-http", Out: out})
			b.Cleanup(func() { _ = a.Close(ctx) })
			steps = append(steps, a.Step())
		}
		if st := t.Step(false); st != nil {
			steps = append(steps, st)
		}
		path := pipeline.New(steps...)
		var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			msgs, _, ok := wire.ReadMessages(w, r, 1<<20, 0)
			if !ok {
				b.Fatal("body refused")
			}
			replies, _, _, ref := path.CheckAll(r, "s", msgs)
			if ref != nil {
				b.Fatalf("refused: %v", ref.Err)
			}
			m, _, _ := wire.Parse([]byte(answer), 1)
			replies.Of(0).Answer(m[0])
			_, _ = w.Write([]byte(answer))
		})
		if a != nil {
			h = a.Middleware(h)
		}
		h = m.Middleware(h)
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, _ := pipeline.WithExchange(r.Context())
			inner.ServeHTTP(w, r.WithContext(ctx))
		})
		return t.Middleware(h)
	}
	run := func(b *testing.B, h http.Handler) {
		for b.Loop() {
			r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
			r.Header.Set("Mcp-Session-Id", "s")
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
	}
	traces := func(rate float64) proxyconfig.Telemetry {
		return proxyconfig.Telemetry{Endpoint: sink.Listener.Addr().String(), Insecure: true, Tracing: true, SamplingRate: rate}
	}
	b.Run("off", func(b *testing.B) { run(b, handler(b, false, proxyconfig.Telemetry{})) })
	b.Run("audit", func(b *testing.B) { run(b, handler(b, true, proxyconfig.Telemetry{})) })
	b.Run("audit+tracing-0.05", func(b *testing.B) { run(b, handler(b, true, traces(0.05))) })
	b.Run("audit+tracing-1.0", func(b *testing.B) { run(b, handler(b, true, traces(1))) })
}
