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
	// ConditionConfigRefsResolved is False while a referenced ConfigMap or
	// MCPToolConfig is missing.
	ConditionConfigRefsResolved = "ConfigRefsResolved"
	// ConditionStdioReplicaCapped is True for stdio servers, whose backend
	// always runs exactly one pod.
	ConditionStdioReplicaCapped = "StdioReplicaCapped"
	// ConditionSessionStorageWarning is True when replicas > 1 without Redis.
	ConditionSessionStorageWarning = "SessionStorageWarning"
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
	ReasonStdioSingleBackend   = "StdioSingleBackend"
	ReasonNotStdio             = "NotStdio"
	ReasonNoSharedSessions     = "ReplicasWithoutRedis"
	ReasonSessionStorageOK     = "SessionStorageSufficient"
)

// SessionStorageWarningMessage is said both at admission and in the
// SessionStorageWarning condition.
const SessionStorageWarningMessage = "spec.replicas > 1 without Redis session storage: proxy pods do not share sessions, so a client whose requests reach another proxy pod loses its session; set spec.sessionStorage.provider to redis"
