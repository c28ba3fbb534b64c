package audit

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// Event types, outcomes and map keys carry ToolHive's values (its
// pkg/audit and toolhive-core/audit), so that queries and alerts written
// for ToolHive's audit log read ours unchanged.

// Event types: what one event records.
const (
	EventTypeMCPInitialize       = "mcp_initialize"
	EventTypeMCPToolCall         = "mcp_tool_call"
	EventTypeMCPToolsList        = "mcp_tools_list"
	EventTypeMCPResourceRead     = "mcp_resource_read"
	EventTypeMCPResourcesList    = "mcp_resources_list"
	EventTypeMCPPromptGet        = "mcp_prompt_get"
	EventTypeMCPPromptsList      = "mcp_prompts_list"
	EventTypeMCPNotification     = "mcp_notification"
	EventTypeMCPPing             = "mcp_ping"
	EventTypeMCPLogging          = "mcp_logging"
	EventTypeMCPCompletion       = "mcp_completion"
	EventTypeMCPRootsListChanged = "mcp_roots_list_changed"
	// EventTypeMCPRequest is any other MCP message, including a client's
	// answer to a server's request.
	EventTypeMCPRequest = "mcp_request"
	// EventTypeHTTPRequest is an HTTP request to an MCP endpoint that
	// carried no MCP message the proxy could read: a refused or malformed
	// POST, a DELETE of a session, a GET that is not an event stream.
	EventTypeHTTPRequest = "http_request"
	// EventTypeSSEConnection is the opening of an event stream (a GET
	// that accepts text/event-stream: legacy /sse or streamable /mcp).
	EventTypeSSEConnection = "sse_connection"
)

// Outcomes: how the operation ended.
const (
	OutcomeSuccess = "success"
	// OutcomeDenied is a refusal for who the caller is: HTTP 401 or 403,
	// or a policy's JSON-RPC 403.
	OutcomeDenied = "denied"
	// OutcomeFailure is any other refusal of the client's request (4xx).
	OutcomeFailure = "failure"
	// OutcomeError is the proxy's or the server's fault: a 5xx, or no
	// answer at all.
	OutcomeError = "error"
	// OutcomeApplicationError is an answer that is a JSON-RPC error.
	OutcomeApplicationError = "application_error"
)

// Keys of the event's maps.
const (
	sourceTypeNetwork = "network"

	targetKeyType     = "type"
	targetKeyName     = "name"
	targetKeyURI      = "uri"
	targetKeyMethod   = "method"
	targetKeyEndpoint = "endpoint"

	targetTypeTool      = "tool"
	targetTypeResource  = "resource"
	targetTypePrompt    = "prompt"
	targetTypeEndpoint  = "endpoint"
	targetTypeSSEStream = "sse_endpoint"

	subjectKeyUser          = "user"
	subjectKeyUserID        = "user_id"
	subjectKeyClientName    = "client_name"
	subjectKeyClientVersion = "client_version"
	// subjectKeyGroups is ours: the caller's groups and roles, as the
	// authorization policies see them.
	subjectKeyGroups = "groups"
	anonymous        = "anonymous"

	sourceKeyUserAgent = "user_agent"
	sourceKeyRequestID = "request_id"
	sourceKeySessionID = "session_id"

	extraKeyMCPVersion   = "mcp_version"
	extraKeyTransport    = "transport"
	extraKeyDuration     = "duration_ms"
	extraKeyResponseSize = "response_size_bytes"
	extraKeyErrorCode    = "jsonrpc_error_code"
	extraKeyErrorMessage = "jsonrpc_error_message"
	extraKeyUserAgent    = "user_agent"
	// Ours, where ToolHive has no key.
	extraKeyJSONRPCID        = "jsonrpc_id"
	extraKeyStatus           = "status_code"
	extraKeyFailureReason    = "failure_reason"
	extraKeyBackendTransport = "backend_transport"
)

// maxErrorMessage bounds an error message copied into an event, as
// ToolHive does, to keep lines compact.
const maxErrorMessage = 256

// levelAudit is ToolHive's slog level for audit events (between Info and
// Warn), printed as "AUDIT".
const levelAudit = slog.Level(2)

// event is one audit record, in the shape ToolHive's AuditEvent logs.
type event struct {
	id        string
	typ       string
	loggedAt  time.Time
	outcome   string
	component string
	source    string         // the client's IP
	sourceX   map[string]any // source.extra
	subjects  map[string]string
	target    map[string]string
	extra     map[string]any // metadata.extra
	// data is the "data" object, or nil.
	data json.RawMessage
	// request is the message whose data the writer encodes into data
	// (only when request data is on).
	request *wire.Message
}

// newLogger writes one JSON line per record to out, with ToolHive's
// "AUDIT" level name.
func newLogger(out io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{
		Level: levelAudit,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.LevelKey {
				if l, ok := a.Value.Any().(slog.Level); ok && l == levelAudit {
					a.Value = slog.StringValue("AUDIT")
				}
			}
			return a
		},
	}))
}

// logTo writes e in the attribute order of ToolHive's AuditEvent.LogTo.
func (e *event) logTo(l *slog.Logger) {
	attrs := []slog.Attr{
		slog.String("audit_id", e.id),
		slog.String("type", e.typ),
		slog.Time("logged_at", e.loggedAt),
		slog.String("outcome", e.outcome),
		slog.String("component", e.component),
		slog.Group("source",
			slog.String("type", sourceTypeNetwork),
			slog.String("value", e.source),
			slog.Any("extra", e.sourceX),
		),
		slog.Any("subjects", e.subjects),
	}
	if e.target != nil {
		attrs = append(attrs, slog.Any("target", e.target))
	}
	if e.extra != nil {
		attrs = append(attrs, slog.Group("metadata", slog.Any("extra", e.extra)))
	}
	if e.data != nil {
		attrs = append(attrs, slog.Any("data", e.data))
	}
	l.LogAttrs(context.Background(), levelAudit, "audit_event", attrs...)
}
