package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

func TestBackendStatefulSetForTheSeedGithubStdioExample(t *testing.T) {
	s := newServer(func(s *v1beta1.MCPServer) {
		s.Spec.Secrets = []v1beta1.SecretRef{{Name: "github-token", Key: "token", TargetEnvName: "GITHUB_PERSONAL_ACCESS_TOKEN"}}
		s.Spec.Env = []v1beta1.EnvVar{{Name: "LOG", Value: "info"}}
		s.Spec.Args = []string{"stdio"}
	})
	want := &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: metav1.ObjectMeta{Name: "osv", Namespace: "tools", Labels: mcpLabels, OwnerReferences: ownerRef},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To[int32](1),
			ServiceName:         "mcp-osv-headless",
			Selector:            &metav1.LabelSelector{MatchLabels: mcpSelector},
			PodManagementPolicy: appsv1.ParallelPodManagement,
			MinReadySeconds:     5,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: mcpPodLabels, Annotations: map[string]string{
					"switchboard.dev/secrets-hash": "h1", "kubectl.kubernetes.io/default-container": "mcp"}},
				Spec: corev1.PodSpec{
					ServiceAccountName:            "osv-sa",
					TerminationGracePeriodSeconds: ptr.To[int64](30),
					InitContainers: []corev1.Container{{
						Name:  "toolhive",
						Image: "proxy:1",
						Args: []string{"announce", "backend pod of MCPServer osv: the MCP server runs in container mcp of this pod; " +
							"the proxy is Deployment osv, container toolhive"},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{"cpu": resource.MustParse("10m"), "memory": resource.MustParse("16Mi")},
							Limits:   corev1.ResourceList{"memory": resource.MustParse("32Mi")},
						},
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
					Containers: []corev1.Container{{
						Name:  "mcp",
						Image: "ghcr.io/example/osv:1",
						Args:  []string{"stdio"},
						Env: []corev1.EnvVar{
							{Name: "MCP_TRANSPORT", Value: "stdio"},
							{Name: "LOG", Value: "info"},
							{Name: "GITHUB_PERSONAL_ACCESS_TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
								LocalObjectReference: corev1.LocalObjectReference{Name: "github-token"}, Key: "token"}}},
						},
						Stdin: true,
					}},
				},
			},
		},
	}
	if d := cmp.Diff(want, buildBackendStatefulSet(s, nil, "proxy:1", "h1")); d != "" {
		t.Errorf("statefulset (-want +got):\n%s", d)
	}
}

