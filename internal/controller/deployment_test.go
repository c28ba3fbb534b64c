package controller

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/access"
)

func TestProxyDeploymentForTheSeedOSVExample(t *testing.T) {
	s := newServer(withTransport(v1beta1.TransportStreamableHTTP), func(s *v1beta1.MCPServer) {
		s.Spec.MCPPort, s.Spec.ProxyPort = 8080, 8080
		s.Spec.Resources = corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{"cpu": resource.MustParse("100m"), "memory": resource.MustParse("128Mi")},
			Requests: corev1.ResourceList{"cpu": resource.MustParse("50m"), "memory": resource.MustParse("64Mi")},
		}
	})
	probe := func(path string, period, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
			PeriodSeconds: period, FailureThreshold: failures,
		}
	}
	want := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "osv", Namespace: "tools", Labels: proxyLabels, OwnerReferences: ownerRef},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: proxySelector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: proxyPodLabels},
				Spec: corev1.PodSpec{
					ServiceAccountName:            "osv",
					TerminationGracePeriodSeconds: ptr.To[int64](35),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  "toolhive",
						Image: "proxy:test",
						Args: []string{
							"--server=osv", "--bind-address=0.0.0.0", "--port=8080", "--transport=streamable-http", "--proxy-mode=streamable-http",
							"--backend-port=8080",
							"--backend-selector=app.kubernetes.io/component=mcp,app.kubernetes.io/instance=osv,app.kubernetes.io/name=mcpserver",
							"--backend-service=mcp-osv-headless", "--session-storage=memory", "--drain-timeout=30s",
						},
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
						Env: []corev1.EnvVar{{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}},
						ReadinessProbe: probe("/health", 5, 2),
						LivenessProbe:  probe("/livez", 10, 3),
						Resources:      s.Spec.Resources,
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
	if d := cmp.Diff(want, buildProxyDeployment(s, nil, "proxy:test", resolvedRefs{})); d != "" {
		t.Errorf("deployment (-want +got):\n%s", d)
	}
}

