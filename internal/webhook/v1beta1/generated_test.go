package v1beta1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	webhookv1beta1 "github.com/switchboard-mcp/switchboard/internal/webhook/v1beta1"
)

// A manifest whose generated objects the API server or the container
// runtime would refuse is refused itself, at create, naming the MCPServer
// field (field) and saying what to do (fix). Some are caught by the pure
// checks, the others by the check of the generated objects (the API
// server's validation, in process), whose errors come back at the field
// they come from.
var refusedServers = []struct {
	name, spec, field, fix string
}{
	// Environment variables.
	{"an env name with '='", `{image: example/server, env: [{name: "A=B", value: x}]}`, "spec.env[0].name", "rename"},
	{"an env name with a tab", `{image: example/server, env: [{name: "A\tB", value: x}]}`, "spec.env[0].name", "rename"},
	{"a secret target name with '='", `{image: example/server, secrets: [{name: tok, key: token, targetEnvName: "TOKEN=1"}]}`, "spec.secrets[0].targetEnvName", "valid variable name"},
	{"a secret key with '=' that names the variable", `{image: example/server, secrets: [{name: tok, key: "a=b"}]}`, "spec.secrets[0].targetEnvName", "defaults to the key"},
	{"a proxy env override with '='", `{image: example/server, resourceOverrides: {proxyDeployment: {env: [{name: "X=Y", value: "1"}]}}}`, "spec.resourceOverrides.proxyDeployment.env[0].name", "rename"},
	{"a Secret name that is not a DNS subdomain", `{image: example/server, secrets: [{name: My_Secret, key: token}]}`, "spec.secrets[0].name", "change"},
	{"a Secret key with a slash", `{image: example/server, secrets: [{name: tok, key: "a/b", targetEnvName: TOKEN}]}`, "spec.secrets[0].key", "change"},
	{"a sidecar variable with '='", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp}, {name: log, image: busybox, env: [{name: "A=B"}]}]}}}`, "spec.podTemplateSpec.spec.containers[1].env[0].name", "change"},
	{"an mcp container variable with both value and valueFrom", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp, env: [{name: X, value: v, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]}]}}}`, "spec.podTemplateSpec.spec.containers[0].env[0].valueFrom", "change"},
	{"an mcp container variable from an unknown pod field", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp, env: [{name: X, valueFrom: {fieldRef: {fieldPath: spec.bogus}}}]}]}}}`, "spec.podTemplateSpec.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath", "change"},

	// Volumes.
	{"a volume name with upper case", `{image: example/server, volumes: [{name: Data, hostPath: /data, mountPath: /data}]}`, "spec.volumes[0].name", "rename the volume"},
	{"a volume name with an underscore", `{image: example/server, volumes: [{name: my_data, hostPath: /data, mountPath: /data}]}`, "spec.volumes[0].name", "rename the volume"},
	{"a pod template volume name that is not a DNS label", `{image: example/server, podTemplateSpec: {spec: {volumes: [{name: cache_dir, emptyDir: {}}]}}}`, "spec.podTemplateSpec.spec.volumes[0].name", "rename the volume"},
	{"a mount of a volume the pod lacks, in the mcp container", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp, volumeMounts: [{name: cache, mountPath: /cache}]}]}}}`, "spec.podTemplateSpec.spec.containers[0].volumeMounts[0].name", "add it"},
	{"a mount of a volume the pod lacks, in a sidecar", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp}, {name: log, image: busybox, volumeMounts: [{name: logs, mountPath: /logs}]}]}}}`, "spec.podTemplateSpec.spec.containers[1].volumeMounts[0].name", "add it"},
	{"a mount of a volume the pod lacks, in an init container", `{image: example/server, podTemplateSpec: {spec: {initContainers: [{name: setup, image: busybox, volumeMounts: [{name: seed, mountPath: /seed}]}]}}}`, "spec.podTemplateSpec.spec.initContainers[0].volumeMounts[0].name", "add it"},
	{"a volume name both in spec.volumes and in the pod template", `{image: example/server, volumes: [{name: data, hostPath: /data, mountPath: /data}], podTemplateSpec: {spec: {volumes: [{name: data, emptyDir: {}}]}}}`, "spec.volumes[0].name", "rename one"},
	{"a rate-limit bucket that never refills", `{image: example/server, transport: streamable-http, sessionStorage: {provider: redis, address: "redis:6379"}, rateLimiting: {shared: {maxTokens: 5, refillPeriod: 0s}}}`, "spec.rateLimiting.shared.refillPeriod", "positive duration"},
	{"rate limits without Redis", `{image: example/server, rateLimiting: {shared: {maxTokens: 5, refillPeriod: 1m}}}`, "spec.rateLimiting", "requires sessionStorage with provider 'redis'"},
	{"per-user rate limits without authentication", `{image: example/server, sessionStorage: {provider: redis, address: "redis:6379"}, rateLimiting: {perUser: {maxTokens: 5, refillPeriod: 1m}}}`, "spec.rateLimiting.perUser", "requires authentication"},
	{"a relative hostPath", `{image: example/server, volumes: [{name: data, hostPath: data, mountPath: /data}]}`, "spec.volumes[0].hostPath", "absolute"},
	{"a hostPath with '..'", `{image: example/server, volumes: [{name: data, hostPath: /srv/../etc, mountPath: /data}]}`, "spec.volumes[0].hostPath", "without it"},
	{"a relative mountPath", `{image: example/server, volumes: [{name: data, hostPath: /data, mountPath: data}]}`, "spec.volumes[0].mountPath", "absolute"},
	{"two spec.volumes at one mountPath", `{image: example/server, volumes: [{name: a, hostPath: /a, mountPath: /data}, {name: b, hostPath: /b, mountPath: /data}]}`, "spec.volumes[1].mountPath", "own path"},
	{"two mounts at one path in the mcp container", `{image: example/server, podTemplateSpec: {spec: {volumes: [{name: a, emptyDir: {}}, {name: b, emptyDir: {}}], containers: [{name: mcp, volumeMounts: [{name: a, mountPath: /data}, {name: b, mountPath: /data}]}]}}}`, "spec.podTemplateSpec.spec.containers[0].volumeMounts[1].mountPath", "own path"},

	// The backend pod.
	{"restartPolicy Never", `{image: example/server, podTemplateSpec: {spec: {restartPolicy: Never}}}`, "spec.podTemplateSpec.spec.restartPolicy", "set restartPolicy to Always"},
	{"restartPolicy OnFailure", `{image: example/server, podTemplateSpec: {spec: {restartPolicy: OnFailure}}}`, "spec.podTemplateSpec.spec.restartPolicy", "set restartPolicy to Always"},
	{"an init container named toolhive", `{image: example/server, podTemplateSpec: {spec: {initContainers: [{name: toolhive, image: busybox}]}}}`, "spec.podTemplateSpec.spec.initContainers[0].name", "rename yours"},
	{"a sidecar named toolhive", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp}, {name: toolhive, image: busybox}]}}}`, "spec.podTemplateSpec.spec.containers[1].name", "rename yours"},
	{"an init container without an image", `{image: example/server, podTemplateSpec: {spec: {initContainers: [{name: setup}]}}}`, "spec.podTemplateSpec.spec.initContainers[0].image", "change"},
	{"a dnsPolicy that does not exist", `{image: example/server, podTemplateSpec: {spec: {dnsPolicy: Sometimes}}}`, "spec.podTemplateSpec.spec.dnsPolicy", "change"},
	{"an imagePullPolicy that does not exist", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp, imagePullPolicy: Sometimes}]}}}`, "spec.podTemplateSpec.spec.containers[0].imagePullPolicy", "change"},
	{"a sidecar port name with upper case", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp}, {name: metrics, image: exporter, ports: [{name: HTTP_PORT, containerPort: 9100}]}]}}}`, "spec.podTemplateSpec.spec.containers[1].ports[0].name", "change"},
	{"two ports of one number in a sidecar", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp}, {name: metrics, image: exporter, ports: [{name: a, containerPort: 9100}, {name: b, containerPort: 9100}]}]}}}`, "spec.podTemplateSpec.spec.containers[1].ports", "change it there"},
	{"an mcp container port with protocol HTTP", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp, ports: [{containerPort: 9000, protocol: HTTP}]}]}}}`, "spec.podTemplateSpec.spec.containers[0].ports[0].protocol", "change"},
	{"a negative runAsUser", `{image: example/server, podTemplateSpec: {spec: {securityContext: {runAsUser: -1}}}}`, "spec.podTemplateSpec.spec.securityContext.runAsUser", "change"},
	{"a toleration with operator Exists and a value", `{image: example/server, podTemplateSpec: {spec: {tolerations: [{key: gpu, operator: Exists, value: "yes"}]}}}`, "spec.podTemplateSpec.spec.tolerations[0]", "change"},
	{"a pod template nodeSelector with an invalid key", `{image: example/server, podTemplateSpec: {spec: {nodeSelector: {"bad key": x}}}}`, "spec.podTemplateSpec.spec.nodeSelector", "change"},
	{"a sidecar variable from a ConfigMap key with a slash", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp}, {name: log, image: busybox, env: [{name: X, valueFrom: {configMapKeyRef: {name: cfg, key: "a/b"}}}]}]}}}`, "spec.podTemplateSpec.spec.containers[1].env[0].valueFrom.configMapKeyRef.key", "change"},
	{"two variables of one name in a sidecar", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp}, {name: log, image: busybox, env: [{name: X, value: a}, {name: X, value: b}]}]}}}`, "spec.podTemplateSpec.spec.containers[1].env[1].name", "one of them"},
	{"two pod template volumes of one name", `{image: example/server, podTemplateSpec: {spec: {volumes: [{name: cache, emptyDir: {}}, {name: cache, emptyDir: {}}]}}}`, "spec.podTemplateSpec.spec.volumes[1].name", "rename one"},
	{"a spec.volumes mountPath the mcp container already mounts", `{image: example/server, volumes: [{name: data, hostPath: /srv, mountPath: /data}], podTemplateSpec: {spec: {volumes: [{name: cache, emptyDir: {}}], containers: [{name: mcp, volumeMounts: [{name: cache, mountPath: /data}]}]}}}`, "spec.volumes[0].mountPath", "own path"},
	{"a readiness probe without a handler", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp, readinessProbe: {periodSeconds: 5}}]}}}`, "spec.podTemplateSpec.spec.containers[0].readinessProbe", "change"},
	{"a node affinity with an unknown operator", `{image: example/server, podTemplateSpec: {spec: {affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: Near, values: [a]}]}]}}}}}}`, "spec.podTemplateSpec.spec.affinity", "change"},
	{"a backend pod label with an invalid value", `{image: example/server, podTemplateSpec: {metadata: {labels: {team: "a b"}}}}`, "spec.podTemplateSpec.metadata.labels", "change the value"},
	{"a backend pod annotation with an invalid key", `{image: example/server, podTemplateSpec: {metadata: {annotations: {"a/b/c": x}}}}`, "spec.podTemplateSpec.metadata.annotations", "rename the key"},

	// Resources.
	{"a negative cpu request on the proxy", `{image: example/server, resources: {requests: {cpu: "-100m"}}}`, "spec.resources.requests[cpu]", "must not be negative"},
	{"a negative memory limit on the proxy", `{image: example/server, resources: {limits: {memory: "-1Mi"}}}`, "spec.resources.limits[memory]", "must not be negative"},
	{"a proxy cpu request above its limit", `{image: example/server, resources: {requests: {cpu: "2"}, limits: {cpu: "1"}}}`, "spec.resources.requests[cpu]", "lower the request"},
	{"a proxy resource that does not exist", `{image: example/server, resources: {limits: {gpu: "1"}}}`, "spec.resources.limits[gpu]", "change"},
	{"an mcp container memory request above its limit", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp, resources: {requests: {memory: 1Gi}, limits: {memory: 512Mi}}}]}}}`, "spec.podTemplateSpec.spec.containers[0].resources.requests[memory]", "lower the request"},
	{"a negative cpu limit on a sidecar", `{image: example/server, podTemplateSpec: {spec: {containers: [{name: mcp}, {name: log, image: busybox, resources: {limits: {cpu: "-1"}}}]}}}`, "spec.podTemplateSpec.spec.containers[1].resources.limits[cpu]", "must not be negative"},
	{"a negative memory request on an init container", `{image: example/server, podTemplateSpec: {spec: {initContainers: [{name: setup, image: busybox, resources: {requests: {memory: "-5Mi"}}}]}}}`, "spec.podTemplateSpec.spec.initContainers[0].resources.requests[memory]", "must not be negative"},

	// ServiceAccounts.
	{"a ServiceAccount name with upper case", `{image: example/server, serviceAccount: Tools}`, "spec.serviceAccount", "give the name of a ServiceAccount"},
	{"a ServiceAccount name with an underscore", `{image: example/server, serviceAccount: tools_sa}`, "spec.serviceAccount", "give the name of a ServiceAccount"},
	{"a ServiceAccount name ending with '-'", `{image: example/server, serviceAccount: tools-}`, "spec.serviceAccount", "give the name of a ServiceAccount"},
	{"a pod template serviceAccountName with a space", `{image: example/server, podTemplateSpec: {spec: {serviceAccountName: "my sa"}}}`, "spec.podTemplateSpec.spec.serviceAccountName", "give the name of a ServiceAccount"},

	// Redis.
	{"a Redis port above 65535", `{image: example/server, transport: streamable-http, sessionStorage: {provider: redis, address: "redis:70000"}}`, "spec.sessionStorage.address", "between 1 and 65535"},
	{"an IPv6 Redis address with port 99999", `{image: example/server, transport: streamable-http, sessionStorage: {provider: redis, address: "[fd00::1]:99999"}}`, "spec.sessionStorage.address", "between 1 and 65535"},
	{"a Redis port 0", `{image: example/server, transport: streamable-http, sessionStorage: {provider: redis, address: "redis:0"}}`, "spec.sessionStorage.address", "between 1 and 65535"},

	// Labels and annotations of the proxy's objects.
	{"a proxy Deployment label key with a space", `{image: example/server, resourceOverrides: {proxyDeployment: {labels: {"team name": tools}}}}`, "spec.resourceOverrides.proxyDeployment.labels", "rename the key"},
	{"a proxy Deployment label value of 64 characters", `{image: example/server, resourceOverrides: {proxyDeployment: {labels: {team: ` + strings.Repeat("a", 64) + `}}}}`, "spec.resourceOverrides.proxyDeployment.labels", "change the value"},
	{"a proxy Deployment label value with a slash", `{image: example/server, resourceOverrides: {proxyDeployment: {labels: {team: "a/b"}}}}`, "spec.resourceOverrides.proxyDeployment.labels", "change the value"},
	{"a proxy pod label key starting with '-'", `{image: example/server, resourceOverrides: {proxyDeployment: {podTemplateMetadataOverrides: {labels: {"-team": x}}}}}`, "spec.resourceOverrides.proxyDeployment.podTemplateMetadataOverrides.labels", "rename the key"},
	{"a proxy pod annotation key with two slashes", `{image: example/server, resourceOverrides: {proxyDeployment: {podTemplateMetadataOverrides: {annotations: {"a/b/c": x}}}}}`, "spec.resourceOverrides.proxyDeployment.podTemplateMetadataOverrides.annotations", "rename the key"},
	{"a proxy Service label value with '&'", `{image: example/server, resourceOverrides: {proxyService: {labels: {team: "tools & more"}}}}`, "spec.resourceOverrides.proxyService.labels", "change the value"},
	{"a proxy Service annotation key with a space", `{image: example/server, resourceOverrides: {proxyService: {annotations: {"my note": x}}}}`, "spec.resourceOverrides.proxyService.annotations", "rename the key"},
	{"a proxy Deployment annotation key with two slashes", `{image: example/server, resourceOverrides: {proxyDeployment: {annotations: {"a/b/c": x}}}}`, "spec.resourceOverrides.proxyDeployment.annotations", "rename the key"},
	{"a proxy nodeSelector key with a space", `{image: example/server, resourceOverrides: {proxyDeployment: {nodeSelector: {"bad key": x}}}}`, "spec.resourceOverrides.proxyDeployment.nodeSelector", "rename the key"},

	// Image references.
	{"an image with two tags", `{image: "repo:v1:latest"}`, "spec.image", "one tag"},
	{"an image with an upper-case repository", `{image: Example/Server}`, "spec.image", "must be lowercase"},
	{"an image with a short digest", `{image: "example/server@sha256:abc"}`, "spec.image", "image reference"},
	{"an image with an empty tag", `{image: "example/server:"}`, "spec.image", "image reference"},
	{"an image with a 129-character tag", `{image: "example/server:` + strings.Repeat("t", 129) + `"}`, "spec.image", "image reference"},
	{"an image with a double slash", `{image: "example//server"}`, "spec.image", "image reference"},
	{"an image starting with '-'", `{image: "-example/server"}`, "spec.image", "image reference"},

	// NetworkPolicies.
	{"a peer that is both an address range and a selector", `{image: example/server, networkPolicy: {ingress: {from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}}}`, "spec.networkPolicy.ingress.from", "split an entry"},
	{"an egress peer with neither", `{image: example/server, networkPolicy: {egress: {allow: [{to: [{}]}]}}}`, "spec.networkPolicy.egress.allow", "give one to an entry"},
	{"a cidr without a prefix length", `{image: example/server, networkPolicy: {egress: {allow: [{to: [{ipBlock: {cidr: 10.0.0.1}}]}]}}}`, "spec.networkPolicy.egress.allow[0].to[0].ipBlock.cidr", "CIDR notation"},
	{"an exception outside its cidr", `{image: example/server, networkPolicy: {ingress: {from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}}}`, "spec.networkPolicy.ingress.from[0].ipBlock.except[0]", "strictly inside"},
	{"a port range that ends before it starts", `{image: example/server, networkPolicy: {egress: {allow: [{ports: [{port: 8000, endPort: 7000}]}]}}}`, "spec.networkPolicy.egress.allow[0].ports[0].endPort", "between port"},
	{"a namespace selector with an invalid label key", `{image: example/server, networkPolicy: {ingress: {from: [{namespaceSelector: {matchLabels: {"bad key": x}}}]}}}`, "spec.networkPolicy.ingress.from[0].namespaceSelector.matchLabels", "change the selector"},
	// ToolHive fields Switchboard does not serve yet.
	{"an externalAuthConfigRef", `{image: example/server, externalAuthConfigRef: {name: github}}`, "spec.externalAuthConfigRef", "not supported yet by Switchboard (MCPExternalAuthConfig); remove it"},
	{"a webhookConfigRef", `{image: example/server, webhookConfigRef: {name: hooks}}`, "spec.webhookConfigRef", "not supported yet by Switchboard (MCPWebhookConfig); remove it"},
	{"an authServerRef", `{image: example/server, authServerRef: {name: auth}}`, "spec.authServerRef", "remove it"},
	{"a groupRef", `{image: example/server, groupRef: {name: team}}`, "spec.groupRef", "not supported yet by Switchboard (MCPGroup); remove it"},
}

