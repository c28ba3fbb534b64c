package controller

import (
	"fmt"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// backendMinReadySeconds is how long a backend pod must stay ready before
// it counts as available, and the MCPServer as Ready: a server that exits
// at start (bad args, a missing variable) runs for a moment first.
const backendMinReadySeconds = 5

// defaultContainerAnnotation names the container kubectl uses when none is
// given (k8s.io/kubectl's podcmd.DefaultContainerAnnotationName).
const defaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// buildBackendStatefulSet is the StatefulSet <name> running the MCP server in
// container "mcp", built on the user's podTemplateSpec (tmpl, may be nil).
func buildBackendStatefulSet(s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec, proxyImage, secretsHash string) *appsv1.StatefulSet {
	sts := &appsv1.StatefulSet{
		TypeMeta:   typeMeta("apps/v1", "StatefulSet"),
		ObjectMeta: objectMeta(s, naming.BackendStatefulSetName(s.Name), naming.ComponentMCP),
		Spec: appsv1.StatefulSetSpec{
			Replicas: backendReplicas(s),
			// Set for every transport because it is immutable: a stdio server
			// has no such Service, and a later switch to HTTP must not fail.
			ServiceName: naming.HeadlessServiceName(s.Name),
			Selector:    &metav1.LabelSelector{MatchLabels: naming.SelectorLabels(s.Name, naming.ComponentMCP)},
			// Pods are interchangeable session hosts: start and stop them together.
			PodManagementPolicy: appsv1.ParallelPodManagement,
			MinReadySeconds:     backendMinReadySeconds,
			Template:            backendPodTemplate(s, tmpl, proxyImage, secretsHash),
		},
	}
	return sts
}

// backendReplicas is spec.backendReplicas, except that a stdio server always
// runs one pod (or none when stopped) because it serves a single connection:
// an HPA must not scale it.
func backendReplicas(s *v1beta1.MCPServer) *int32 {
	r := s.Spec.BackendReplicas
	if s.Spec.Transport != v1beta1.TransportStdio {
		return r
	}
	if r != nil && *r == 0 {
		return ptr.To[int32](0)
	}
	return ptr.To[int32](1)
}

// backendPodTemplate merges what the operator must set into the user's pod
// template: pod fields and sidecars are kept as given, the mcp container gets
// the image, args, env, secrets and port from the spec.
func backendPodTemplate(s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec, proxyImage, secretsHash string) corev1.PodTemplateSpec {
	var pod corev1.PodTemplateSpec
	if tmpl != nil {
		pod = *tmpl.DeepCopy()
	}
	pod.Labels = naming.Merge(pod.Labels, naming.PodLabels(s.Name, naming.ComponentMCP, string(s.Spec.Transport), s.Spec.ProxyPort))
	// kubectl logs, exec and attach pick the server's container by default,
	// not the init container or a sidecar listed first (unless the user
	// chose another).
	pod.Annotations = naming.Merge(map[string]string{defaultContainerAnnotation: naming.MCPContainer}, pod.Annotations)
	if secretsHash != "" {
		pod.Annotations = naming.Merge(pod.Annotations, map[string]string{naming.SecretsHashAnnotation: secretsHash})
	}
	pod.Annotations = naming.Merge(pod.Annotations, rollingRestartAnnotations(s))
	pod.Spec.ServiceAccountName = mcpServiceAccount(s, tmpl)
	pod.Spec.TerminationGracePeriodSeconds = ptr.To(drainSeconds(tmpl))

	i := mcpContainerIndex(pod.Spec.Containers)
	if i < 0 {
		pod.Spec.Containers = append([]corev1.Container{{Name: naming.MCPContainer}}, pod.Spec.Containers...)
		i = 0
	}
	mergeMCPContainer(&pod.Spec.Containers[i], s)
	addHostPathVolumes(&pod.Spec, &pod.Spec.Containers[i], s.Spec.Volumes)
	if !slices.ContainsFunc(pod.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == naming.ProxyContainer }) {
		pod.Spec.InitContainers = append([]corev1.Container{signpostContainer(s, proxyImage)}, pod.Spec.InitContainers...)
	}
	return pod
}

