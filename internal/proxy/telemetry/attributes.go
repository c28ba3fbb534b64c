package telemetry

// Attribute keys of the semantic conventions for MCP, JSON-RPC, network
// and client, written out: the MCP ones have left the Go semconv packages
// for the GenAI conventions, which have no Go package yet.
const (
	keyServiceName        = "service.name"
	keyMethod             = "mcp.method.name"
	keySession            = "mcp.session.id"
	keyProtocolVersion    = "mcp.protocol.version"
	keyResourceURI        = "mcp.resource.uri"
	keyServerName         = "mcp.server.name"
	keyClientName         = "mcp.client.name"
	keyToolName           = "gen_ai.tool.name"
	keyPromptName         = "gen_ai.prompt.name"
	keyOperation          = "gen_ai.operation.name"
	keyRequestID          = "jsonrpc.request.id"
	keyJSONRPCVersion     = "jsonrpc.protocol.version"
	keyRPCSystem          = "rpc.system.name"
	keyRPCStatus          = "rpc.response.status_code"
	keyErrorType          = "error.type"
	keyNetTransport       = "network.transport"
	keyNetProtocol        = "network.protocol.name"
	keyNetProtocolVersion = "network.protocol.version"
	keyClientAddress      = "client.address"
	keyClientPort         = "client.port"
)

// ToolHive's attribute names from before the conventions, added alongside
// them with LegacyAttributes (its useLegacyAttributes).
const (
	legacyMethod     = "mcp.method"
	legacyRPCSystem  = "rpc.system"
	legacyRPCService = "rpc.service"
	legacyRequestID  = "mcp.request.id"
	legacyResourceID = "mcp.resource.id"
	legacyToolName   = "mcp.tool.name"
	legacyPromptName = "mcp.prompt.name"
	legacyTransport  = "mcp.transport"

	legacyHTTPMethod    = "http.method"
	legacyHTTPURL       = "http.url"
	legacyHTTPScheme    = "http.scheme"
	legacyHTTPHost      = "http.host"
	legacyHTTPTarget    = "http.target"
	legacyHTTPUserAgent = "http.user_agent"
)

// Values of error.type besides a JSON-RPC error code.
const (
	// errorTool is a tools/call answered with a result whose isError is true.
	errorTool = "tool_error"
	// errorOther is an end without an answer (the client left, the proxy
	// stopped): the conventions' fallback.
	errorOther = "_OTHER"
)