// Unusual manifests that work are admitted (warns: what a warning says).
var admittedServers = []struct {
	name, server, spec string
	warns              []string
}{
	{"a name starting with a digit", "1st-server", `{image: example/server}`, nil},
	{"a 50-character name", strings.Repeat("n", 50), `{image: example/server, transport: streamable-http}`, nil},
	{"an IPv6 Redis address", "ipv6-redis", `{image: example/server, transport: streamable-http, replicas: 2, sessionStorage: {provider: redis, address: "[fd00::1]:6379"}}`, nil},
	{"Redis on port 65535", "redis-port", `{image: example/server, transport: sse, sessionStorage: {provider: redis, address: "redis.cache.svc:65535", db: 3}}`, nil},
	{"an image pinned by digest", "digest", `{image: "example/server@sha256:` + strings.Repeat("a1", 32) + `"}`, nil},
	{"an image with a tag and a digest", "tag-digest", `{image: "ghcr.io/org/server:v1@sha256:` + strings.Repeat("0f", 32) + `"}`, nil},
	{"an image from a registry with a port", "registry-port", `{image: "registry.local:5000/team/server:1.2"}`, nil},
	{"an image on localhost", "localhost", `{image: localhost/server}`, nil},
	{"a tag with upper case", "upper-tag", `{image: "example/server:V1.0-RC1"}`, nil},
	{"a Docker Hub short name", "short", `{image: alpine}`, nil},
	{"proxyMode streamable-http on an sse server", "sse-proxymode", `{image: example/server, transport: sse, proxyMode: streamable-http}`,
		[]string{"spec.proxyMode streamable-http is ignored on an sse server, as in ToolHive"}},
	{"a deprecated permissionProfile", "profile", `{image: example/server, permissionProfile: {type: builtin, name: network}}`,
		[]string{"spec.permissionProfile is deprecated and has no effect, as in ToolHive; restrict the pod with podTemplateSpec securityContext, and its network with spec.networkPolicy.egress"}},
	{"a pod template with sidecars and a native sidecar init container", "sidecars", `{image: example/server, podTemplateSpec: {spec: {
		initContainers: [{name: proxy-init, image: busybox, restartPolicy: Always}],
		containers: [{name: log, image: busybox, args: [tail, -f, /dev/null]}, {name: mcp, resources: {limits: {memory: 256Mi}}}, {name: metrics, image: exporter, ports: [{name: metrics, containerPort: 9100}]}]}}}`, nil},
	{"env names with dots and dashes", "env-names", `{image: example/server, env: [{name: my.var-name, value: x}, {name: lower_case, value: "on"}]}`, nil},
	{"a secret with a lower-case target name", "secret-target", `{image: example/server, secrets: [{name: tok, key: token, targetEnvName: api.token}]}`,
		[]string{`spec.secrets[0]: Secret "tok" not found`}},
	{"spec.volumes beside the pod template's own", "volumes", `{image: example/server, volumes: [{name: data, hostPath: /srv/data, mountPath: /data, readOnly: true}],
		podTemplateSpec: {spec: {volumes: [{name: cache, emptyDir: {}}], containers: [{name: mcp, volumeMounts: [{name: cache, mountPath: /cache}]}, {name: log, image: busybox, volumeMounts: [{name: cache, mountPath: /data}]}]}}}`, nil},
	{"restartPolicy Always written out", "always", `{image: example/server, podTemplateSpec: {spec: {restartPolicy: Always}}}`, nil},
	{"requests equal to limits", "guaranteed", `{image: example/server, resources: {requests: {cpu: 500m, memory: 128Mi}, limits: {cpu: 500m, memory: 128Mi}}}`, nil},
	{"limits only", "limits", `{image: example/server, resources: {limits: {cpu: "1", memory: 1Gi}}}`, nil},
	{"a dotted ServiceAccount name", "dotted-sa", `{image: example/server, serviceAccount: team.tools-sa}`, nil},
	{"a pod template serviceAccountName", "template-sa", `{image: example/server, podTemplateSpec: {spec: {serviceAccountName: tools}}}`, nil},
	{"prefixed label keys, empty label values and free annotation values", "labels", `{image: example/server, podTemplateSpec: {metadata: {labels: {example.com/team: "", tier: backend}, annotations: {"example.com/note": "any text: at all"}}},
		resourceOverrides: {proxyDeployment: {labels: {example.com/team: tools}, annotations: {note: "a b c"}, podTemplateMetadataOverrides: {labels: {"x": ""}}}, proxyService: {labels: {app.example.com/exposed: "true"}}}}`, nil},
	{"every proxy scheduling override", "scheduling", `{image: example/server, resourceOverrides: {proxyDeployment: {env: [{name: LOG_LEVEL, value: debug}], imagePullSecrets: [{name: regcred}],
		nodeSelector: {kubernetes.io/os: linux}, tolerations: [{key: dedicated, operator: Equal, value: mcp, effect: NoSchedule}],
		affinity: {podAntiAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 100, podAffinityTerm: {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: x}}}}]}}}}}`, nil},
	{"Redis over TLS with a CA Secret", "redis-tls", `{image: example/server, transport: streamable-http, sessionStorage: {provider: redis, address: "redis:6380", passwordRef: {name: redis, key: password}, tls: {caCertSecretRef: {name: redis-ca, key: ca.crt}}}}`,
		[]string{`Secret "redis" not found`}},
	{"rate limits shared and per tool", "ratelimit", `{image: example/server, transport: streamable-http, sessionStorage: {provider: redis, address: "redis:6379"},
		rateLimiting: {shared: {maxTokens: 100, refillPeriod: 1m0s}, tools: [{name: search, shared: {maxTokens: 5, refillPeriod: 10s}}]}}`, nil},
	{"a stopped stdio server", "stopped", `{image: example/server, replicas: 0, backendReplicas: 0}`, nil},
	{"a sidecar mounting a spec.volumes volume", "sidecar-hostpath", `{image: example/server, volumes: [{name: data, hostPath: /srv/data, mountPath: /data}],
		podTemplateSpec: {spec: {containers: [{name: mcp}, {name: log, image: busybox, volumeMounts: [{name: data, mountPath: /logs, readOnly: true}]}]}}}`, nil},
	{"a rate-limited stdio server, whose buckets use its Redis", "stdio-ratelimit", `{image: example/server, sessionStorage: {provider: redis, address: "redis:6379"},
		rateLimiting: {shared: {maxTokens: 10, refillPeriod: 1s}}}`, nil},
	{"NetworkPolicies with listed clients and an egress allow-list", "netpol", `{image: example/server, transport: streamable-http, networkPolicy: {
		ingress: {from: [{namespaceSelector: {matchLabels: {team: a}}, podSelector: {matchLabels: {role: agent}}}, {ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]},
		egress: {allow: [{to: [{ipBlock: {cidr: 203.0.113.0/24}}], ports: [{protocol: TCP, port: 443}, {port: 30000, endPort: 32767}, {protocol: UDP, port: ntp}]}]}}}`, nil},
	{"NetworkPolicies turned off, rules kept", "netpol-off", `{image: example/server, networkPolicy: {enabled: false, egress: {}}}`,
		[]string{"have no effect while spec.networkPolicy.enabled is false"}},
	{"request size and read timeout", "limits-proxy", `{image: example/server, maxRequestBodySize: 1048576, proxyReadTimeout: 1m30s, endpointPrefix: /tools, trustProxyHeaders: true}`, nil},
	{"a secret key with dots and dashes", "secret-key", `{image: example/server, secrets: [{name: api-keys, key: github.token-v2, targetEnvName: GITHUB_TOKEN}]}`,
		[]string{`Secret "api-keys" not found`}},
	{"policies from an MCPAuthzConfig", "authz-ref", `{image: example/server, authzConfigRef: {name: cedar}}`,
		[]string{`spec.authzConfigRef: MCPAuthzConfig "cedar" not found`}},
}