func TestProxyDeploymentVariants(t *testing.T) {
	tests := []struct {
		name   string
		server *v1beta1.MCPServer
		tmpl   *corev1.PodTemplateSpec
		hash   string
		check  func(t *testing.T, d *appsv1.Deployment)
	}{
		{name: "replicas unset are left to an HPA", server: newServer(), check: func(t *testing.T, d *appsv1.Deployment) {
			if d.Spec.Replicas != nil {
				t.Errorf("replicas = %d, want unset", *d.Spec.Replicas)
			}
		}},
		{name: "replicas set are written", server: newServer(func(s *v1beta1.MCPServer) { s.Spec.Replicas = ptr.To[int32](2) }),
			check: func(t *testing.T, d *appsv1.Deployment) {
				if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
					t.Errorf("replicas = %v, want 2", d.Spec.Replicas)
				}
			}},
		{name: "a stdio server is offered as sse when proxyMode says so",
			server: newServer(func(s *v1beta1.MCPServer) { s.Spec.ProxyMode = v1beta1.ProxyModeSSE }),
			check: func(t *testing.T, d *appsv1.Deployment) {
				want := []string{"--server=osv", "--bind-address=0.0.0.0", "--port=8080", "--transport=stdio", "--proxy-mode=sse", "--backend-port=8080",
					"--backend-selector=app.kubernetes.io/component=mcp,app.kubernetes.io/instance=osv,app.kubernetes.io/name=mcpserver",
					"--session-storage=memory", "--drain-timeout=30s"}
				if diff := cmp.Diff(want, d.Spec.Template.Spec.Containers[0].Args); diff != "" {
					t.Errorf("args (-want +got):\n%s", diff)
				}
			}},
		{name: "proxyReadTimeout bounds how long the proxy reads a request",
			server: newServer(func(s *v1beta1.MCPServer) { s.Spec.ProxyReadTimeout = &metav1.Duration{Duration: time.Minute} }), hash: "abc",
			check: func(t *testing.T, d *appsv1.Deployment) {
				if args := d.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--read-timeout=1m0s") {
					t.Errorf("args %v, want --read-timeout=1m0s", args)
				}
			}},
		{name: "a stdio server's proxy is given no Redis: it keeps no routing table",
			server: newServer(func(s *v1beta1.MCPServer) {
				s.Spec.SessionStorage = &v1beta1.SessionStorage{Provider: "redis", Address: "redis:6379",
					PasswordRef: &v1beta1.SecretKeyRef{Name: "redis-password", Key: "password"}}
			}), hash: "abc",
			check: expectNoRedis},
		{name: "redis storage passes the address as flags and the password as a secret env",
			server: newServer(withTransport(v1beta1.TransportStreamableHTTP), func(s *v1beta1.MCPServer) {
				s.Spec.SessionStorage = &v1beta1.SessionStorage{Provider: "redis", Address: "redis:6379", DB: 1, KeyPrefix: "mcp-sessions",
					PasswordRef: &v1beta1.SecretKeyRef{Name: "redis-password", Key: "password"}}
			}), hash: "abc",
			check: func(t *testing.T, d *appsv1.Deployment) {
				c := d.Spec.Template.Spec.Containers[0]
				wantEnv := corev1.EnvVar{Name: "SWITCHBOARD_REDIS_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "redis-password"}, Key: "password"}}}
				if diff := cmp.Diff(wantEnv, c.Env[1]); diff != "" {
					t.Errorf("password env (-want +got):\n%s", diff)
				}
				wantArgs := []string{"--session-storage=redis", "--redis-address=redis:6379", "--redis-db=1", "--redis-key-prefix=mcp-sessions"}
				if diff := cmp.Diff(wantArgs, c.Args[len(c.Args)-5:len(c.Args)-1]); diff != "" {
					t.Errorf("redis args (-want +got):\n%s", diff)
				}
				if got := d.Spec.Template.Annotations["switchboard.dev/secrets-hash"]; got != "abc" {
					t.Errorf("secrets hash annotation = %q, want abc (a password rotation must roll the proxy)", got)
				}
			}},
		{name: "terminationGracePeriodSeconds of the pod template raises the drain window and the grace period",
			server: newServer(), tmpl: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{TerminationGracePeriodSeconds: ptr.To[int64](60)}},
			check: func(t *testing.T, d *appsv1.Deployment) {
				args := d.Spec.Template.Spec.Containers[0].Args
				if got := args[len(args)-1]; got != "--drain-timeout=1m0s" {
					t.Errorf("last arg = %q, want --drain-timeout=1m0s", got)
				}
				if got := *d.Spec.Template.Spec.TerminationGracePeriodSeconds; got != 65 {
					t.Errorf("grace period = %d, want 65 (drain window + headroom)", got)
				}
			}},
		{name: "resource overrides reach the deployment, its pods and the container env",
			server: newServer(func(s *v1beta1.MCPServer) {
				s.Spec.ResourceOverrides = &v1beta1.ResourceOverrides{ProxyDeployment: &v1beta1.ProxyDeploymentOverrides{
					ResourceMetadataOverrides: v1beta1.ResourceMetadataOverrides{Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"note": "x"}},
					PodTemplateMetadataOverrides: &v1beta1.ResourceMetadataOverrides{
						Labels: map[string]string{"app.kubernetes.io/component": "nope", "pod": "y"}, Annotations: map[string]string{"scrape": "true"}},
					Env: []v1beta1.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}},
				}}
			}),
			check: func(t *testing.T, d *appsv1.Deployment) {
				if d.Labels["team"] != "a" || d.Annotations["note"] != "x" {
					t.Errorf("deployment metadata = %v / %v", d.Labels, d.Annotations)
				}
				pl := d.Spec.Template.Labels
				if pl["pod"] != "y" || pl["app.kubernetes.io/component"] != "proxy" {
					t.Errorf("pod labels = %v: want the override added and the selector label kept", pl)
				}
				if d.Spec.Template.Annotations["scrape"] != "true" {
					t.Errorf("pod annotations = %v", d.Spec.Template.Annotations)
				}
				env := d.Spec.Template.Spec.Containers[0].Env
				if last := env[len(env)-1]; last != (corev1.EnvVar{Name: "LOG_LEVEL", Value: "debug"}) {
					t.Errorf("last env = %+v", last)
				}
			}},
		{name: "the proxy deployment's pull secrets and scheduling reach its pods",
			server: newServer(func(s *v1beta1.MCPServer) {
				s.Spec.ResourceOverrides = &v1beta1.ResourceOverrides{ProxyDeployment: &v1beta1.ProxyDeploymentOverrides{
					ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
					NodeSelector:     map[string]string{"pool": "edge"},
					Tolerations:      []corev1.Toleration{{Key: "edge", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
					Affinity:         zoneSpread(),
				}}
			}),
			check: func(t *testing.T, d *appsv1.Deployment) {
				pod := d.Spec.Template.Spec
				want := corev1.PodSpec{
					ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
					NodeSelector:     map[string]string{"pool": "edge"},
					Tolerations:      []corev1.Toleration{{Key: "edge", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
					Affinity:         zoneSpread(),
				}
				got := corev1.PodSpec{ImagePullSecrets: pod.ImagePullSecrets, NodeSelector: pod.NodeSelector, Tolerations: pod.Tolerations, Affinity: pod.Affinity}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("pod scheduling (-want +got):\n%s", diff)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, buildProxyDeployment(tt.server, tt.tmpl, "proxy:test", resolvedRefs{proxySecretsHash: tt.hash}))
		})
	}
}

func TestProxyBodyLimit(t *testing.T) {
	tests := []struct {
		name string
		size int64
		want []string
	}{
		{"maxRequestBodySize 0 leaves the proxy its default, ToolHive's 8 MiB", 0, nil},
		{"maxRequestBodySize bounds the bodies the proxy accepts", 1 << 20, []string{"--max-body-bytes=1048576"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(func(s *v1beta1.MCPServer) { s.Spec.MaxRequestBodySize = tt.size })
			var got []string
			for _, a := range buildProxyDeployment(s, nil, "proxy:test", resolvedRefs{}).Spec.Template.Spec.Containers[0].Args {
				if strings.HasPrefix(a, "--max-body-bytes") {
					got = append(got, a)
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("body limit args (-want +got):\n%s", d)
			}
		})
	}
}

// zoneSpread is an anti-affinity that keeps proxy pods in different zones.
func zoneSpread() *corev1.Affinity {
	return &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{
			TopologyKey:   "topology.kubernetes.io/zone",
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/instance": "osv"}},
		}}},
	}}
}

