package v1beta1

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// server is a defaulted MCPServer, as the validating webhook receives it.
func server(change ...func(*v1beta1.MCPServerSpec)) *v1beta1.MCPServer {
	s := &v1beta1.MCPServer{
		ObjectMeta: metav1.ObjectMeta{Name: "fetch", Namespace: "tools"},
		Spec:       v1beta1.MCPServerSpec{Image: "example/server"},
	}
	for _, c := range change {
		c(&s.Spec)
	}
	s.Default(nil)
	return s
}

func template(raw string) func(*v1beta1.MCPServerSpec) {
	return func(s *v1beta1.MCPServerSpec) { s.PodTemplateSpec = &runtime.RawExtension{Raw: []byte(raw)} }
}

func TestValidateSpec(t *testing.T) {
	const (
		tmplPath    = "spec.podTemplateSpec.spec."
		redisUnused = "spec.sessionStorage provider redis is not used by a stdio server: every proxy pod attaches to the one stdio pod " +
			"and keeps the sessions of its own clients in memory; remove spec.sessionStorage"
	)
	tests := []struct {
		name         string
		server       *v1beta1.MCPServer
		wantErrs     []string
		wantWarnings []string
	}{
		{name: "a server without a pod template is valid", server: server()},
		{name: "the seed's mcp container with resources is valid",
			server: server(template(`{"spec":{"containers":[{"name":"mcp","resources":{"limits":{"cpu":"500m"}}}]}}`))},
		{name: "a template of pod fields only needs no mcp container",
			server: server(template(`{"spec":{"terminationGracePeriodSeconds":60}}`))},
		{name: "a sidecar with an image is valid",
			server: server(template(`{"spec":{"containers":[{"name":"mcp"},{"name":"log-shipper","image":"fluent/fluent-bit"}]}}`))},
		{name: "containers without one named mcp are rejected",
			server: server(template(`{"spec":{"containers":[{"name":"server","image":"example/server"}]}}`)),
			wantErrs: []string{tmplPath + `containers: Required value: the MCP server container must be named "mcp": ` +
				`rename it, or add a container named "mcp" (other containers run as sidecars)`}},
		{name: "a sidecar needs an image",
			server:   server(template(`{"spec":{"containers":[{"name":"mcp"},{"name":"log-shipper"}]}}`)),
			wantErrs: []string{tmplPath + `containers[1].image: Required value: sidecar container "log-shipper" needs an image (only the mcp container takes spec.image)`}},
		{name: "two containers may not share a name",
			server: server(template(`{"spec":{"containers":[{"name":"mcp"},{"name":"mcp"}]}}`)),
			wantErrs: []string{tmplPath + `containers[1].name: Duplicate value: "mcp": already used by ` + tmplPath +
				`containers[0].name: give every container a unique name`}},
		{name: "an init container may not share a name with a container",
			server: server(template(`{"spec":{"initContainers":[{"name":"mcp","image":"busybox"}],"containers":[{"name":"mcp"}]}}`)),
			wantErrs: []string{tmplPath + `containers[0].name: Duplicate value: "mcp": already used by ` + tmplPath +
				`initContainers[0].name: give every container a unique name`}},
		{name: "a container name must be a DNS label",
			server: server(template(`{"spec":{"containers":[{"name":"mcp"},{"name":"Log_Shipper","image":"fluent/fluent-bit"}]}}`)),
			wantErrs: []string{tmplPath + `containers[1].name: Invalid value: "Log_Shipper": a lowercase RFC 1123 label must consist of lower case alphanumeric characters ` +
				`or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`}},
		{name: "an init container needs a name",
			server:   server(template(`{"spec":{"initContainers":[{"image":"busybox"}]}}`)),
			wantErrs: []string{tmplPath + `initContainers[0].name: Required value: every container needs a name`}},
		{name: "a template that does not decode is reported at the field",
			server: server(template(`{"spec":{"containers":[{"name":"mcp","volumeMount":[]}]}}`)),
			wantErrs: []string{tmplPath + "containers[0].volumeMount: Invalid value: unknown field \"volumeMount\" in a PodTemplateSpec: " +
				"check its spelling and indentation (`kubectl explain pod.spec.containers` lists the valid fields)"}},
		{name: "an image on the mcp container is ignored, with a warning",
			server:       server(template(`{"spec":{"containers":[{"name":"mcp","image":"other/server"}]}}`)),
			wantWarnings: []string{tmplPath + "containers[0].image is ignored: spec.image (example/server) is the MCP server's image; remove the image from the mcp container"}},
		{name: "the mcp container repeating spec.image says nothing",
			server: server(template(`{"spec":{"containers":[{"name":"mcp","image":"example/server"}]}}`))},
		{name: "two secrets may not set one variable",
			server: server(func(s *v1beta1.MCPServerSpec) {
				s.Secrets = []v1beta1.SecretRef{{Name: "a", Key: "token", TargetEnvName: "TOKEN"}, {Name: "b", Key: "token", TargetEnvName: "TOKEN"}}
			}),
			wantErrs: []string{`spec.secrets[1].targetEnvName: Duplicate value: "TOKEN": already set by spec.secrets[0].targetEnvName: ` +
				`an environment variable comes from one place only; set a different targetEnvName`}},
		{name: "a secret may not set a variable spec.env sets, even through the defaulted targetEnvName",
			server: server(func(s *v1beta1.MCPServerSpec) {
				s.Env = []v1beta1.EnvVar{{Name: "LOG", Value: "debug"}, {Name: "TOKEN", Value: "plain"}}
				s.Secrets = []v1beta1.SecretRef{{Name: "a", Key: "TOKEN"}}
			}),
			wantErrs: []string{`spec.secrets[0].targetEnvName: Duplicate value: "TOKEN": already set by spec.env[1]: ` +
				`an environment variable comes from one place only; set a different targetEnvName`}},
		{name: "secrets into distinct variables are valid",
			server: server(func(s *v1beta1.MCPServerSpec) {
				s.Env = []v1beta1.EnvVar{{Name: "LOG", Value: "debug"}}
				s.Secrets = []v1beta1.SecretRef{{Name: "a", Key: "token"}, {Name: "a", Key: "token", TargetEnvName: "GITHUB_TOKEN"}}
			})},
		{name: "the deprecated ports warn",
			server:       server(func(s *v1beta1.MCPServerSpec) { s.Transport, s.Port, s.TargetPort = v1beta1.TransportSSE, 9090, 3000 }),
			wantWarnings: []string{portDeprecated, targetPortDeprecated}},
		{name: "proxy replicas of an HTTP server without Redis warn",
			server: server(func(s *v1beta1.MCPServerSpec) {
				s.Transport, s.Replicas = v1beta1.TransportStreamableHTTP, ptr.To[int32](2)
			}),
			wantWarnings: []string{v1beta1.SessionStorageWarningMessage}},
		{name: "proxy replicas of a stdio server with the default ClientIP affinity say nothing",
			server: server(func(s *v1beta1.MCPServerSpec) { s.Replicas = ptr.To[int32](2) })},
		{name: "proxy replicas of a stdio server without affinity warn, and ask for ClientIP",
			server: server(func(s *v1beta1.MCPServerSpec) {
				s.Replicas, s.SessionAffinity = ptr.To[int32](2), corev1.ServiceAffinityNone
			}),
			wantWarnings: []string{"spec.replicas > 1 with spec.sessionAffinity None on a stdio server: every proxy pod attaches to the one stdio pod " +
				"and keeps the sessions of its own clients in memory, so a client whose requests reach another proxy pod loses its session; " +
				"set spec.sessionAffinity to ClientIP (the default)"}},
		{name: "Redis on a stdio server is said to be unused",
			server: server(func(s *v1beta1.MCPServerSpec) {
				s.SessionStorage = &v1beta1.SessionStorage{Provider: v1beta1.SessionStorageRedis, Address: "redis:6379"}
			}),
			wantWarnings: []string{redisUnused}},
		{name: "Redis does not stand in for affinity on a stdio server",
			server: server(func(s *v1beta1.MCPServerSpec) {
				s.Replicas, s.SessionAffinity = ptr.To[int32](3), corev1.ServiceAffinityNone
				s.SessionStorage = &v1beta1.SessionStorage{Provider: v1beta1.SessionStorageRedis, Address: "redis:6379"}
			}),
			wantWarnings: []string{v1beta1.StdioWithoutAffinityMessage, redisUnused}},
		{name: "backend replicas without Redis warn",
			server: server(func(s *v1beta1.MCPServerSpec) {
				s.Transport, s.BackendReplicas = v1beta1.TransportSSE, ptr.To[int32](3)
				s.SessionStorage = &v1beta1.SessionStorage{Provider: v1beta1.SessionStorageMemory}
			}),
			wantWarnings: []string{backendReplicasWithoutRedis}},
		{name: "replicas with Redis say nothing",
			server: server(func(s *v1beta1.MCPServerSpec) {
				s.Transport, s.Replicas, s.BackendReplicas = v1beta1.TransportSSE, ptr.To[int32](2), ptr.To[int32](3)
				s.SessionStorage = &v1beta1.SessionStorage{Provider: v1beta1.SessionStorageRedis, Address: "redis:6379"}
			})},
		{name: "one replica of each says nothing",
			server: server(func(s *v1beta1.MCPServerSpec) { s.Replicas, s.BackendReplicas = ptr.To[int32](1), ptr.To[int32](1) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkValidateSpec(t, tt.server, tt.wantErrs, tt.wantWarnings) })
	}
}

// checkValidateSpec compares validateSpec's errors and warnings with
// the ones wanted.
func checkValidateSpec(t *testing.T, s *v1beta1.MCPServer, wantErrs, wantWarnings []string) {
	t.Helper()
	_, warnings, errs := validateSpec(s)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	if d := cmp.Diff(wantErrs, got); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantWarnings, []string(warnings)); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
}