func TestBackendPodTemplateMerge(t *testing.T) {
	userTemplate := &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "data", "app.kubernetes.io/component": "x", "app": "mine"},
			Annotations: map[string]string{"vault.hashicorp.com/agent-inject": "true"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](60),
			NodeSelector:                  map[string]string{"disk": "ssd"},
			Volumes: []corev1.Volume{{Name: "my-mcp-data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "my-mcp-data-claim"}}}},
			Containers: []corev1.Container{
				{Name: "sidecar", Image: "busybox"},
				{Name: "mcp", Image: "ignored",
					Env:          []corev1.EnvVar{{Name: "A", Value: "user"}, {Name: "LOG", Value: "user"}},
					Resources:    corev1.ResourceRequirements{Limits: corev1.ResourceList{"memory": resource.MustParse("512Mi")}},
					VolumeMounts: []corev1.VolumeMount{{Name: "my-mcp-data", MountPath: "/projects/my-mcp-data", ReadOnly: true}},
					Ports:        []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9100}}},
			},
		},
	}
	s := newServer(withTransport(v1beta1.TransportStreamableHTTP), func(s *v1beta1.MCPServer) {
		s.Spec.Env = []v1beta1.EnvVar{{Name: "LOG", Value: "spec"}, {Name: "B", Value: "spec"}}
		s.Spec.BackendReplicas = ptr.To[int32](3)
	})
	sts := buildBackendStatefulSet(s, userTemplate, "proxy:1", "")
	pod := sts.Spec.Template

	wantLabels := map[string]string{"team": "data", "app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "osv",
		"app.kubernetes.io/component": "mcp", "app.kubernetes.io/managed-by": "switchboard",
		"app": "osv", "toolhive": "true", "toolhive-name": "osv", "toolhive-basename": "osv",
		"toolhive-transport": "streamable-http", "toolhive-port": "8080"}
	if d := cmp.Diff(wantLabels, pod.Labels); d != "" {
		t.Errorf("labels: user labels kept, ours and ToolHive's win (-want +got):\n%s", d)
	}
	if pod.Annotations["vault.hashicorp.com/agent-inject"] != "true" {
		t.Errorf("user annotations lost: %v", pod.Annotations)
	}
	if *pod.Spec.TerminationGracePeriodSeconds != 60 || pod.Spec.NodeSelector["disk"] != "ssd" || len(pod.Spec.Volumes) != 1 {
		t.Errorf("pod fields not kept: grace %d, nodeSelector %v, volumes %v",
			*pod.Spec.TerminationGracePeriodSeconds, pod.Spec.NodeSelector, pod.Spec.Volumes)
	}
	if got := []string{pod.Spec.Containers[0].Name, pod.Spec.Containers[1].Name}; !cmp.Equal(got, []string{"sidecar", "mcp"}) {
		t.Errorf("containers = %v, want the sidecar kept in place", got)
	}
	wantMCP := corev1.Container{
		Name: "mcp", Image: "ghcr.io/example/osv:1",
		Env: []corev1.EnvVar{{Name: "A", Value: "user"}, {Name: "LOG", Value: "spec"},
			{Name: "MCP_TRANSPORT", Value: "streamable-http"}, {Name: "MCP_PORT", Value: "8080"}, {Name: "FASTMCP_PORT", Value: "8080"},
			{Name: "B", Value: "spec"}},
		Resources:    corev1.ResourceRequirements{Limits: corev1.ResourceList{"memory": resource.MustParse("512Mi")}},
		VolumeMounts: []corev1.VolumeMount{{Name: "my-mcp-data", MountPath: "/projects/my-mcp-data", ReadOnly: true}},
		Ports:        []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9100}, {Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
	}
	if d := cmp.Diff(wantMCP, pod.Spec.Containers[1]); d != "" {
		t.Errorf("mcp container (-want +got):\n%s", d)
	}
	if sts.Spec.ServiceName != "mcp-osv-headless" || *sts.Spec.Replicas != 3 {
		t.Errorf("serviceName %q replicas %d, want mcp-osv-headless and 3", sts.Spec.ServiceName, *sts.Spec.Replicas)
	}
	if userTemplate.Spec.Containers[1].Image != "ignored" {
		t.Error("the builder changed the user's template in place")
	}
}

func TestHostPathVolumes(t *testing.T) {
	data := corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	dataMount := corev1.VolumeMount{Name: "data", MountPath: "/data"}
	hostPath := func(name, path string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}}
	}
	tests := []struct {
		name       string
		volumes    []v1beta1.Volume
		tmpl       *corev1.PodTemplateSpec
		wantVols   []corev1.Volume
		wantMounts []corev1.VolumeMount
	}{
		{name: "none asked, none added"},
		{name: "each volume is a hostPath volume mounted in the mcp container",
			volumes: []v1beta1.Volume{
				{Name: "projects", HostPath: "/srv/projects", MountPath: "/projects", ReadOnly: true},
				{Name: "cache", HostPath: "/var/cache/mcp", MountPath: "/cache"},
			},
			wantVols:   []corev1.Volume{hostPath("projects", "/srv/projects"), hostPath("cache", "/var/cache/mcp")},
			wantMounts: []corev1.VolumeMount{{Name: "projects", MountPath: "/projects", ReadOnly: true}, {Name: "cache", MountPath: "/cache"}}},
		{name: "they come after the pod template's own",
			volumes: []v1beta1.Volume{{Name: "projects", HostPath: "/srv/projects", MountPath: "/projects"}},
			tmpl: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Volumes: []corev1.Volume{data},
				Containers: []corev1.Container{{Name: "mcp", VolumeMounts: []corev1.VolumeMount{dataMount}}}}},
			wantVols:   []corev1.Volume{data, hostPath("projects", "/srv/projects")},
			wantMounts: []corev1.VolumeMount{dataMount, {Name: "projects", MountPath: "/projects"}}},
		{name: "a name the pod template uses too is left for the API server to refuse",
			volumes:    []v1beta1.Volume{{Name: "data", HostPath: "/srv/data", MountPath: "/host-data"}},
			tmpl:       &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Volumes: []corev1.Volume{data}}},
			wantVols:   []corev1.Volume{data, hostPath("data", "/srv/data")},
			wantMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/host-data"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(func(s *v1beta1.MCPServer) { s.Spec.Volumes = tt.volumes })
			pod := buildBackendStatefulSet(s, tt.tmpl, "proxy:1", "").Spec.Template.Spec
			if d := cmp.Diff(tt.wantVols, pod.Volumes); d != "" {
				t.Errorf("volumes (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantMounts, pod.Containers[mcpContainerIndex(pod.Containers)].VolumeMounts); d != "" {
				t.Errorf("mcp container's mounts (-want +got):\n%s", d)
			}
		})
	}
}

