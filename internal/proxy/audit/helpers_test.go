package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is the fake clock's first reading; each reading after it is 42 ms
// later, so an event's duration is 42 ms and its logged_at t0+42ms.
var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

const loggedAt = "2025-01-02T03:04:05.042Z"

// output is a concurrency-safe sink that tells a channel of each write.
type output struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func newOutput() *output { return &output{wrote: make(chan struct{}, 1024)} }

func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.buf.Write(b)
	select {
	case o.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// newAuditor is an Auditor on the fake clock, closed at the end of t.
func newAuditor(t *testing.T, cfg proxyconfig.Audit, out *output) *Auditor {
	t.Helper()
	a := New(Options{Server: "github", Transport: "stdio", Config: cfg, Out: out})
	var ticks int
	var mu sync.Mutex
	a.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		ticks++
		return t0.Add(time.Duration(ticks-1) * 42 * time.Millisecond)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return a
}

// closeAndRead closes a and decodes every line it wrote, checking that
// the fields no test can predict (the write time, the random id) are
// well formed and removing them.
func closeAndRead(t *testing.T, a *Auditor, out *output) []map[string]any {
	t.Helper()
	if err := a.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return decodeLines(t, out.String())
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func decodeLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var events []map[string]any
	for line := range strings.Lines(s) {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line is not JSON: %v\n%s", err, line)
		}
		if ts, _ := e["time"].(string); ts == "" {
			t.Errorf("no time in %s", line)
		} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("time %q: %v", ts, err)
		}
		if id, _ := e["audit_id"].(string); !uuidV4.MatchString(id) {
			t.Errorf("audit_id %q is not a UUID", id)
		}
		delete(e, "time")
		delete(e, "audit_id")
		events = append(events, e)
	}
	return events
}

func parse(t *testing.T, body string) []*wire.Message {
	t.Helper()
	msgs, _, err := wire.Parse([]byte(body), 0)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// post is a POST to /mcp from a known client, with the caller in its
// context as authentication leaves it.
func post(c *pipeline.Caller) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	r.RemoteAddr = "10.1.2.3:50000"
	r.Header.Set("User-Agent", "test-client/1.0")
	r.Header.Set(wire.HeaderProtocolVersion, "2025-06-18")
	if c != nil {
		r = r.WithContext(pipeline.WithCaller(r.Context(), c))
	}
	return r
}

// ada is an authenticated caller with groups and roles.
var ada = &pipeline.Caller{Addr: "10.1.2.3:50000", Subject: "u-1", Claims: map[string]any{
	"sub": "u-1", "name": "Ada Lovelace", "email": "ada@example.com",
	"groups": []any{"eng", "ops"}, "roles": []any{"admin", "eng"},
}}

// refuse is a step that refuses method with ref.
func refuse(method string, ref *pipeline.Refusal) pipeline.Step {
	return func(_ context.Context, r *pipeline.Request) *pipeline.Refusal {
		if r.Msg.Method == method {
			return ref
		}
		return nil
	}
}

// unreachable fails the test if a message gets past the steps before it.
func unreachable(t *testing.T) pipeline.Step {
	return func(_ context.Context, r *pipeline.Request) *pipeline.Refusal {
		t.Errorf("step after a refusal saw %s", r.Msg.Method)
		return nil
	}
}
