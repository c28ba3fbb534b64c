//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Jaeger, the trace backend of the tracing tests, takes spans over OTLP/HTTP
// at its Service's ClusterIP, as a pod sends them, and its query API gives
// them back by trace id and by service, with their parents and attributes.
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
	// The ClusterIP is reachable from this machine when it is the node
	// (kube-proxy's rules are the ones pods go through); elsewhere, through
	// a port-forward.
	receiver := j.OTLPHTTP
	if !nodeIsThisMachine(t) {
		receiver = n.portForward("service/jaeger", 4318)
	}
	eventually(t, 30*time.Second, func() string { return postOTLP(receiver+"/v1/traces", body) })

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
	t.Logf("sent to %s; trace %s in Jaeger:\n%s", receiver, traceID, formatSpans(spans))
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

// jaeger is a Jaeger all-in-one (testdata/jaeger.yaml) in a test's
// namespace: a trace backend that keeps in memory what pods send it over
// OTLP, read back through Jaeger's query API.
type jaeger struct {
	// OTLPGRPC is the OTLP/gRPC receiver as host:port, the Service's
	// ClusterIP (the local cluster has no DNS): a pod exports to it with
	// OTEL_EXPORTER_OTLP_ENDPOINT=http://<OTLPGRPC>.
	OTLPGRPC string
	// OTLPHTTP is the OTLP/HTTP receiver's base URL, http://<ClusterIP>:4318:
	// OTEL_EXPORTER_OTLP_ENDPOINT for http/protobuf or http/json; the
	// exporter posts to <OTLPHTTP>/v1/traces.
	OTLPHTTP string
	// query is the query API through a port-forward, http://localhost:<port>.
	query string
}

// deployJaeger runs Jaeger in n and returns it once it is ready and its
// query API answers. Its image comes from hack/jaeger.sh (make jaeger-image;
// make test-e2e loads it).
func deployJaeger(t *testing.T, n *ns) *jaeger {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "test", "e2e", "testdata", "jaeger.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	version := pinnedVersion(t, "JAEGER_VERSION")
	n.mustApply(strings.ReplaceAll(string(b), "${JAEGER_VERSION}", version))
	if out, err := n.run("rollout", "status", "deployment/jaeger", "--timeout=120s"); err != nil {
		t.Fatalf("jaeger is not ready (is switchboard.local/jaeger:v%s loaded? hack/jaeger.sh builds and loads it): %v\n%s",
			version, err, out)
	}
	ip := strings.TrimSpace(n.must("get", "service", "jaeger", "-o", "jsonpath={.spec.clusterIP}"))
	j := &jaeger{
		OTLPGRPC: ip + ":4317",
		OTLPHTTP: "http://" + ip + ":4318",
		query:    n.portForward("service/jaeger", 16686),
	}
	eventually(t, 30*time.Second, func() string {
		var services []string
		if err := j.get("/api/services", &services); err != nil {
			return "the query API does not answer: " + err.Error()
		}
		return ""
	})
	return j
}

// pinnedVersion reads key from hack/versions.env, where the versions of
// what the project builds for itself are pinned.
func pinnedVersion(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "hack", "versions.env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("hack/versions.env pins no %s", key)
	return ""
}

// jaegerSpan is one span as Jaeger's query API shows it. Jaeger turns OTLP
// into its own model: the span's attributes are Tags, together with what
// OTLP holds in fields (span.kind "server"/"client"/…, otel.status_code,
// otel.scope.name, error); the resource's attributes but service.name are
// Resource. Values are strings (numbers as written in JSON, bools "true").
type jaegerSpan struct {
	TraceID      string // 32 hex digits
	SpanID       string // 16 hex digits
	ParentSpanID string // "" for a root span
	Service      string
	Operation    string
	Start        time.Time
	Duration     time.Duration
	Tags         map[string]string
	Resource     map[string]string
}

// errTraceNotFound is the query API's 404 for a trace it does not hold (yet).
var errTraceNotFound = errors.New("trace not found")

// tracesOf waits up to a minute until Jaeger holds at least spans spans of
// the trace and returns them, parents before children where start times
// allow (exporters batch: a trace's spans arrive over a few seconds).
func tracesOf(t *testing.T, j *jaeger, traceID string, spans int) []jaegerSpan {
	t.Helper()
	var got []jaegerSpan
	eventually(t, time.Minute, func() string {
		var err error
		got, err = j.trace(traceID)
		switch {
		case err != nil:
			return fmt.Sprintf("trace %s: %v", traceID, err)
		case len(got) < spans:
			return fmt.Sprintf("trace %s has %d spans, want at least %d:\n%s", traceID, len(got), spans, formatSpans(got))
		}
		return ""
	})
	return got
}

