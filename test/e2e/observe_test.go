//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// auditEvent is the part of a proxy audit event (ToolHive's field names)
// the tests read.
type auditEvent struct {
	Msg      string            `json:"msg"`
	Type     string            `json:"type"`
	Outcome  string            `json:"outcome"`
	Subjects map[string]string `json:"subjects"`
	Target   map[string]string `json:"target"`
	Source   struct {
		Value string `json:"value"`
	} `json:"source"`
}

// auditEvents are the audit events in the proxy's log stream, as
// `kubectl logs deploy/<server> -c toolhive` shows them.
func (n *ns) auditEvents(server string) ([]auditEvent, error) {
	out, err := n.run("logs", "deploy/"+server, "-c", "toolhive")
	if err != nil {
		return nil, fmt.Errorf("kubectl logs: %w: %s", err, out)
	}
	var events []auditEvent
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e auditEvent
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Msg == "audit_event" {
			events = append(events, e)
		}
	}
	return events, nil
}

// metricsOf is the proxy's /metrics exposition.
func metricsOf(base string) (string, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// sample is the value of the series whose line starts with name{ and holds
// every label, or -1.
func sample(exposition, name string, labels ...string) float64 {
	for _, line := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		if slices.ContainsFunc(labels, func(l string) bool { return !strings.Contains(line, l) }) {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			return v
		}
	}
	return -1
}

// TestAuditEventsAndToolMetrics: with spec.audit.enabled, the proxy's log
// stream holds one event per MCP operation with ToolHive's field names —
// an allowed call, a call the policy denies, and a request without a
// token — and /metrics counts the calls per tool under ToolHive's names.
func TestAuditEventsAndToolMetrics(t *testing.T) {
	n := newNamespace(t)
	n.mustApply(oidcConfig)
	n.mustApply(cedarFor(n.name))
	n.mustApply(securedServer("audited", "stdio", "  audit:\n    enabled: true\n"))
	n.waitReady("audited")
	base := n.portForward("service/mcp-audited-proxy", 8080)
	endpoint := base + "/mcp"

	cs := connectWithToken(t, endpoint, saToken(t, n.name, "default", e2eAudience))
	if got, err := call(cs, "echo"); err != nil || !strings.Contains(got, "e2e") {
		t.Fatalf("echo: %q, %v", got, err)
	}
	if _, err := call(cs, "add"); err == nil {
		t.Fatalf("add was allowed; the policy permits only echo")
	}
	if code, _ := statusWith(t, endpoint, ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", code)
	}

	caller := "system:serviceaccount:" + n.name + ":default"
	eventually(t, 30*time.Second, func() string {
		events, err := n.auditEvents("audited")
		if err != nil {
			return err.Error()
		}
		has := func(e auditEvent, typ, outcome, target string) bool {
			return e.Type == typ && e.Outcome == outcome && (target == "" || e.Target["name"] == target)
		}
		for _, want := range []struct {
			what                  string
			typ, outcome, target  string
			subject, groupsSubstr string
		}{
			{"the allowed echo call", "mcp_tool_call", "success", "echo", caller, "system:serviceaccounts:" + n.name},
			{"the denied add call", "mcp_tool_call", "denied", "add", caller, ""},
			{"the request without a token", "http_request", "denied", "", "", ""},
		} {
			i := slices.IndexFunc(events, func(e auditEvent) bool { return has(e, want.typ, want.outcome, want.target) })
			if i < 0 {
				return fmt.Sprintf("no audit event for %s among %d events: %+v", want.what, len(events), events)
			}
			e := events[i]
			if want.subject != "" && e.Subjects["user_id"] != want.subject {
				return fmt.Sprintf("%s: subject %v, want user_id %s", want.what, e.Subjects, want.subject)
			}
			if want.groupsSubstr != "" && !strings.Contains(e.Subjects["groups"], want.groupsSubstr) {
				return fmt.Sprintf("%s: groups %q, want %s among them", want.what, e.Subjects["groups"], want.groupsSubstr)
			}
			if e.Source.Value == "" {
				return fmt.Sprintf("%s: no client address in source", want.what)
			}
		}
		return ""
	})

	// A call is counted when its exchange ends, which may be a moment
	// after the client has read the answer.
	eventually(t, 30*time.Second, func() string {
		exposition, err := metricsOf(base)
		if err != nil {
			return err.Error()
		}
		for _, want := range []struct {
			name   string
			labels []string
		}{
			{"toolhive_mcp_tool_calls_total", []string{`tool="echo"`, `status="success"`, `server="audited"`}},
			{"toolhive_mcp_tool_calls_total", []string{`tool="add"`, `status="error"`}},
			{"toolhive_mcp_requests_total", []string{`mcp_method="tools/call"`, `status_code="403"`}},
			{"mcp_server_operation_duration_seconds_count", []string{`mcp_method_name="tools/call"`, `gen_ai_tool_name="echo"`}},
		} {
			if v := sample(exposition, want.name, want.labels...); v < 1 {
				return fmt.Sprintf("%s%v = %v, want at least 1", want.name, want.labels, v)
			}
		}
		return ""
	})
}
