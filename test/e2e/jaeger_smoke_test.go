//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Jaeger, the trace backend of the tracing tests, takes spans that a pod
// sends to its Service's ClusterIP over OTLP/gRPC, and its query API gives
// them back by trace id and by service, with their parents and attributes.
// The pod is an OpenTelemetry Collector (Jaeger's binary is one) that relays
// what the test posts to it as OTLP/HTTP JSON through a port-forward.
func TestJaegerReceivesOTLP(t *testing.T) {
	t.Parallel()
	n := newNamespace(t)
	j := deployJaeger(t, n)

	service := "e2e-smoke-" + n.name
	traceID, rootID, childID := randomHex(t, 16), randomHex(t, 8), randomHex(t, 8)
	body := otlpJSON(service, traceID, []otlpSpan{
		{id: rootID, name: "smoke", kind: 2, attrs: map[string]string{"e2e.step": "root"}},
		{id: childID, parent: rootID, name: "smoke child", kind: 3, attrs: map[string]string{"e2e.step": "child"}},
	})
	relay := n.portForward(otlpRelay(t, n, j.OTLPGRPC), 4318)
	eventually(t, 30*time.Second, func() string { return postOTLP(relay+"/v1/traces", body) })

	type seen struct{ Service, Operation, SpanID, ParentSpanID, Kind, Step string }
	view := func(spans []jaegerSpan) []seen {
		var out []seen
		for _, s := range spans {
			out = append(out, seen{s.Service, s.Operation, s.SpanID, s.ParentSpanID, s.Tags["span.kind"], s.Tags["e2e.step"]})
		}
		return out
	}
	want := []seen{
		{service, "smoke", rootID, "", "server", "root"},
		{service, "smoke child", childID, rootID, "client", "child"},
	}
	spans := tracesOf(t, j, traceID, 2)
	t.Logf("trace %s in Jaeger:\n%s", traceID, formatSpans(spans))
	if diff := cmp.Diff(want, view(spans)); diff != "" {
		t.Errorf("trace %s by id (-want +got):\n%s\n%s", traceID, diff, formatSpans(spans))
	}
	for _, s := range spans {
		if s.TraceID != traceID {
			t.Errorf("span %s is in trace %s, want %s", s.SpanID, s.TraceID, traceID)
		}
	}

	traces := tracesOfService(t, j, service)
	if len(traces) != 1 {
		t.Fatalf("service %s has %d traces, want 1", service, len(traces))
	}
	if diff := cmp.Diff(want, view(traces[0])); diff != "" {
		t.Errorf("trace of service %s (-want +got):\n%s", service, diff)
	}
}

// otlpRelay runs a pod in n that takes OTLP/HTTP on 4318 and exports it over
// OTLP/gRPC to target (host:port), and returns it as pod/<name> once ready.
func otlpRelay(t *testing.T, n *ns, target string) string {
	t.Helper()
	n.mustApply(fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: otlp-relay
data:
  config.yaml: |
    service:
      extensions: [healthcheckv2]
      pipelines:
        traces:
          receivers: [otlp]
          exporters: [otlp]
      telemetry:
        metrics: {level: none}
    extensions:
      healthcheckv2:
        use_v2: true
        http: {endpoint: 0.0.0.0:13133}
    receivers:
      otlp:
        protocols:
          http: {endpoint: 0.0.0.0:4318}
    exporters:
      otlp:
        endpoint: %s
        tls: {insecure: true}
---
apiVersion: v1
kind: Pod
metadata:
  name: otlp-relay
spec:
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: relay
    image: switchboard.local/jaeger:v%s
    imagePullPolicy: Never
    args: [--config=/etc/relay/config.yaml]
    ports: [{name: otlp-http, containerPort: 4318}, {name: health, containerPort: 13133}]
    readinessProbe:
      httpGet: {path: /status, port: health}
      periodSeconds: 2
    resources:
      limits: {cpu: 200m, memory: 128Mi}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
    volumeMounts: [{name: config, mountPath: /etc/relay}]
  volumes:
  - name: config
    configMap: {name: otlp-relay}
`, target, pinnedVersion(t, "JAEGER_VERSION")))
	n.must("wait", "pod/otlp-relay", "--for=condition=Ready", "--timeout=120s")
	return "pod/otlp-relay"
}

// otlpSpan is a span for otlpJSON: ids in hex, kind as OTLP numbers it
// (1 internal, 2 server, 3 client).
type otlpSpan struct {
	id, parent, name string
	kind             int
	attrs            map[string]string
}

// otlpJSON is an OTLP/HTTP JSON export request of spans of one trace from
// service (OTLP's JSON encoding: ids in hex, times as decimal strings).
func otlpJSON(service, traceID string, spans []otlpSpan) []byte {
	type kv struct {
		Key   string            `json:"key"`
		Value map[string]string `json:"value"`
	}
	attrs := func(m map[string]string) []kv {
		out := []kv{}
		for k, v := range m {
			out = append(out, kv{k, map[string]string{"stringValue": v}})
		}
		return out
	}
	now := time.Now()
	var out []map[string]any
	for i, s := range spans {
		start := now.Add(time.Duration(i) * time.Millisecond)
		span := map[string]any{
			"traceId":           traceID,
			"spanId":            s.id,
			"name":              s.name,
			"kind":              s.kind,
			"startTimeUnixNano": fmt.Sprint(start.UnixNano()),
			"endTimeUnixNano":   fmt.Sprint(start.Add(10 * time.Millisecond).UnixNano()),
			"attributes":        attrs(s.attrs),
		}
		if s.parent != "" {
			span["parentSpanId"] = s.parent
		}
		out = append(out, span)
	}
	b, _ := json.Marshal(map[string]any{"resourceSpans": []any{map[string]any{
		"resource":   map[string]any{"attributes": attrs(map[string]string{"service.name": service})},
		"scopeSpans": []any{map[string]any{"scope": map[string]string{"name": "switchboard-e2e"}, "spans": out}},
	}}})
	return b
}

// postOTLP posts an OTLP/HTTP JSON export request; "" when it is taken.
func postOTLP(endpoint string, body []byte) string {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Post(endpoint, "application/json", bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("POST %s: %s: %s", endpoint, resp.Status, b)
	}
	return ""
}

// randomHex is n random bytes in hex (trace ids 16, span ids 8).
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