// expectNoRedis fails when the proxy is told about Redis.
func expectNoRedis(t *testing.T, d *appsv1.Deployment) {
	c := d.Spec.Template.Spec.Containers[0]
	for _, a := range c.Args {
		if strings.Contains(a, "redis") {
			t.Errorf("a stdio proxy got %s", a)
		}
	}
	for _, e := range c.Env {
		if e.Name == "SWITCHBOARD_REDIS_PASSWORD" {
			t.Error("a stdio proxy got the Redis password")
		}
	}
}

func TestProxyOfAServerThatControlsAccess(t *testing.T) {
	s := newServer(func(s *v1beta1.MCPServer) {
		s.Spec.OIDCConfigRef = &v1beta1.MCPOIDCConfigReference{Name: "idp", Audience: "osv"}
	})
	secret := &v1beta1.SecretKeyRef{Name: "idp-client", Key: "secret"}
	c := buildProxyDeployment(s, nil, "proxy:test", resolvedRefs{proxySecretsHash: "abc", oidcClientSecret: secret}).Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--access-configmap=mcp-osv-access") {
		t.Errorf("args %v: want --access-configmap=mcp-osv-access, the document the proxy watches", c.Args)
	}
	want := corev1.EnvVar{Name: "SWITCHBOARD_OIDC_CLIENT_SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "idp-client"}, Key: "secret"}}}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return cmp.Equal(e, want) }) {
		t.Errorf("env %+v: want the introspection client secret from its Secret, never in a flag", c.Env)
	}
}