// The transport variables ToolHive sets are defaults: whatever the user
// names the same way, in the pod template, env or secrets, is kept.
func TestTransportEnv(t *testing.T) {
	tests := []struct {
		name      string
		transport v1beta1.Transport
		template  []corev1.EnvVar
		env       []v1beta1.EnvVar
		want      []corev1.EnvVar
	}{
		{name: "stdio", transport: v1beta1.TransportStdio,
			want: []corev1.EnvVar{{Name: "MCP_TRANSPORT", Value: "stdio"}}},
		{name: "sse", transport: v1beta1.TransportSSE,
			want: []corev1.EnvVar{{Name: "MCP_TRANSPORT", Value: "sse"}, {Name: "MCP_PORT", Value: "8080"}, {Name: "FASTMCP_PORT", Value: "8080"}}},
		{name: "the template's MCP_PORT and the spec's MCP_TRANSPORT win", transport: v1beta1.TransportStreamableHTTP,
			template: []corev1.EnvVar{{Name: "MCP_PORT", Value: "9000"}},
			env:      []v1beta1.EnvVar{{Name: "MCP_TRANSPORT", Value: "http"}},
			want: []corev1.EnvVar{{Name: "MCP_PORT", Value: "9000"}, {Name: "FASTMCP_PORT", Value: "8080"},
				{Name: "MCP_TRANSPORT", Value: "http"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(withTransport(tt.transport), func(s *v1beta1.MCPServer) { s.Spec.Env = tt.env })
			tmpl := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "mcp", Env: tt.template}}}}
			got := buildBackendStatefulSet(s, tmpl, "proxy:1", "").Spec.Template.Spec.Containers[0].Env
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("env (-want +got):\n%s", d)
			}
		})
	}
}

func TestBackendReplicas(t *testing.T) {
	tests := []struct {
		name   string
		server *v1beta1.MCPServer
		want   *int32
	}{
		{"stdio unset runs one pod even under an HPA", newServer(), ptr.To[int32](1)},
		{"stdio stopped runs none", newServer(func(s *v1beta1.MCPServer) { s.Spec.BackendReplicas = ptr.To[int32](0) }), ptr.To[int32](0)},
		{"http unset is left to an HPA", newServer(withTransport(v1beta1.TransportSSE)), nil},
		{"http set is written", newServer(withTransport(v1beta1.TransportSSE), func(s *v1beta1.MCPServer) { s.Spec.BackendReplicas = ptr.To[int32](3) }), ptr.To[int32](3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, buildBackendStatefulSet(tt.server, nil, "proxy:1", "").Spec.Replicas); d != "" {
				t.Errorf("replicas (-want +got):\n%s", d)
			}
		})
	}
}

func TestServiceAccountPrecedence(t *testing.T) {
	tmplSA := &corev1.PodTemplateSpec{Spec: corev1.PodSpec{ServiceAccountName: "from-template"}}
	tests := []struct {
		name   string
		server *v1beta1.MCPServer
		tmpl   *corev1.PodTemplateSpec
		want   string
	}{
		{"spec.serviceAccount wins", newServer(func(s *v1beta1.MCPServer) { s.Spec.ServiceAccount = ptr.To("from-spec") }), tmplSA, "from-spec"},
		{"then the pod template's", newServer(), tmplSA, "from-template"},
		{"else the one the operator creates", newServer(), nil, "osv-sa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := buildBackendStatefulSet(tt.server, tt.tmpl, "proxy:1", "").Spec.Template.Spec.ServiceAccountName; got != tt.want {
				t.Errorf("serviceAccountName = %q, want %q", got, tt.want)
			}
		})
	}
}
