package audit

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func TestStepRecordsEachMessageWithHowItEnded(t *testing.T) {
	adaSubjects := map[string]any{"user": "Ada Lovelace", "user_id": "u-1", "groups": "eng,ops,admin"}
	source := map[string]any{"type": "network", "value": "10.1.2.3",
		"extra": map[string]any{"user_agent": "test-client/1.0", "session_id": "sess-1"}}
	extra := func(more map[string]any) map[string]any {
		x := map[string]any{"transport": "http", "backend_transport": "stdio", "mcp_version": "2025-06-18", "duration_ms": 42.0}
		for k, v := range more {
			x[k] = v
		}
		return map[string]any{"extra": x}
	}
	event := func(typ, outcome string, subjects, target map[string]any, more map[string]any) map[string]any {
		return map[string]any{
			"level": "AUDIT", "msg": "audit_event", "type": typ, "logged_at": loggedAt, "outcome": outcome,
			"component": "github", "source": source, "subjects": subjects, "target": target, "metadata": extra(more),
		}
	}
	echo := map[string]any{"endpoint": "/mcp", "method": "tools/call", "name": "echo", "type": "tool"}
	call := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}`

	tests := []struct {
		name   string
		caller *pipeline.Caller
		body   string
		// after are the steps after the audit step.
		after func(t *testing.T) []pipeline.Step
		// end ends the request as a front end would.
		end  func(*testing.T, pipeline.Replies)
		want map[string]any
	}{{
		name:   "an allowed tool call is a success with who called which tool",
		caller: ada,
		body:   call,
		end:    answer(`{"jsonrpc":"2.0","id":7,"result":{"content":[]}}`),
		want: event("mcp_tool_call", "success", adaSubjects, echo,
			map[string]any{"jsonrpc_id": 7.0, "response_size_bytes": 14.0}),
	}, {
		name:   "a call the policy refuses is denied, with the refusal's message",
		caller: ada,
		body:   call,
		after: func(t *testing.T) []pipeline.Step {
			return []pipeline.Step{
				refuse("tools/call", &pipeline.Refusal{Status: http.StatusForbidden, Err: wire.Errorf(403, "denied by policy: tools/call \"echo\" is not allowed for this caller")}),
				unreachable(t),
			}
		},
		want: event("mcp_tool_call", "denied", adaSubjects, echo, map[string]any{
			"jsonrpc_id": 7.0, "status_code": 403.0, "jsonrpc_error_code": 403.0,
			"jsonrpc_error_message": "denied by policy: tools/call \"echo\" is not allowed for this caller",
		}),
	}, {
		name:   "an error answer is an application_error with its code and message",
		caller: ada,
		body:   call,
		end:    answer(`{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"text is required"}}`),
		want: event("mcp_tool_call", "application_error", adaSubjects, echo, map[string]any{
			"jsonrpc_id": 7.0, "jsonrpc_error_code": -32602.0, "jsonrpc_error_message": "text is required", "response_size_bytes": 44.0,
		}),
	}, {
		name:   "a request that gets no answer is an error, with the reason",
		caller: ada,
		body:   call,
		end:    func(_ *testing.T, rs pipeline.Replies) { rs.FailAll("the client left") },
		want: event("mcp_tool_call", "error", adaSubjects, echo, map[string]any{
			"jsonrpc_id": 7.0, "failure_reason": "the client left",
		}),
	}, {
		name: "an anonymous resource read names the resource by its uri",
		body: `{"jsonrpc":"2.0","id":"r-1","method":"resources/read","params":{"uri":"file:///etc/motd"}}`,
		end:  answer(`{"jsonrpc":"2.0","id":"r-1","result":{}}`),
		want: event("mcp_resource_read", "success", map[string]any{"user": "anonymous"},
			map[string]any{"endpoint": "/mcp", "method": "resources/read", "name": "file:///etc/motd", "uri": "file:///etc/motd", "type": "resource"},
			map[string]any{"jsonrpc_id": "r-1", "response_size_bytes": 2.0}),
	}, {
		name:   "a notification is a success once forwarded, and has no id",
		caller: ada,
		body:   `{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		want: event("mcp_request", "success", adaSubjects,
			map[string]any{"endpoint": "/mcp", "method": "notifications/initialized", "type": "endpoint"}, nil),
	}, {
		name:   "a client's answer to a server request is an mcp_request",
		caller: ada,
		body:   `{"jsonrpc":"2.0","id":"s-9","result":{"roots":[]}}`,
		want: event("mcp_request", "success", adaSubjects,
			map[string]any{"endpoint": "/mcp", "method": "POST", "type": "endpoint"}, map[string]any{"jsonrpc_id": "s-9"}),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := newOutput()
			a := newAuditor(t, proxyconfig.Audit{Enabled: true}, out)
			steps := []pipeline.Step{a.Step()}
			if tc.after != nil {
				steps = append(steps, tc.after(t)...)
			}
			replies, _, _, _ := pipeline.New(steps...).CheckAll(post(tc.caller), "sess-1", parse(t, tc.body))
			if tc.end != nil {
				tc.end(t, replies)
			}
			got := closeAndRead(t, a, out)
			if diff := cmp.Diff([]map[string]any{tc.want}, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// answer is a front end answering the first request with body.
func answer(body string) func(*testing.T, pipeline.Replies) {
	return func(t *testing.T, rs pipeline.Replies) {
		rs.Of(0).Answer(parse(t, body)[0])
	}
}

func TestOutcomeOfARefusal(t *testing.T) {
	tests := []struct {
		name    string
		ref     pipeline.Refusal
		outcome string
	}{
		{"HTTP 401 is denied", pipeline.Refusal{Status: 401, Err: wire.Errorf(wire.CodeInvalidRequest, "no token")}, OutcomeDenied},
		{"HTTP 403 is denied", pipeline.Refusal{Status: 403, Err: wire.Errorf(wire.CodeInvalidRequest, "no")}, OutcomeDenied},
		{"the policy's JSON-RPC 403 is denied whatever the status", pipeline.Refusal{Status: 200, Err: wire.Errorf(403, "no")}, OutcomeDenied},
		{"another 4xx is the client's failure", pipeline.Refusal{Status: 400, Err: wire.Errorf(wire.CodeInvalidParams, "bad token")}, OutcomeFailure},
		{"a 5xx is an error", pipeline.Refusal{Status: 503, Err: wire.Errorf(wire.CodeServerError, "closed")}, OutcomeError},
		{"a refusal answered with 200 is an application_error", pipeline.Refusal{Status: 200, Err: wire.Errorf(wire.CodeInvalidParams, "unknown tool")}, OutcomeApplicationError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			extra := map[string]any{}
			got := outcomeOf(pipeline.Outcome{Refusal: &tc.ref}, extra)
			want := map[string]any{"status_code": tc.ref.Status, "jsonrpc_error_code": tc.ref.Err.Code, "jsonrpc_error_message": tc.ref.Err.Message}
			if got != tc.outcome {
				t.Errorf("outcome %q, want %q", got, tc.outcome)
			}
			if diff := cmp.Diff(want, extra); diff != "" {
				t.Errorf("extra (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventTypesAreToolHives(t *testing.T) {
	got := map[string]string{}
	for _, m := range []string{"initialize", "tools/call", "tools/list", "resources/read", "resources/list",
		"prompts/get", "prompts/list", "notifications/message", "ping", "logging/setLevel",
		"completion/complete", "notifications/roots/list_changed", "resources/subscribe", "notifications/cancelled", ""} {
		got[m] = eventType(m)
	}
	want := map[string]string{
		"initialize": "mcp_initialize", "tools/call": "mcp_tool_call", "tools/list": "mcp_tools_list",
		"resources/read": "mcp_resource_read", "resources/list": "mcp_resources_list",
		"prompts/get": "mcp_prompt_get", "prompts/list": "mcp_prompts_list",
		"notifications/message": "mcp_notification", "ping": "mcp_ping", "logging/setLevel": "mcp_logging",
		"completion/complete": "mcp_completion", "notifications/roots/list_changed": "mcp_roots_list_changed",
		"resources/subscribe": "mcp_request", "notifications/cancelled": "mcp_request", "": "mcp_request",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event types (-want +got):\n%s", diff)
	}
}