func mcpServer(t *testing.T, name, spec string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	spec = strings.ReplaceAll(spec, "\t", "") // the tables' continuation lines
	doc := fmt.Sprintf("apiVersion: toolhive.stacklok.dev/v1beta1\nkind: MCPServer\nmetadata: {name: %q, namespace: generated}\nspec: %s\n", name, spec)
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		t.Fatalf("parse %s: %v", doc, err)
	}
	return obj
}

func TestServersWhoseObjectsWouldBeRefusedAreRefused(t *testing.T) {
	if len(refusedServers) < 60 {
		t.Fatalf("%d cases, want at least 60", len(refusedServers))
	}
	k, _ := newClient(t)
	ensureNamespace(t, k, "generated")
	for _, tc := range refusedServers {
		t.Run(tc.name, func(t *testing.T) {
			obj := mcpServer(t, "bad", tc.spec)
			err := k.Create(context.Background(), obj)
			if err == nil {
				_ = k.Delete(context.Background(), obj)
				t.Fatalf("accepted; want %s refused", tc.field)
			}
			t.Log(err) // go test -v prints what a user sees
			if !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), tc.fix) {
				t.Errorf("the error does not name %s and say %q:\n%v", tc.field, tc.fix, err)
			}
		})
	}
}

func TestUnusualServersAreAdmitted(t *testing.T) {
	if len(admittedServers) < 25 {
		t.Fatalf("%d cases, want at least 25", len(admittedServers))
	}
	k, warnings := newClient(t)
	ensureNamespace(t, k, "generated")
	for _, tc := range admittedServers {
		t.Run(tc.name, func(t *testing.T) {
			obj := mcpServer(t, tc.server, tc.spec)
			if err := k.Create(context.Background(), obj); err != nil {
				t.Fatalf("refused: %v", err)
			}
			t.Cleanup(func() { _ = k.Delete(context.Background(), obj) })
			got := strings.Join(warnings.take(), "\n")
			for _, w := range tc.warns {
				if !strings.Contains(got, w) {
					t.Errorf("warnings do not say %q:\n%s", w, got)
				}
			}
			if tc.warns == nil && got != "" {
				t.Errorf("unexpected warnings:\n%s", got)
			}
		})
	}
}

