package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func TestTheBackendsRequestIsAClientSpanUnderTheMessagesSpan(t *testing.T) {
	h := newHarness(t, traced())
	got := make(chan string, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Traceparent")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":7,"result":{}}`)
	}))
	defer backend.Close()
	client := &http.Client{Transport: h.tel.Transport(http.DefaultTransport.(*http.Transport).Clone())}
	defer client.CloseIdleConnections()

	path := pipeline.New(h.tel.Step(false))
	relay := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msgs, _, _ := wire.ReadMessages(w, r, 1<<20, 0)
		replies, _, _, _ := path.CheckAll(r, "", msgs)
		out, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, backend.URL+"/mcp", strings.NewReader(addCall))
		resp, err := client.Do(out)
		if err != nil {
			t.Error(err)
			return
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		answer, _ := wire.ParseOne(body)
		replies.Of(0).Answer(answer)
	})
	req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(addCall))
	req.Header.Set("Traceparent", traceparent(clientTrace, clientSpan, sampled))
	h.tel.Middleware(relay).ServeHTTP(httptest.NewRecorder(), req)

	call, attempt := h.span(t, "tools/call add"), h.span(t, "POST")
	if attempt.SpanKind() != trace.SpanKindClient || attempt.Parent().SpanID() != call.SpanContext().SpanID() {
		t.Errorf("backend span: kind %s, parent %s; want a client span under the tools/call span %s",
			attempt.SpanKind(), attempt.Parent().SpanID(), call.SpanContext().SpanID())
	}
	if want := traceparent(clientTrace, attempt.SpanContext().SpanID().String(), sampled); <-got != want {
		t.Errorf("the backend was not sent traceparent %s", want)
	}
	if a := attrs(attempt); a["server.address"] != "127.0.0.1" || a["http.response.status_code"] != "200" {
		t.Errorf("backend span lacks the HTTP client conventions' attributes: %v", a)
	}
}

// The proxy's event streams set a deadline on each write through
// http.ResponseController: the span's response writer must let it through.
func TestMiddlewareKeepsWriteDeadlinesWorking(t *testing.T) {
	h := newHarness(t, traced())
	errc := make(chan error, 1)
	srv := httptest.NewServer(h.tel.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rc := http.NewResponseController(w)
		err := rc.SetWriteDeadline(time.Now().Add(time.Second))
		if err == nil {
			_, _ = io.WriteString(w, "event: message\n\n")
			err = rc.Flush()
		}
		errc <- err
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if err := <-errc; err != nil {
		t.Errorf("through the middleware: %v", err)
	}
}

type handler struct{}

func (*handler) ServeHTTP(http.ResponseWriter, *http.Request) {}

func TestWithTracingOffNothingIsWrapped(t *testing.T) {
	tel, err := New(context.Background(), proxyconfig.Telemetry{}, "github", proxyconfig.TransportStdio, prometheus.NewRegistry(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tel.Shutdown(context.Background()) }()
	next, rt := &handler{}, &http.Transport{}
	if tel.Tracing() || tel.Step(true) != nil || tel.Middleware(next) != http.Handler(next) || tel.Transport(rt) != http.RoundTripper(rt) {
		t.Error("with tracing off, Step is not nil or Middleware or Transport wraps")
	}
	if _, span := tel.TracerProvider().Tracer("t").Start(context.Background(), "x"); span.IsRecording() {
		t.Error("the tracer provider records with tracing off")
	}
	var none *Telemetry
	if none.Tracing() || none.Step(true) != nil || none.Middleware(next) != http.Handler(next) || none.Shutdown(context.Background()) != nil {
		t.Error("a nil Telemetry is not off")
	}
}
