//go:build e2e

package e2e

import (
	"bytes"
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
)

// jaeger is a Jaeger all-in-one (testdata/jaeger.yaml) in a test's
// namespace: a trace backend that keeps in memory what pods send it over
// OTLP, read back through Jaeger's query API.
type jaeger struct {
	// OTLPGRPC is the OTLP/gRPC receiver as host:port, the Service's
	// ClusterIP (which works on clusters with no DNS): a pod exports to it with
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
