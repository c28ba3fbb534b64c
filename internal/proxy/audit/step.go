package audit

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// Step records every client message on the request path (requests,
// notifications, and a client's answers to the server's requests, as
// mcp_request) with how it ended. It refuses nothing. Put it first in the
// path: a refusal is told only to the steps before the one that refuses,
// so Step records the denials of the steps after it and no others.
//
// The event is prepared when the message passes (the caller, the target)
// and finished when the request ends, on whichever goroutine ends it; the
// request data, when asked for, is encoded by the writer.
func (a *Auditor) Step() pipeline.Step {
	return func(_ context.Context, req *pipeline.Request) *pipeline.Refusal {
		start := a.now()
		markAudited(req.HTTP)
		e := a.messageEvent(req)
		req.OnDone(func(o pipeline.Outcome) { a.finish(e, start, o) })
		return nil
	}
}

// messageEvent is the event of req as far as it is known before the
// message goes on.
func (a *Auditor) messageEvent(req *pipeline.Request) *event {
	r := req.HTTP
	if r == nil {
		r = &http.Request{URL: &url.URL{}, Header: http.Header{}}
	}
	m := req.Msg
	typ := eventType(m.Method)
	e := &event{
		typ:       typ,
		component: a.component,
		source:    clientIP(req.Caller, r),
		sourceX:   sourceExtra(r, req.Session),
		subjects:  subjects(req.Caller),
		target:    messageTarget(m, r, typ),
		extra:     a.metadata(r),
	}
	if len(m.ID) > 0 {
		// Raw, so that a numeric id stays a number and a string a string.
		e.extra[extraKeyJSONRPCID] = m.ID
	}
	if a.withData {
		// Steps replace a message they rewrite rather than change it, so
		// this copy is the message as it passed.
		c := *m
		e.request = &c
	}
	return e
}

// finish records how the request ended and hands the event to the writer.
func (a *Auditor) finish(e *event, start time.Time, o pipeline.Outcome) {
	end := a.now()
	e.loggedAt = end.UTC()
	e.extra[extraKeyDuration] = end.Sub(start).Milliseconds()
	e.outcome = outcomeOf(o, e.extra)
	a.enqueue(e)
}

// eventType is ToolHive's event type for an MCP method.
func eventType(method string) string {
	switch method {
	case "initialize":
		return EventTypeMCPInitialize
	case "tools/call":
		return EventTypeMCPToolCall
	case "tools/list":
		return EventTypeMCPToolsList
	case "resources/read":
		return EventTypeMCPResourceRead
	case "resources/list":
		return EventTypeMCPResourcesList
	case "prompts/get":
		return EventTypeMCPPromptGet
	case "prompts/list":
		return EventTypeMCPPromptsList
	case "notifications/message":
		return EventTypeMCPNotification
	case "ping":
		return EventTypeMCPPing
	case "logging/setLevel":
		return EventTypeMCPLogging
	case "completion/complete":
		return EventTypeMCPCompletion
	case "notifications/roots/list_changed":
		return EventTypeMCPRootsListChanged
	default:
		return EventTypeMCPRequest
	}
}

// messageTarget is what m acts on: the endpoint it came to, its method
// (the HTTP method for a client's answer, which has none), and the tool,
// resource or prompt it names.
func messageTarget(m *wire.Message, r *http.Request, typ string) map[string]string {
	t := map[string]string{targetKeyEndpoint: r.URL.Path, targetKeyMethod: m.Method, targetKeyType: targetTypeEndpoint}
	if m.Method == "" {
		t[targetKeyMethod] = r.Method
	}
	name := ""
	if len(m.Params) > 0 {
		name = wire.Target(m.Params)
	}
	if name != "" {
		t[targetKeyName] = name
	}
	switch typ {
	case EventTypeMCPToolCall:
		t[targetKeyType] = targetTypeTool
	case EventTypeMCPPromptGet:
		t[targetKeyType] = targetTypePrompt
	case EventTypeMCPResourceRead:
		t[targetKeyType] = targetTypeResource
		if name != "" {
			t[targetKeyURI] = name
		}
	}
	return t
}

// outcomeOf is how o ended, in ToolHive's outcomes, with what explains it
// added to extra.
func outcomeOf(o pipeline.Outcome, extra map[string]any) string {
	switch {
	case o.Answer != nil && len(o.Answer.Error) > 0:
		code, msg := rpcError(o.Answer.Error)
		extra[extraKeyErrorCode], extra[extraKeyErrorMessage] = code, msg
		extra[extraKeyResponseSize] = len(o.Answer.Error)
		return OutcomeApplicationError
	case o.Answer != nil:
		extra[extraKeyResponseSize] = len(o.Answer.Result)
		return OutcomeSuccess
	case o.Refusal != nil:
		return refusalOutcome(o.Refusal, extra)
	case o.Forwarded:
		return OutcomeSuccess
	default:
		reason := o.Failure
		if reason == "" {
			reason = "no answer came"
		}
		extra[extraKeyFailureReason] = reason
		return OutcomeError
	}
}

// refusalOutcome classifies a step's refusal: for who the caller is
// (401, 403, or the policy's JSON-RPC 403), the client's fault (4xx), the
// proxy's (5xx), or an error answer the client reads as the server's (a
// refusal sent with 200, such as an unknown tool).
func refusalOutcome(ref *pipeline.Refusal, extra map[string]any) string {
	extra[extraKeyStatus] = ref.Status
	code := 0
	if ref.Err != nil {
		code = ref.Err.Code
		extra[extraKeyErrorCode] = code
		extra[extraKeyErrorMessage] = clip(ref.Err.Message)
	}
	switch {
	case ref.Status == http.StatusUnauthorized || ref.Status == http.StatusForbidden || code == http.StatusForbidden:
		return OutcomeDenied
	case ref.Status >= 500:
		return OutcomeError
	case ref.Status >= 400:
		return OutcomeFailure
	default:
		return OutcomeApplicationError
	}
}

// rpcError is a JSON-RPC error object's code and (clipped) message.
func rpcError(raw json.RawMessage) (code int, msg string) {
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(raw, &e)
	return e.Code, clip(e.Message)
}

// clip bounds an error message at maxErrorMessage bytes.
func clip(s string) string {
	return string(prefix([]byte(s), maxErrorMessage))
}