func TestProxyDeploymentWithTelemetryAndAudit(t *testing.T) {
	s := newServer(withTransport(v1beta1.TransportStreamableHTTP), func(s *v1beta1.MCPServer) {
		s.Spec.Audit = &v1beta1.AuditConfig{Enabled: true, IncludeRequestData: true, MaxDataSize: ptr.To[int32](4096)}
		s.Spec.TelemetryConfigRef = &v1beta1.MCPTelemetryConfigReference{Name: "otel", ServiceName: "osv-prod"}
	})
	export, err := access.Telemetry(&v1beta1.MCPTelemetryConfigSpec{OpenTelemetry: &v1beta1.MCPTelemetryOTelConfig{
		Enabled: true, Endpoint: "https://collector.monitoring:4318/otel", UseLegacyAttributes: true,
		Tracing:            &v1beta1.OpenTelemetryTracingConfig{Enabled: true, SamplingRate: "0.25"},
		Metrics:            &v1beta1.OpenTelemetryMetricsConfig{Enabled: true},
		Headers:            map[string]string{"X-Scope-OrgID": "tools"},
		ResourceAttributes: map[string]string{"deployment.environment": "prod"},
		SensitiveHeaders: []v1beta1.SensitiveHeader{
			{Name: "Authorization", SecretKeyRef: v1beta1.SecretKeyRef{Name: "otel-auth", Key: "bearer"}},
			{Name: "X-API-Key", SecretKeyRef: v1beta1.SecretKeyRef{Name: "otel-keys", Key: "key"}},
		},
		CABundleRef: &v1beta1.CABundleSource{ConfigMapRef: &v1beta1.ConfigMapKeySelector{Name: "otel-ca", Key: "root.pem"}},
	}}, s.Spec.TelemetryConfigRef)
	if err != nil {
		t.Fatal(err)
	}
	d := buildProxyDeployment(s, nil, "proxy:test", resolvedRefs{proxySecretsHash: "abc", telemetry: &export})
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]

	wantArgs := []string{
		"--audit=true", "--audit-request-data=true", "--audit-max-data-size=4096",
		"--otel-endpoint=collector.monitoring:4318/otel", "--otel-protocol=http/protobuf",
		"--otel-tracing=true", "--otel-metrics=true", "--otel-sampling-rate=0.25", "--otel-service-name=osv-prod",
		"--otel-header=X-Scope-OrgID=tools",
		"--otel-secret-header=Authorization=SWITCHBOARD_OTEL_HEADER_0", "--otel-secret-header=X-API-Key=SWITCHBOARD_OTEL_HEADER_1",
		"--otel-resource-attribute=deployment.environment=prod",
		"--otel-ca-bundle=/config/certs/otel/otel-ca/root.pem", "--otel-legacy-attributes=true",
	}
	if diff := cmp.Diff(wantArgs, c.Args[len(c.Args)-len(wantArgs):]); diff != "" {
		t.Errorf("audit and telemetry args (-want +got):\n%s", diff)
	}
	secretEnv := func(name, secret, key string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}}
	}
	wantEnv := []corev1.EnvVar{
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		secretEnv("SWITCHBOARD_OTEL_HEADER_0", "otel-auth", "bearer"),
		secretEnv("SWITCHBOARD_OTEL_HEADER_1", "otel-keys", "key"),
	}
	if diff := cmp.Diff(wantEnv, c.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	wantVolumes := []corev1.Volume{{Name: "otel-ca-bundle-otel-ca", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "otel-ca"}, Items: []corev1.KeyToPath{{Key: "root.pem", Path: "root.pem"}},
	}}}}
	if diff := cmp.Diff(wantVolumes, pod.Volumes); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
	wantMounts := []corev1.VolumeMount{{Name: "otel-ca-bundle-otel-ca", MountPath: "/config/certs/otel/otel-ca", ReadOnly: true}}
	if diff := cmp.Diff(wantMounts, c.VolumeMounts); diff != "" {
		t.Errorf("volume mounts (-want +got):\n%s", diff)
	}
	if got := d.Spec.Template.Annotations["switchboard.dev/secrets-hash"]; got != "abc" {
		t.Errorf("secrets hash annotation = %q, want abc (a header Secret rotation must roll the proxy)", got)
	}
}

func TestProxyWithoutTelemetryOrWithAuditOff(t *testing.T) {
	s := newServer(func(s *v1beta1.MCPServer) {
		s.Spec.Audit = &v1beta1.AuditConfig{IncludeRequestData: true}
		s.Spec.TelemetryConfigRef = &v1beta1.MCPTelemetryConfigReference{Name: "missing"}
	})
	d := buildProxyDeployment(s, nil, "proxy:test", resolvedRefs{})
	c := d.Spec.Template.Spec.Containers[0]
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--audit") || strings.HasPrefix(a, "--otel") {
			t.Errorf("arg %s: audit is off and no telemetry config resolved", a)
		}
	}
	if len(d.Spec.Template.Spec.Volumes) > 0 || len(c.VolumeMounts) > 0 || len(c.Env) != 1 {
		t.Errorf("volumes %v, mounts %v, env %v: want none but POD_NAMESPACE", d.Spec.Template.Spec.Volumes, c.VolumeMounts, c.Env)
	}
}
