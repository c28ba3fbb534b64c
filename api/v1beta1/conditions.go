package v1beta1

// Condition types of an MCPServer.
const (
	// ConditionReady is True when clients can use the server end to end:
	// proxy pods ready and the backend attached or answering.
	ConditionReady = "Ready"
	// ConditionPodTemplateValid is False when spec.podTemplateSpec cannot be used.
	ConditionPodTemplateValid = "PodTemplateValid"
	// ConditionSecretsResolved is False while a referenced Secret or key is missing.
	ConditionSecretsResolved = "SecretsResolved"
	// ConditionConfigRefsResolved is False while a referenced config
	// (ConfigMap, MCPToolConfig, MCPOIDCConfig, MCPAuthzConfig) is missing
	// or invalid. The server waits for these; not for its
	// MCPTelemetryConfig, which has its own condition.
	ConditionConfigRefsResolved = "ConfigRefsResolved"
	// ConditionTelemetryConfigRefValidated (ToolHive's name) is False while
	// the MCPTelemetryConfig of spec.telemetryConfigRef, or a Secret or
	// ConfigMap it reads, is missing or invalid: the server runs, but its
	// proxy exports no telemetry. Absent without telemetryConfigRef.
	ConditionTelemetryConfigRefValidated = "TelemetryConfigRefValidated"
	// ConditionStdioReplicaCapped is True for stdio servers, whose backend
	// always runs exactly one pod.
	ConditionStdioReplicaCapped = "StdioReplicaCapped"
	// ConditionSessionStorageWarning is True when a client can lose its
	// session to another proxy pod: replicas > 1 without Redis for an sse or
	// streamable-http server, replicas > 1 with sessionAffinity None for a
	// stdio server (whose sessions live in the proxy pod that created them).
	ConditionSessionStorageWarning = "SessionStorageWarning"
	// ConditionNetworkPolicyApplied is True once the server's
	// NetworkPolicies are applied; its message names them and says what
	// they allow. Absent while the server has none (spec.networkPolicy).
	ConditionNetworkPolicyApplied = "NetworkPolicyApplied"
)

// Condition reasons (CamelCase, as the API conventions ask).
const (
	ReasonReady                = "Ready"
	ReasonStopped              = "Stopped"
	ReasonProxyNotReady        = "ProxyNotReady"
	ReasonBackendNotReady      = "BackendNotReady"
	ReasonImagePullFailed      = "ImagePullFailed"
	ReasonCrashLoop            = "CrashLoopBackOff"
	ReasonOOMKilled            = "OOMKilled"
	ReasonContainerConfigError = "ContainerConfigError"
	ReasonPodCreateFailed      = "PodCreateFailed"
	ReasonUnschedulable        = "Unschedulable"
	ReasonTerminating          = "Terminating"
	ReasonApplyFailed          = "ApplyFailed"
	ReasonPodTemplateValid     = "Valid"
	ReasonPodTemplateInvalid   = "InvalidPodTemplateSpec"
	ReasonSecretsFound         = "AllSecretsFound"
	ReasonSecretMissing        = "SecretNotFound"
	ReasonSecretKeyMissing     = "SecretKeyNotFound"
	ReasonConfigRefsFound      = "AllConfigRefsFound"
	ReasonConfigRefMissing     = "ConfigRefNotFound"
	ReasonConfigRefInvalid     = "ConfigRefInvalid"
	ReasonStdioSingleBackend   = "StdioSingleBackend"
	ReasonNotStdio             = "NotStdio"
	ReasonNoSharedSessions     = "ReplicasWithoutRedis"
	ReasonStdioNoAffinity      = "StdioReplicasWithoutAffinity"
	ReasonStdioAffinity        = "StdioSessionsKeptByAffinity"
	ReasonSessionStorageOK     = "SessionStorageSufficient"
	ReasonNetworkPolicyApplied = "NetworkPoliciesApplied"
)

// Reasons of TelemetryConfigRefValidated, ToolHive's.
const (
	ReasonTelemetryConfigRefValid    = "TelemetryConfigRefValid"
	ReasonTelemetryConfigRefNotFound = "TelemetryConfigRefNotFound"
	ReasonTelemetryConfigRefInvalid  = "TelemetryConfigRefInvalid"
)

// Reasons of Ready that come from the proxy's health report: whether the MCP
// server answered an MCP handshake through the proxy.
const (
	// ReasonMCPNotAnswered: the pods run, but the MCP server has not
	// answered MCP through the proxy (a transport mismatch, most often);
	// the message says what the proxy saw, naming the proxy pod.
	ReasonMCPNotAnswered = "MCPNotAnswered"
	// ReasonProxyHealthUnreachable: Ready from the proxy pods' readiness
	// (their readiness probe is the proxy's MCP check), but the operator
	// could not read their health report, so status.serverInfo is empty.
	ReasonProxyHealthUnreachable = "ProxyHealthUnreachable"
)