// tracesOfService waits up to a minute until Jaeger holds a trace with a
// span of service and returns every such trace (the newest 100 of the last
// hour), each as its spans.
func tracesOfService(t *testing.T, j *jaeger, service string) [][]jaegerSpan {
	t.Helper()
	var got [][]jaegerSpan
	eventually(t, time.Minute, func() string {
		var err error
		if got, err = j.traces(service); err != nil {
			return fmt.Sprintf("traces of %s: %v", service, err)
		}
		if len(got) == 0 {
			return "no trace of service " + service
		}
		return ""
	})
	return got
}

// trace is GET /api/traces/{traceID} once: the trace's spans, or
// errTraceNotFound.
func (j *jaeger) trace(traceID string) ([]jaegerSpan, error) {
	var traces []apiTrace
	if err := j.get("/api/traces/"+url.PathEscape(traceID), &traces); err != nil {
		return nil, err
	}
	if len(traces) == 0 {
		return nil, errTraceNotFound
	}
	return traces[0].spans(), nil
}

// traces is GET /api/traces?service=… once: the traces with a span of
// service in the last hour.
func (j *jaeger) traces(service string) ([][]jaegerSpan, error) {
	q := url.Values{"service": {service}, "lookback": {"1h"}, "limit": {"100"}}
	var traces []apiTrace
	if err := j.get("/api/traces?"+q.Encode(), &traces); err != nil {
		return nil, err
	}
	out := make([][]jaegerSpan, 0, len(traces))
	for _, tr := range traces {
		out = append(out, tr.spans())
	}
	return out, nil
}

// get decodes the data of the query API's answer to path into data.
func (j *jaeger) get(path string, data any) error {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(j.query + path)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode == http.StatusNotFound && strings.HasPrefix(path, "/api/traces/") {
		return errTraceNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&apiResponse{Data: data}); err != nil {
		return fmt.Errorf("GET %s: decode %s: %w", path, body, err)
	}
	return nil
}

// The query API's JSON (Jaeger's internal/uimodel): {"data": …, "errors": …}.
type (
	apiResponse struct {
		Data any `json:"data"`
	}
	apiTrace struct {
		TraceID   string                `json:"traceID"`
		Spans     []apiSpan             `json:"spans"`
		Processes map[string]apiProcess `json:"processes"`
	}
	apiSpan struct {
		TraceID       string         `json:"traceID"`
		SpanID        string         `json:"spanID"`
		ParentSpanID  string         `json:"parentSpanID"`
		OperationName string         `json:"operationName"`
		References    []apiReference `json:"references"`
		StartTime     int64          `json:"startTime"` // µs since the epoch
		Duration      int64          `json:"duration"`  // µs
		Tags          []apiKeyValue  `json:"tags"`
		ProcessID     string         `json:"processID"`
		Process       *apiProcess    `json:"process"`
	}
	apiReference struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	}
	apiProcess struct {
		ServiceName string        `json:"serviceName"`
		Tags        []apiKeyValue `json:"tags"`
	}
	apiKeyValue struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	}
)

func (tr apiTrace) spans() []jaegerSpan {
	out := make([]jaegerSpan, 0, len(tr.Spans))
	for _, s := range tr.Spans {
		p := tr.Processes[s.ProcessID]
		if s.Process != nil {
			p = *s.Process
		}
		parent := s.ParentSpanID
		for _, r := range s.References {
			if r.RefType == "CHILD_OF" && padTraceID(r.TraceID) == padTraceID(s.TraceID) {
				parent = r.SpanID
				break
			}
		}
		out = append(out, jaegerSpan{
			TraceID:      padTraceID(s.TraceID),
			SpanID:       s.SpanID,
			ParentSpanID: parent,
			Service:      p.ServiceName,
			Operation:    s.OperationName,
			Start:        time.UnixMicro(s.StartTime),
			Duration:     time.Duration(s.Duration) * time.Microsecond,
			Tags:         keyValues(s.Tags),
			Resource:     keyValues(p.Tags),
		})
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Start.Before(out[b].Start) })
	return out
}

// padTraceID undoes Jaeger's short form of a trace id whose high 64 bits are 0.
func padTraceID(id string) string {
	if len(id) < 32 {
		return strings.Repeat("0", 32-len(id)) + id
	}
	return id
}

func keyValues(kvs []apiKeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = fmt.Sprint(kv.Value)
	}
	return m
}

// formatSpans is a trace for a failure message, one span a line.
func formatSpans(spans []jaegerSpan) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "  %s %s/%q span %s parent %q tags %v\n", s.TraceID, s.Service, s.Operation, s.SpanID, s.ParentSpanID, s.Tags)
	}
	return b.String()
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