// signpostContainer is the backend pod's init container "toolhive": the
// seed's `kubectl logs -l app.kubernetes.io/instance=<name> -c toolhive`
// selects the backend pod too, and kubectl fails on a pod without that
// container. It prints, in one log line, where the proxy and the server are.
func signpostContainer(s *v1beta1.MCPServer, proxyImage string) corev1.Container {
	return corev1.Container{
		Name:  naming.ProxyContainer,
		Image: proxyImage,
		Args: proxyconfig.AnnounceArgs(fmt.Sprintf(
			"backend pod of MCPServer %s: the MCP server runs in container %s of this pod; the proxy is Deployment %s, container %s",
			s.Name, naming.MCPContainer, naming.ProxyDeploymentName(s.Name), naming.ProxyContainer)),
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")},
		},
		SecurityContext: restrictedContainer(),
	}
}

// addHostPathVolumes mounts spec.volumes, directories of the node, into
// the mcp container, after the pod template's own volumes. A name both
// use is refused at admission; here it is left for the API server to
// refuse.
func addHostPathVolumes(pod *corev1.PodSpec, c *corev1.Container, vols []v1beta1.Volume) {
	for _, v := range vols {
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: v.HostPath},
		}})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: v.Name, MountPath: v.MountPath, ReadOnly: v.ReadOnly})
	}
}

func mcpContainerIndex(cs []corev1.Container) int {
	for i := range cs {
		if cs[i].Name == naming.MCPContainer {
			return i
		}
	}
	return -1
}

func mergeMCPContainer(c *corev1.Container, s *v1beta1.MCPServer) {
	c.Image = s.Spec.Image
	if len(s.Spec.Args) > 0 {
		c.Args = s.Spec.Args
	}
	own := make([]corev1.EnvVar, 0, len(s.Spec.Env)+len(s.Spec.Secrets))
	for _, e := range s.Spec.Env {
		own = append(own, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	for _, sec := range s.Spec.Secrets {
		own = append(own, corev1.EnvVar{Name: sec.TargetEnvName, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: sec.Name}, Key: sec.Key},
		}})
	}
	c.Env = mergeEnv(c.Env, append(transportEnv(s, c.Env, own), own...))

	if s.Spec.Transport == v1beta1.TransportStdio {
		// The proxy talks to the server over the attach API: keep stdin open
		// across attachments and never allocate a TTY (it would mangle JSON).
		c.Stdin, c.StdinOnce, c.TTY = true, false, false
		return
	}
	port := corev1.ContainerPort{Name: naming.PortName, ContainerPort: s.Spec.MCPPort, Protocol: corev1.ProtocolTCP}
	for i := range c.Ports {
		if c.Ports[i].Name == naming.PortName || c.Ports[i].ContainerPort == s.Spec.MCPPort {
			c.Ports[i] = port
			return
		}
	}
	c.Ports = append(c.Ports, port)
}

// transportEnv tells the server how it is expected to serve, as ToolHive
// does: MCP_TRANSPORT always, MCP_PORT and FASTMCP_PORT for the HTTP
// transports (images such as osv-mcp and FastMCP servers read them). A
// variable the user sets, in env, secrets or the pod template, wins.
func transportEnv(s *v1beta1.MCPServer, user, own []corev1.EnvVar) []corev1.EnvVar {
	env := []corev1.EnvVar{{Name: "MCP_TRANSPORT", Value: string(s.Spec.Transport)}}
	if s.Spec.Transport != v1beta1.TransportStdio {
		port := strconv.Itoa(int(s.Spec.MCPPort))
		env = append(env, corev1.EnvVar{Name: "MCP_PORT", Value: port}, corev1.EnvVar{Name: "FASTMCP_PORT", Value: port})
	}
	return slices.DeleteFunc(env, func(e corev1.EnvVar) bool {
		named := func(o corev1.EnvVar) bool { return o.Name == e.Name }
		return slices.ContainsFunc(user, named) || slices.ContainsFunc(own, named)
	})
}

// mergeEnv keeps the user's variables in order, replacing those the spec
// also sets, and appends the spec's others.
func mergeEnv(user, own []corev1.EnvVar) []corev1.EnvVar {
	byName := make(map[string]int, len(own))
	for i, e := range own {
		byName[e.Name] = i
	}
	out := make([]corev1.EnvVar, 0, len(user)+len(own))
	used := make(map[string]bool, len(own))
	for _, e := range user {
		if i, ok := byName[e.Name]; ok {
			e = own[i]
			used[e.Name] = true
		}
		out = append(out, e)
	}
	for _, e := range own {
		if !used[e.Name] {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
