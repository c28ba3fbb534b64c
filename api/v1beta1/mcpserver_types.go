package v1beta1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Transport is how the MCP server in the backend pod speaks MCP.
// +kubebuilder:validation:Enum=stdio;sse;streamable-http
type Transport string

// Transports an MCP server can speak.
const (
	TransportStdio          Transport = "stdio"
	TransportSSE            Transport = "sse"
	TransportStreamableHTTP Transport = "streamable-http"
)

// ProxyMode is the protocol the proxy offers to MCP clients.
// +kubebuilder:validation:Enum=streamable-http;sse
type ProxyMode string

// Protocols the proxy can offer to clients.
const (
	ProxyModeStreamableHTTP ProxyMode = "streamable-http"
	ProxyModeSSE            ProxyMode = "sse"
)

// SessionStorageProvider names where the proxy keeps session routing state.
// +kubebuilder:validation:Enum=memory;redis
type SessionStorageProvider string

// Session storage providers.
const (
	SessionStorageMemory SessionStorageProvider = "memory"
	SessionStorageRedis  SessionStorageProvider = "redis"
)

// DefaultPort is the proxy and MCP port used when none is given.
const DefaultPort int32 = 8080

// MCPServerSpec describes an MCP server and the proxy in front of it.
// +kubebuilder:validation:XValidation:rule="self.transport != 'stdio' || !has(self.backendReplicas) || self.backendReplicas <= 1",message="a stdio MCP server accepts a single client connection, so it runs as one backend pod: set backendReplicas to 0 or 1, or use transport sse or streamable-http to scale the backend",fieldPath=".backendReplicas"
// +kubebuilder:validation:XValidation:rule="!has(self.port) || !has(self.proxyPort) || self.port == self.proxyPort",message="port is the deprecated name of proxyPort and the two differ: remove port and keep proxyPort",fieldPath=".port"
// +kubebuilder:validation:XValidation:rule="!has(self.targetPort) || !has(self.mcpPort) || self.targetPort == self.mcpPort",message="targetPort is the deprecated name of mcpPort and the two differ: remove targetPort and keep mcpPort",fieldPath=".targetPort"
// +kubebuilder:validation:XValidation:rule="!(has(self.authzConfig) && has(self.authzConfigRef))",message="authzConfig and authzConfigRef are mutually exclusive: keep one source of policies",fieldPath=".authzConfigRef"
// +kubebuilder:validation:XValidation:rule="!has(self.rateLimiting) || (has(self.sessionStorage) && self.sessionStorage.provider == 'redis')",message="rateLimiting requires sessionStorage with provider 'redis': the buckets live in Redis so that every proxy pod counts against them",fieldPath=".rateLimiting"
// +kubebuilder:validation:XValidation:rule="!(has(self.rateLimiting) && has(self.rateLimiting.perUser)) || has(self.oidcConfigRef) || has(self.externalAuthConfigRef)",message="rateLimiting.perUser requires authentication (oidcConfigRef or externalAuthConfigRef): without it there is no user to count",fieldPath=".rateLimiting.perUser"
// +kubebuilder:validation:XValidation:rule="!has(self.rateLimiting) || !has(self.rateLimiting.tools) || self.rateLimiting.tools.all(t, !has(t.perUser)) || has(self.oidcConfigRef) || has(self.externalAuthConfigRef)",message="per-tool perUser rate limiting requires authentication (oidcConfigRef or externalAuthConfigRef)",fieldPath=".rateLimiting.tools"
type MCPServerSpec struct {
	// Image is the container image of the MCP server, e.g. ghcr.io/org/server:v1.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:rule="!self.matches('\\\\s')",message="image must not contain white space"
	Image string `json:"image,omitempty"`

	// Transport is how the MCP server speaks MCP: stdio (the proxy attaches to
	// the container's stdin/stdout), sse (legacy HTTP+SSE) or streamable-http.
	// +kubebuilder:default=stdio
	// +optional
	Transport Transport `json:"transport,omitempty"`

	// ProxyMode is the protocol the proxy offers clients of a stdio server:
	// streamable-http (endpoint /mcp) or sse (endpoints /sse and /messages).
	// Defaults to sse for an sse server and streamable-http otherwise. An sse
	// or streamable-http server is always offered over its own transport:
	// there proxyMode is ignored, as in ToolHive (admission warns when it
	// differs).
	// +optional
	ProxyMode ProxyMode `json:"proxyMode,omitempty"`

	// ProxyPort is the port the proxy listens on and its Service exposes.
	// Defaults to 8080 (or to the deprecated port).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	ProxyPort int32 `json:"proxyPort,omitempty"`

	// MCPPort is the port an sse or streamable-http MCP server listens on in
	// its pod. Defaults to 8080 (or to the deprecated targetPort).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	MCPPort int32 `json:"mcpPort,omitempty"`

	// Port is the deprecated name of proxyPort; use proxyPort.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`

	// TargetPort is the deprecated name of mcpPort; use mcpPort.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	TargetPort int32 `json:"targetPort,omitempty"`

	// Args are passed to the MCP server container, replacing the image's CMD.
	// +optional
	Args []string `json:"args,omitempty"`

	// Env sets environment variables in the MCP server container.
	// +listType=map
	// +listMapKey=name
	// +optional
	Env []EnvVar `json:"env,omitempty"`

	// Resources are the compute resources of the proxy container. Set the MCP
	// server's own resources on the mcp container in podTemplateSpec.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// Volumes mount directories of the node (hostPath) into the MCP server
	// container. The pod's own volumes go in podTemplateSpec.
	// +listType=map
	// +listMapKey=name
	// +optional
	Volumes []Volume `json:"volumes,omitempty"`

	// PermissionProfile is deprecated and has no effect: ToolHive's operator
	// does not enforce permission profiles either. Admission warns when it
	// is set; restrict the pod with podTemplateSpec's securityContext, and
	// its network with networkPolicy.egress.
	// +optional
	PermissionProfile *PermissionProfileRef `json:"permissionProfile,omitempty"`

	// Secrets injects keys of Kubernetes Secrets in the MCPServer's namespace
	// into the MCP server container as environment variables.
	// +optional
	Secrets []SecretRef `json:"secrets,omitempty"`

	// ServiceAccount is an existing ServiceAccount for the MCP server pod.
	// When unset, the operator creates one named <name>-sa.
	// +optional
	ServiceAccount *string `json:"serviceAccount,omitempty"`

	// PodTemplateSpec customises the MCP server pod. It is a standard
	// PodTemplateSpec: container "mcp" is the MCP server and is merged with
	// what the operator sets (image, args, env, ports); any other container is
	// kept as a sidecar; pod fields (volumes, nodeSelector, tolerations,
	// securityContext, terminationGracePeriodSeconds, ...) are kept as given.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	// +optional
	PodTemplateSpec *runtime.RawExtension `json:"podTemplateSpec,omitempty"`

	// ResourceOverrides adds labels, annotations and environment variables to
	// the proxy Deployment and Service.
	// +optional
	ResourceOverrides *ResourceOverrides `json:"resourceOverrides,omitempty"`

	// Replicas is the number of proxy pods. Unset leaves the count to a
	// HorizontalPodAutoscaler or another controller; 0 stops the server.
	// More than one needs sessionStorage provider redis for an sse or
	// streamable-http server; a stdio server's sessions live in the proxy pod
	// that created them, so it needs sessionAffinity ClientIP instead.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// BackendReplicas is the number of MCP server pods. Unset leaves the count
	// to a HorizontalPodAutoscaler (stdio servers always run one pod); 0
	// stops the server. A stdio server allows at most 1.
	// +kubebuilder:validation:Minimum=0
	// +optional
	BackendReplicas *int32 `json:"backendReplicas,omitempty"`

	// SessionStorage is where the proxy keeps the session-to-backend-pod
	// routing table. Use redis when replicas > 1 so every proxy pod routes a
	// session to the same backend pod. A stdio server does not use it: every
	// proxy pod attaches to the one stdio pod.
	// +optional
	SessionStorage *SessionStorage `json:"sessionStorage,omitempty"`

	// SessionAffinity of the proxy Service: ClientIP (default) or None.
	// ClientIP is what keeps a client of a stdio server on the proxy pod that
	// holds its session.
	// +kubebuilder:validation:Enum=ClientIP;None
	// +kubebuilder:default=ClientIP
	// +optional
	SessionAffinity corev1.ServiceAffinity `json:"sessionAffinity,omitempty"`

	// ToolConfigRef names an MCPToolConfig in the same namespace that filters
	// and renames the server's tools.
	// +optional
	ToolConfigRef *ToolConfigRef `json:"toolConfigRef,omitempty"`

	// OIDCConfigRef names an MCPOIDCConfig in the same namespace: the proxy
	// then admits only requests with a valid bearer token for this server's
	// audience. Without it (and without authzConfig) anyone who reaches the
	// proxy Service can call every tool.
	// +optional
	OIDCConfigRef *MCPOIDCConfigReference `json:"oidcConfigRef,omitempty"`

	// AuthzConfig holds the Cedar policies the proxy enforces, inline or from
	// a ConfigMap. Mutually exclusive with authzConfigRef.
	// +optional
	AuthzConfig *AuthzConfigRef `json:"authzConfig,omitempty"`

	// AuthzConfigRef names an MCPAuthzConfig in the same namespace holding
	// the Cedar policies the proxy enforces. Mutually exclusive with
	// authzConfig.
	// +optional
	AuthzConfigRef *MCPAuthzConfigReference `json:"authzConfigRef,omitempty"`

	// Audit makes the proxy write one JSON audit event per MCP operation to
	// its standard output (kubectl logs <pod> -c toolhive).
	// +optional
	Audit *AuditConfig `json:"audit,omitempty"`

	// TelemetryConfigRef names an MCPTelemetryConfig in the same namespace:
	// where the proxy sends OpenTelemetry traces and metrics. While it is
	// missing or invalid the server runs without exporting, and the
	// TelemetryConfigRefValidated condition says why.
	// +optional
	TelemetryConfigRef *MCPTelemetryConfigReference `json:"telemetryConfigRef,omitempty"`

	// ExternalAuthConfigRef names an MCPExternalAuthConfig. Not supported
	// yet: admission refuses it.
	// +optional
	ExternalAuthConfigRef *ExternalAuthConfigRef `json:"externalAuthConfigRef,omitempty"`

	// WebhookConfigRef names an MCPWebhookConfig. Not supported yet:
	// admission refuses it.
	// +optional
	WebhookConfigRef *WebhookConfigRef `json:"webhookConfigRef,omitempty"`

	// AuthServerRef names an embedded authorization server's configuration.
	// Not supported yet: admission refuses it.
	// +optional
	AuthServerRef *AuthServerRef `json:"authServerRef,omitempty"`

	// GroupRef names the MCPGroup this server belongs to. Not supported
	// yet: admission refuses it.
	// +optional
	GroupRef *MCPGroupRef `json:"groupRef,omitempty"`

	// RateLimiting limits how fast clients may call the server: token
	// buckets shared by every caller, per authenticated user and per tool,
	// kept in the session storage's Redis. A refused call gets HTTP 429 with
	// Retry-After and a JSON-RPC error. Requires sessionStorage provider
	// redis; perUser requires oidcConfigRef.
	// +optional
	RateLimiting *RateLimitConfig `json:"rateLimiting,omitempty"`

	// MaxRequestBodySize is the largest client request body the proxy
	// accepts, in bytes; larger ones get HTTP 413. 0 (the default) means
	// 8 MiB, ToolHive's default.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxRequestBodySize int64 `json:"maxRequestBodySize,omitempty"`

	// TrustProxyHeaders makes the proxy honour X-Forwarded-Proto/Host/Prefix
	// when it advertises its own endpoints (set it behind an ingress).
	// +kubebuilder:default=false
	// +optional
	TrustProxyHeaders bool `json:"trustProxyHeaders,omitempty"`

	// EndpointPrefix is a path prefix the proxy adds to the endpoints it
	// advertises (for an ingress that routes /prefix to the proxy).
	// +kubebuilder:validation:Pattern=`^/[^\s]*$`
	// +optional
	EndpointPrefix string `json:"endpointPrefix,omitempty"`

	// ProxyReadTimeout bounds how long the proxy spends reading a whole
	// client request (headers and body), so that slow uploads cannot hold
	// its connections. Applies to every transport; 30s when unset. It does
	// not bound how long a tool call may run. Example: "1m".
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Format=duration
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s')",message="proxyReadTimeout must be non-negative: give a duration such as 30s or 1m"
	// +optional
	ProxyReadTimeout *metav1.Duration `json:"proxyReadTimeout,omitempty"`

	// NetworkPolicy has the operator create NetworkPolicies that let only
	// the proxy reach the MCP server, only the listed clients reach the
	// proxy and, optionally, the MCP server reach only the listed
	// destinations. A Switchboard extension; unset follows the operator's
	// default (--network-policy-default, off unless the chart's
	// networkPolicy.defaultEnabled is set).
	// +optional
	NetworkPolicy *NetworkPolicyConfig `json:"networkPolicy,omitempty"`
}