// The generated objects are checked on update too, where they may
// already exist.
func TestAnUpdateIsDryRunToo(t *testing.T) {
	ctx := context.Background()
	k, _ := newClient(t)
	ensureNamespace(t, k, "generated")
	obj := mcpServer(t, "updated", `{image: example/server}`)
	if err := k.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Delete(ctx, obj) })
	bad := mcpServer(t, "updated", `{image: example/server, secrets: [{name: Not_A_Name, key: token}]}`)
	bad.SetResourceVersion(obj.GetResourceVersion())
	err := k.Update(ctx, bad)
	if err == nil || !strings.Contains(err.Error(), "spec.secrets[0].name") {
		t.Errorf("update: %v, want spec.secrets[0].name refused", err)
	}
	good := mcpServer(t, "updated", `{image: example/server, args: [--verbose]}`)
	good.SetResourceVersion(obj.GetResourceVersion())
	if err := k.Update(ctx, good, client.FieldOwner("test")); err != nil {
		t.Errorf("valid update: %v", err)
	}
}

// The in-process check (the default) refuses what the cluster's dry run
// (--admission-dry-run) refuses, in the same words, and admits what it
// admits: every server of both tables is checked both ways against the
// suite's API server, without its webhooks in between.
func TestTheInProcessCheckAgreesWithTheDryRun(t *testing.T) {
	ctx := context.Background()
	k, _ := newClient(t)
	ensureNamespace(t, k, "generated")
	const proxy = "switchboard/proxy:test"
	inProcess := webhookv1beta1.Validator{Reader: k, ProxyImage: proxy}
	dryRun := webhookv1beta1.Validator{Reader: k, Client: k, DryRun: true, ProxyImage: proxy}
	cases := map[string]*unstructured.Unstructured{}
	for _, tc := range refusedServers {
		cases["refused: "+tc.name] = mcpServer(t, "bad", tc.spec)
	}
	for _, tc := range admittedServers {
		cases["admitted: "+tc.name] = mcpServer(t, tc.server, tc.spec)
	}
	for name, obj := range cases {
		t.Run(name, func(t *testing.T) {
			s := &v1beta1.MCPServer{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, s); err != nil {
				t.Fatal(err)
			}
			s.Default(nil)
			_, want := dryRun.ValidateCreate(ctx, s)
			_, got := inProcess.ValidateCreate(ctx, s)
			if fmt.Sprint(want) != fmt.Sprint(got) {
				t.Errorf("the dry run says\n\t%v\nthe in-process check says\n\t%v", want, got)
			}
		})
	}
}
