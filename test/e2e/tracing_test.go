//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// tracedServer is the test server over transport with its proxy's traces
// going to the MCPTelemetryConfig "tracing" and the server's own spans
// (test/mcpserver exports them when OTEL_EXPORTER_OTLP_ENDPOINT is set) to
// the same Jaeger.
func tracedServer(name, transport string, j *jaeger) string {
	return manifest(name, transport) + fmt.Sprintf(`  telemetryConfigRef:
    name: tracing
    serviceName: proxy-%[1]s
  env:
  - name: OTEL_EXPORTER_OTLP_ENDPOINT
    value: http://%[2]s
  - name: OTEL_EXPORTER_OTLP_PROTOCOL
    value: grpc
  - name: OTEL_SERVICE_NAME
    value: server-%[1]s
`, name, j.OTLPGRPC)
}

// traced is a client transport that starts every request in trace with a
// sampled span of the client's own, as an instrumented client would.
type traced struct{ trace, span string }

func (c traced) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("traceparent", "00-"+c.trace+"-"+c.span+"-01")
	return http.DefaultTransport.RoundTrip(r)
}

// TestOneTraceFromClientToServer: one tools/call through the proxy to a
// server that is itself instrumented is one trace in Jaeger, the proxy's
// spans and the server's under the client's trace id, the server's under
// the proxy's — for a stdio server (the trace travels in params._meta) and
// a streamable HTTP one (in the relay's headers).
func TestOneTraceFromClientToServer(t *testing.T) {
	n := newNamespace(t)
	j := deployJaeger(t, n)
	n.mustApply(fmt.Sprintf(`apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPTelemetryConfig
metadata:
  name: tracing
spec:
  openTelemetry:
    enabled: true
    endpoint: %s
    protocol: grpc
    insecure: true
    tracing:
      enabled: true
      samplingRate: "1.0"
`, j.OTLPGRPC))
	for _, transport := range []string{"stdio", "streamable-http"} {
		t.Run(transport, func(t *testing.T) {
			name := "traced-" + strings.ReplaceAll(transport, "-", "")
			n := n.in(t)
			n.mustApply(tracedServer(name, transport, j))
			n.waitReady(name)
			endpoint := n.portForward("service/mcp-"+name+"-proxy", 8080) + "/mcp"

			trace, clientSpan := randomHex(t, 16), randomHex(t, 8)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cs, err := mcp.NewClient(&mcp.Implementation{Name: "e2e-traced", Version: "1"}, nil).Connect(ctx,
				&mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: &http.Client{Transport: traced{trace, clientSpan}}}, nil)
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			defer func() { _ = cs.Close() }()
			if got, err := call(cs, "echo"); err != nil || got != "e2e" {
				t.Fatalf("echo: %q, %v", got, err)
			}

			proxyService, serverService := "proxy-"+name, "server-"+name
			var spans []jaegerSpan
			eventually(t, time.Minute, func() string {
				spans = tracesOf(t, j, trace, 2)
				if missing := chainFault(spans, proxyService, serverService, clientSpan); missing != "" {
					return missing + "\n" + formatSpans(spans)
				}
				return ""
			})
			t.Logf("trace %s in Jaeger:\n%s", trace, formatSpans(spans))
		})
	}
}

// chainFault says what is missing for the trace to be one tools/call from
// client to server: the proxy's "tools/call echo" span, with the MCP
// semantic conventions' attributes, a child of the client's span through
// the proxy's HTTP span; and the server's "tools/call echo" span with the
// proxy's span among its ancestors. "" when nothing is.
func chainFault(spans []jaegerSpan, proxyService, serverService, clientSpan string) string {
	byID := map[string]jaegerSpan{}
	for _, s := range spans {
		byID[s.SpanID] = s
	}
	ancestor := func(s jaegerSpan, match func(jaegerSpan) bool) bool {
		for seen := 0; s.ParentSpanID != "" && seen < len(spans); seen++ {
			p, ok := byID[s.ParentSpanID]
			if !ok {
				return false
			}
			if match(p) {
				return true
			}
			s = p
		}
		return false
	}
	find := func(service string) (jaegerSpan, bool) {
		for _, s := range spans {
			if s.Service == service && s.Operation == "tools/call echo" {
				return s, true
			}
		}
		return jaegerSpan{}, false
	}
	proxySpan, ok := find(proxyService)
	if !ok {
		return "no tools/call echo span of the proxy (" + proxyService + ")"
	}
	for key, want := range map[string]string{"mcp.method.name": "tools/call", "gen_ai.tool.name": "echo", "gen_ai.operation.name": "execute_tool"} {
		if proxySpan.Tags[key] != want {
			return fmt.Sprintf("the proxy's span has %s=%q, want %q", key, proxySpan.Tags[key], want)
		}
	}
	// (No mcp.session.id: the SDK's client speaks the sessionless
	// 2026-07-28 era.)
	if proxySpan.Tags["jsonrpc.request.id"] == "" || proxySpan.Tags["mcp.protocol.version"] == "" {
		return "the proxy's span lacks jsonrpc.request.id or mcp.protocol.version"
	}
	// The client's own span is not in Jaeger (the client exports nothing):
	// the proxy's HTTP span names it as its parent.
	root := proxySpan
	for root.ParentSpanID != "" {
		p, ok := byID[root.ParentSpanID]
		if !ok {
			break
		}
		root = p
	}
	if root.ParentSpanID != clientSpan {
		return fmt.Sprintf("the proxy's spans hang from %q, not from the client's span %s", root.ParentSpanID, clientSpan)
	}
	serverSpan, ok := find(serverService)
	if !ok {
		return "no tools/call echo span of the server (" + serverService + ")"
	}
	if !ancestor(serverSpan, func(s jaegerSpan) bool { return s.Service == proxyService }) {
		return "the server's span is not under a span of the proxy"
	}
	return ""
}