// EnvVar is an environment variable set in the MCP server container.
type EnvVar struct {
	// Name of the environment variable.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name,omitempty"`
	// Value of the environment variable.
	// +optional
	Value string `json:"value,omitempty"`
}

// Volume mounts a directory of the node into the MCP server container.
type Volume struct {
	// Name of the volume in the pod: a DNS label (lower-case letters,
	// digits and '-').
	// +kubebuilder:validation:Required
	Name string `json:"name"`
	// HostPath is the directory on the node.
	// +kubebuilder:validation:Required
	HostPath string `json:"hostPath"`
	// MountPath is where the container sees it.
	// +kubebuilder:validation:Required
	MountPath string `json:"mountPath"`
	// ReadOnly mounts it read-only.
	// +kubebuilder:default=false
	// +optional
	ReadOnly bool `json:"readOnly,omitempty"`
}

// SecretRef injects one key of a Secret as an environment variable.
type SecretRef struct {
	// Name of the Secret, in the MCPServer's namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name,omitempty"`
	// Key in the Secret's data.
	// +required
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key,omitempty"`
	// TargetEnvName is the environment variable that receives the value.
	// Defaults to the key.
	// +optional
	TargetEnvName string `json:"targetEnvName,omitempty"`
}

// SecretKeyRef names one key of a Secret in the MCPServer's namespace.
type SecretKeyRef struct {
	// Name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name,omitempty"`
	// Key in the Secret's data.
	// +required
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key,omitempty"`
}

