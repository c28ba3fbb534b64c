// Package naming is the one place that formats the names and labels of the
// objects the operator creates for an MCPServer; the proxy uses the same
// labels to find backend pods.
package naming

import (
	"maps"
	"strconv"
)

// Component tells the proxy's objects from the MCP server's, so that label
// selectors never match both.
type Component string

// Components of an MCPServer.
const (
	ComponentProxy Component = "proxy"
	ComponentMCP   Component = "mcp"
)

// Well-known label keys and values.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelComponent = "app.kubernetes.io/component"

	// AppName is the app.kubernetes.io/name of every object of an MCPServer.
	AppName = "mcpserver"
	// ManagedBy is the app.kubernetes.io/managed-by value and the server-side
	// apply field manager of the operator.
	ManagedBy = "switchboard"
)

// Container names the seed's troubleshooting commands (-c toolhive, -c mcp) use.
const (
	ProxyContainer = "toolhive"
	MCPContainer   = "mcp"
	// PortName names the HTTP port of both containers and Services.
	PortName = "http"
)

// SecretsHashAnnotation on a pod template changes when the value of a
// Secret its workload reads does (and, for the proxy, a telemetry CA
// bundle it reads at start), so the workload rolls.
const SecretsHashAnnotation = "switchboard.dev/secrets-hash"

// ToolHive's restart annotations. A user sets RestartedAtAnnotation (an RFC
// 3339 time) on the MCPServer, and RestartStrategyAnnotation to rolling
// (the default) or immediate; the operator records what it handled in
// LastProcessedRestartAnnotation. A rolling restart copies
// RestartedAtAnnotation onto the pod templates.
const (
	RestartedAtAnnotation          = "mcpserver.toolhive.stacklok.dev/restarted-at"
	RestartStrategyAnnotation      = "mcpserver.toolhive.stacklok.dev/restart-strategy"
	LastProcessedRestartAnnotation = "mcpserver.toolhive.stacklok.dev/last-processed-restart"
)

// ProxyDeploymentName is the proxy Deployment's name.
func ProxyDeploymentName(server string) string { return server }

// BackendStatefulSetName is the backend StatefulSet's name.
func BackendStatefulSetName(server string) string { return server }

// ProxyServiceName is the Service clients connect to.
func ProxyServiceName(server string) string { return "mcp-" + server + "-proxy" }

// HeadlessServiceName is the headless Service that governs the backend
// StatefulSet of an sse or streamable-http server.
func HeadlessServiceName(server string) string { return "mcp-" + server + "-headless" }

// AccessConfigMapName is the ConfigMap holding the access document the
// proxy enforces (authentication, authorization, tool curation).
func AccessConfigMapName(server string) string { return "mcp-" + server + "-access" }

// TelemetryCABundleVolume is the proxy pod's volume of a telemetry CA
// bundle ConfigMap (ToolHive's prefix), mounted at TelemetryCABundleDir.
func TelemetryCABundleVolume(configMap string) string { return "otel-ca-bundle-" + configMap }

// TelemetryCABundleDir is where the proxy container finds the CA bundle
// ConfigMap's key as a file (ToolHive's path).
func TelemetryCABundleDir(configMap string) string { return "/config/certs/otel/" + configMap }

// ProxyNetworkPolicyName is the NetworkPolicy of the proxy pods (who may
// connect to them).
func ProxyNetworkPolicyName(server string) string { return "mcp-" + server + "-proxy" }

// BackendNetworkPolicyName is the NetworkPolicy of the MCP server pods
// (only the proxy may connect; where they may connect).
func BackendNetworkPolicyName(server string) string { return "mcp-" + server + "-backend" }

// Operator pods' label and the namespace label the API server sets on
// every namespace; the proxy's NetworkPolicy admits the operator by them.
const (
	OperatorAppName    = "toolhive-operator"
	NamespaceNameLabel = "kubernetes.io/metadata.name"
)

// ProxyServiceAccountName is the proxy's ServiceAccount, Role and RoleBinding
// name: the MCPServer's own name, as the reference operator's docs say.
func ProxyServiceAccountName(server string) string { return server }

// MCPServiceAccountName is the ServiceAccount created for the MCP server pod
// when spec.serviceAccount is unset.
func MCPServiceAccountName(server string) string { return server + "-sa" }

// SelectorLabels select the pods of one component of one MCPServer. They are
// immutable once a workload exists, so they hold only stable values.
func SelectorLabels(server string, c Component) map[string]string {
	return map[string]string{
		LabelName:      AppName,
		LabelInstance:  server,
		LabelComponent: string(c),
	}
}

// Labels are put on every object of one component of an MCPServer.
func Labels(server string, c Component) map[string]string {
	l := SelectorLabels(server, c)
	l[LabelManagedBy] = ManagedBy
	return l
}

// ToolHive's label keys, mirrored on the pods (see PodLabels).
const (
	LabelApp               = "app"
	LabelToolHive          = "toolhive"
	LabelToolHiveName      = "toolhive-name"
	LabelToolHiveBaseName  = "toolhive-basename"
	LabelToolHiveTransport = "toolhive-transport"
	LabelToolHivePort      = "toolhive-port"
)

// PodLabels are the labels of the pods of one component of an MCPServer:
// Labels, plus the labels ToolHive's operator v0.63.0 puts on the same pods,
// so that a Service, NetworkPolicy or PodMonitor written against ToolHive
// selects them here too. Proxy pods carry its labelsForMCPServer (app
// mcpserver, toolhive, toolhive-name); backend pods carry what its
// Kubernetes runtime puts on the StatefulSet's pods (app <server>, toolhive,
// toolhive-name, toolhive-basename, toolhive-transport and toolhive-port,
// which is the proxy's port). transport and proxyPort label backend pods
// only. None of these may go into a selector: selectors are immutable and
// these change with the spec.
func PodLabels(server string, c Component, transport string, proxyPort int32) map[string]string {
	toolhive := map[string]string{LabelToolHive: "true", LabelToolHiveName: server}
	switch c {
	case ComponentProxy:
		toolhive[LabelApp] = AppName
	case ComponentMCP:
		toolhive[LabelApp] = server
		toolhive[LabelToolHiveBaseName] = server
		toolhive[LabelToolHiveTransport] = transport
		toolhive[LabelToolHivePort] = strconv.Itoa(int(proxyPort))
	}
	return Merge(toolhive, Labels(server, c))
}

// Merge returns extra overlaid with own (labels or annotations): the
// operator's values win, so a user override can never break a selector.
func Merge(extra, own map[string]string) map[string]string {
	if len(extra) == 0 && len(own) == 0 {
		return nil
	}
	out := make(map[string]string, len(extra)+len(own))
	maps.Copy(out, extra)
	maps.Copy(out, own)
	return out
}

// RedisCAVolume is the proxy pod's volume of the Secret key holding the CA
// that signed the Redis server's certificate, mounted at RedisCADir.
const RedisCAVolume = "redis-ca"

// RedisCADir is where the proxy container finds that CA as a file.
const RedisCADir = "/config/certs/redis"