// ToolConfigRef names an MCPToolConfig in the MCPServer's namespace.
type ToolConfigRef struct {
	// Name of the MCPToolConfig.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name,omitempty"`
}

// MCPOIDCConfigReference names an MCPOIDCConfig and what is particular to
// this server: the audience its tokens must carry.
type MCPOIDCConfigReference struct {
	// Name of the MCPOIDCConfig.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Audience every token must carry in its "aud" claim, so that a token
	// issued for another server is refused here.
	// +required
	// +kubebuilder:validation:MinLength=1
	Audience string `json:"audience"`
	// Scopes advertised to clients in the protected-resource metadata.
	// +optional
	// +listType=atomic
	Scopes []string `json:"scopes,omitempty"`
	// ResourceURL is this server's resource identifier in the
	// protected-resource metadata (RFC 9728); default: the URL clients use.
	// +optional
	ResourceURL string `json:"resourceUrl,omitempty"`
}

// MCPAuthzConfigReference names an MCPAuthzConfig.
type MCPAuthzConfigReference struct {
	// Name of the MCPAuthzConfig.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// AuditConfig is what the proxy records of each MCP operation.
type AuditConfig struct {
	// Enabled writes one JSON event per MCP operation (who, what, outcome)
	// to the proxy's standard output.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// IncludeRequestData adds the request's arguments to each event, cut at
	// maxDataSize bytes. A Switchboard extension (ToolHive's audit
	// configuration file calls it includeRequestData too).
	// +optional
	IncludeRequestData bool `json:"includeRequestData,omitempty"`
	// MaxDataSize is the most bytes of request data one event carries
	// (default 1024). A Switchboard extension, as ToolHive's maxDataSize.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxDataSize *int32 `json:"maxDataSize,omitempty"`
}

// MCPTelemetryConfigReference names an MCPTelemetryConfig and what is
// particular to this server.
type MCPTelemetryConfigReference struct {
	// Name of the MCPTelemetryConfig.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// ServiceName is the service.name of this server's traces and metrics;
	// give every server its own. Default: thv-<server name>.
	// +optional
	ServiceName string `json:"serviceName,omitempty"`
}

// AuthzConfigRef holds Cedar policies, inline or from a ConfigMap, and how
// token claims map onto Cedar principals.
// +kubebuilder:validation:XValidation:rule="self.type == 'configMap' ? has(self.configMap) : !has(self.configMap)",message="configMap must be set when type is 'configMap', and must not be set otherwise"
// +kubebuilder:validation:XValidation:rule="self.type == 'inline' ? has(self.inline) : !has(self.inline)",message="inline must be set when type is 'inline', and must not be set otherwise"
type AuthzConfigRef struct {
	// Type is where the policies come from: configMap or inline.
	// +kubebuilder:validation:Enum=configMap;inline
	// +kubebuilder:default=configMap
	Type string `json:"type"`
	// ConfigMap holding the authorization configuration (ToolHive's
	// authz.json: {"version":"1.0","type":"cedarv1","cedar":{...}}).
	// +optional
	ConfigMap *ConfigMapAuthzRef `json:"configMap,omitempty"`
	// Inline authorization configuration.
	// +optional
	Inline *InlineAuthzConfig `json:"inline,omitempty"`
	// GroupClaimName is the token claim that lists the caller's groups
	// (default: the first of "groups", "roles", "cognito:groups" present).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	GroupClaimName string `json:"groupClaimName,omitempty"`
	// RoleClaimName is a token claim whose values also become the caller's
	// groups.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	RoleClaimName string `json:"roleClaimName,omitempty"`
	// GroupEntityType is the Cedar entity type of those groups (default
	// THVGroup), as in `principal in THVGroup::"eng"`.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	GroupEntityType string `json:"groupEntityType,omitempty"`
}

// ConfigMapAuthzRef names the ConfigMap key holding an authorization
// configuration.
type ConfigMapAuthzRef struct {
	// Name of the ConfigMap.
	// +required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Key in the ConfigMap's data.
	// +kubebuilder:default=authz.json
	// +optional
	Key string `json:"key,omitempty"`
}

// InlineAuthzConfig is a Cedar policy set written in the MCPServer.
type InlineAuthzConfig struct {
	// Policies are Cedar policy statements; each is parsed at admission.
	// +kubebuilder:validation:MinItems=1
	// +listType=atomic
	// +required
	Policies []string `json:"policies"`
	// EntitiesJSON is the Cedar entity set, as JSON.
	// +kubebuilder:default="[]"
	// +optional
	EntitiesJSON string `json:"entitiesJson,omitempty"`
	// PrimaryUpstreamProvider is accepted for ToolHive compatibility and has
	// no effect on an MCPServer (ToolHive's is a no-op there too); admission
	// warns when it is set.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`
	PrimaryUpstreamProvider string `json:"primaryUpstreamProvider,omitempty"`
}

// SessionStorage configures where sessions are routed from.
// +kubebuilder:validation:XValidation:rule="self.provider != 'redis' || (has(self.address) && size(self.address) > 0)",message="sessionStorage.address is required when provider is redis: set it to the host:port of your Redis server",fieldPath=".address"
// +kubebuilder:validation:XValidation:rule="!has(self.tls) || self.provider == 'redis'",message="tls is only supported when provider is redis",fieldPath=".tls"
// +kubebuilder:validation:XValidation:rule="!has(self.tls) || !has(self.tls.caCertSecretRef) || !has(self.tls.insecureSkipVerify) || !self.tls.insecureSkipVerify",message="tls.insecureSkipVerify disables certificate verification, so tls.caCertSecretRef would be ignored; set only one",fieldPath=".tls"
type SessionStorage struct {
	// Provider is memory (one proxy pod) or redis (shared by every proxy pod).
	// +kubebuilder:default=memory
	// +optional
	Provider SessionStorageProvider `json:"provider,omitempty"`
	// Address of the Redis server, host:port (an IPv6 host in brackets,
	// e.g. [fd00::1]:6379).
	// +kubebuilder:validation:Pattern=`^([^\s:\[\]]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$`
	// +optional
	Address string `json:"address,omitempty"`
	// DB is the Redis database number.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=0
	// +optional
	DB int32 `json:"db,omitempty"`
	// KeyPrefix is prepended to every Redis key the proxy writes.
	// +optional
	KeyPrefix string `json:"keyPrefix,omitempty"`
	// PasswordRef is the Secret key holding the Redis password.
	// +optional
	PasswordRef *SecretKeyRef `json:"passwordRef,omitempty"`
	// TLS, when present, makes the proxy speak TLS to Redis (for session
	// routing and rate limiting); it never falls back to plaintext. Empty:
	// verify the server against the system roots.
	// +optional
	TLS *RedisTLSConfig `json:"tls,omitempty"`
}

// RedisTLSConfig is how the proxy verifies the Redis server.
type RedisTLSConfig struct {
	// InsecureSkipVerify encrypts without verifying the server: anyone who
	// can impersonate it reads the password and sessions. For tests only.
	// +optional
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// CACertSecretRef is the Secret key holding the PEM CA certificate that
	// signed the Redis server's certificate. Until it exists the proxy pod
	// does not start.
	// +optional
	CACertSecretRef *SecretKeyRef `json:"caCertSecretRef,omitempty"`
}

// ResourceOverrides customises the objects the operator creates for the proxy.
type ResourceOverrides struct {
	// ProxyDeployment overrides for the proxy Deployment.
	// +optional
	ProxyDeployment *ProxyDeploymentOverrides `json:"proxyDeployment,omitempty"`
	// ProxyService overrides for the proxy Service.
	// +optional
	ProxyService *ResourceMetadataOverrides `json:"proxyService,omitempty"`
}

// ResourceMetadataOverrides adds labels and annotations to an object.
type ResourceMetadataOverrides struct {
	// Labels added to the object. The operator's own labels take precedence.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations added to the object.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ProxyDeploymentOverrides customises the proxy Deployment and its pods.
type ProxyDeploymentOverrides struct {
	ResourceMetadataOverrides `json:",inline"`
	// PodTemplateMetadataOverrides adds labels and annotations to proxy pods.
	// +optional
	PodTemplateMetadataOverrides *ResourceMetadataOverrides `json:"podTemplateMetadataOverrides,omitempty"`
	// Env adds environment variables to the proxy container.
	// +listType=map
	// +listMapKey=name
	// +optional
	Env []EnvVar `json:"env,omitempty"`
	// ImagePullSecrets for the proxy image, set on the proxy Deployment and
	// its ServiceAccount.
	// +listType=atomic
	// +optional
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	// NodeSelector constrains the proxy pods to nodes with these labels.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	// Tolerations let the proxy pods run on tainted nodes.
	// +listType=atomic
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// Affinity of the proxy pods (node, pod and anti-affinity).
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
}

// MCPServerPhase summarises where an MCPServer is in its life.
// +kubebuilder:validation:Enum=Pending;Ready;Failed;Terminating;Stopped
type MCPServerPhase string

// Phases of an MCPServer.
const (
	PhasePending     MCPServerPhase = "Pending"
	PhaseReady       MCPServerPhase = "Ready"
	PhaseFailed      MCPServerPhase = "Failed"
	PhaseTerminating MCPServerPhase = "Terminating"
	PhaseStopped     MCPServerPhase = "Stopped"
)

// MCPServerStatus is the observed state of an MCPServer.
type MCPServerStatus struct {
	// Phase summarises the server's state: Pending, Ready, Failed,
	// Terminating or Stopped.
	// +optional
	Phase MCPServerPhase `json:"phase,omitempty"`
	// URL is where clients inside the cluster reach the server.
	// +optional
	URL string `json:"url,omitempty"`
	// ReadyReplicas is the number of ready proxy pods.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// ObservedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, PodTemplateValid, SecretsResolved,
	// ConfigRefsResolved, StdioReplicaCapped, SessionStorageWarning, and
	// TelemetryConfigRefValidated while telemetryConfigRef is set, and
	// NetworkPolicyApplied while the server has NetworkPolicies.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Message says, in words, what the server is waiting for or why it failed.
	// +optional
	Message string `json:"message,omitempty"`
	// TelemetryConfigHash is the hash of the referenced MCPTelemetryConfig's
	// spec the proxy was last configured from (its status.configHash).
	// +optional
	TelemetryConfigHash string `json:"telemetryConfigHash,omitempty"`
	// OIDCConfigHash is the status.configHash of the referenced
	// MCPOIDCConfig the proxy was last configured from.
	// +optional
	OIDCConfigHash string `json:"oidcConfigHash,omitempty"`
	// AuthzConfigHash is the status.configHash of the referenced
	// MCPAuthzConfig the proxy was last configured from.
	// +optional
	AuthzConfigHash string `json:"authzConfigHash,omitempty"`
	// ToolConfigHash is the status.configHash of the referenced
	// MCPToolConfig the proxy was last configured from.
	// +optional
	ToolConfigHash string `json:"toolConfigHash,omitempty"`
	// ServerInfo is what the MCP server said of itself when the proxy
	// last completed an MCP handshake with it.
	// +optional
	ServerInfo *MCPServerInfo `json:"serverInfo,omitempty"`
}

// MCPServerInfo is what an MCP server says of itself in its handshake.
type MCPServerInfo struct {
	// Name the server gives (serverInfo.name).
	// +optional
	Name string `json:"name,omitempty"`
	// Version the server gives (serverInfo.version).
	// +optional
	Version string `json:"version,omitempty"`
	// ProtocolVersion agreed in the handshake.
	// +optional
	ProtocolVersion string `json:"protocolVersion,omitempty"`
	// Tools is the number of tools clients see (after the tool
	// configuration's filter).
	// +optional
	Tools *int32 `json:"tools,omitempty"`
}

// MCPServer runs an MCP server in Kubernetes behind a proxy that MCP clients
// connect to over streamable HTTP or SSE.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=mcpserver,categories=toolhive
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Tools",type=integer,JSONPath=`.status.serverInfo.tools`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 50 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be at most 50 characters of lower-case letters, digits and '-', starting and ending with a letter or digit, because it names the Services mcp-<name>-proxy and mcp-<name>-headless"
type MCPServer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired MCP server.
	// +required
	Spec MCPServerSpec `json:"spec"`
	// Status is the observed state, written by the operator.
	// +optional
	Status MCPServerStatus `json:"status,omitempty"`
}

// MCPServerList is a list of MCPServers.
// +kubebuilder:object:root=true
type MCPServerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MCPServer `json:"items"`
}

func init() {
	SchemeBuilder.Register(&MCPServer{}, &MCPServerList{})
}
