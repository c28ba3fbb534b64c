package controller

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/access"
	"github.com/switchboard-mcp/switchboard/internal/naming"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

const (
	// defaultGracePeriodSeconds is the documented 30 s grace period and
	// drain window of both workloads.
	defaultGracePeriodSeconds int64 = 30
	// drainHeadroomSeconds is added to the proxy pod's grace period so the
	// drain window ends before the kubelet's SIGKILL (the reference operator
	// has none, and cuts long streams).
	drainHeadroomSeconds int64 = 5
)

// drainSeconds is the proxy's drain window, which is also the backend pod's
// grace period: podTemplateSpec's terminationGracePeriodSeconds raises both.
func drainSeconds(tmpl *corev1.PodTemplateSpec) int64 {
	if tmpl != nil && tmpl.Spec.TerminationGracePeriodSeconds != nil {
		return *tmpl.Spec.TerminationGracePeriodSeconds
	}
	return defaultGracePeriodSeconds
}

// proxyBindAll makes the proxy listen on every interface of its pod, where
// the Service reaches it (by hand it listens on loopback only).
const proxyBindAll = "0.0.0.0"

// proxyConfig is what the proxy is told about the server it fronts, and
// what it exports (nil: nothing).
func proxyConfig(s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec, telemetry *access.TelemetryExport) proxyconfig.Config {
	c := proxyconfig.Config{
		Server:            s.Name,
		BindAddress:       proxyBindAll,
		Port:              s.Spec.ProxyPort,
		Transport:         string(s.Spec.Transport),
		ProxyMode:         string(s.Spec.ExposedAs()),
		BackendPort:       s.Spec.MCPPort,
		BackendSelector:   metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: naming.SelectorLabels(s.Name, naming.ComponentMCP)}),
		EndpointPrefix:    s.Spec.EndpointPrefix,
		TrustProxyHeaders: s.Spec.TrustProxyHeaders,
		SessionStorage:    string(v1beta1.SessionStorageMemory),
		DrainTimeout:      time.Duration(drainSeconds(tmpl)) * time.Second,
	}
	if s.Spec.Transport != v1beta1.TransportStdio {
		c.BackendService = naming.HeadlessServiceName(s.Name)
	}
	if s.Spec.ControlsAccess() {
		c.AccessConfigMap = naming.AccessConfigMapName(s.Name)
	}
	// 0 leaves the proxy its default, ToolHive's 8 MiB.
	c.MaxBodyBytes = s.Spec.MaxRequestBodySize
	if t := s.Spec.ProxyReadTimeout; t != nil && t.Duration > 0 {
		c.ReadTimeout = t.Duration
	}
	withRedis(s, &c)
	if a := s.Spec.Audit; a != nil && a.Enabled {
		c.Audit = proxyconfig.Audit{Enabled: true, IncludeRequestData: a.IncludeRequestData, MaxDataSize: int(ptr.Deref(a.MaxDataSize, 0))}
	}
	if telemetry != nil {
		c.Telemetry = telemetry.Config
	}
	return c
}

// buildProxyDeployment is the proxy Deployment <name> with container
// "toolhive". Replicas are written only when spec.replicas is set, so an HPA
// can own them otherwise. resourceOverrides.proxyDeployment adds metadata,
// env, image pull secrets and scheduling to it. From refs it takes the hash
// of what the proxy reads from Secrets (a change rolls it), the OIDC client
// secret and the telemetry export.
func buildProxyDeployment(s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec, proxyImage string, refs resolvedRefs) *appsv1.Deployment {
	meta := objectMeta(s, naming.ProxyDeploymentName(s.Name), naming.ComponentProxy)
	podLabels := naming.PodLabels(s.Name, naming.ComponentProxy, string(s.Spec.Transport), s.Spec.ProxyPort)
	var podAnnotations map[string]string
	ov := proxyOverrides(s)
	meta.Labels = naming.Merge(ov.Labels, meta.Labels)
	meta.Annotations = ov.Annotations
	if p := ov.PodTemplateMetadataOverrides; p != nil {
		podLabels = naming.Merge(p.Labels, podLabels)
		podAnnotations = naming.Merge(p.Annotations, nil)
	}
	if refs.proxySecretsHash != "" {
		podAnnotations = naming.Merge(podAnnotations, map[string]string{naming.SecretsHashAnnotation: refs.proxySecretsHash})
	}
	podAnnotations = naming.Merge(podAnnotations, rollingRestartAnnotations(s))
	container := proxyContainer(s, tmpl, proxyImage, ov.Env, refs)
	volumes, mounts := telemetryVolumes(refs.telemetry)
	caVolumes, caMounts := redisCAVolume(s)
	volumes, container.VolumeMounts = append(volumes, caVolumes...), append(mounts, caMounts...)

	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: s.Spec.Replicas,
			Selector: &metav1.LabelSelector{MatchLabels: naming.SelectorLabels(s.Name, naming.ComponentProxy)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: podAnnotations},
				Spec: corev1.PodSpec{
					ServiceAccountName:            naming.ProxyServiceAccountName(s.Name),
					TerminationGracePeriodSeconds: ptr.To(drainSeconds(tmpl) + drainHeadroomSeconds),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers:       []corev1.Container{container},
					Volumes:          volumes,
					ImagePullSecrets: ov.ImagePullSecrets,
					NodeSelector:     ov.NodeSelector,
					Tolerations:      ov.Tolerations,
					Affinity:         ov.Affinity,
				},
			},
		},
	}
}

// proxyOverrides is spec.resourceOverrides.proxyDeployment, empty when unset.
func proxyOverrides(s *v1beta1.MCPServer) v1beta1.ProxyDeploymentOverrides {
	if ov := s.Spec.ResourceOverrides; ov != nil && ov.ProxyDeployment != nil {
		return *ov.ProxyDeployment
	}
	return v1beta1.ProxyDeploymentOverrides{}
}

func proxyContainer(s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec, image string, extraEnv []v1beta1.EnvVar, refs resolvedRefs) corev1.Container {
	env := []corev1.EnvVar{{
		Name:      proxyconfig.EnvNamespace,
		ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}},
	}}
	secretEnv := func(name string, ref *v1beta1.SecretKeyRef) {
		env = append(env, corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name}, Key: ref.Key},
		}})
	}
	if s.Spec.ConnectsToRedis() && s.Spec.SessionStorage.PasswordRef != nil {
		secretEnv(proxyconfig.EnvRedisPassword, s.Spec.SessionStorage.PasswordRef)
	}
	if refs.oidcClientSecret != nil {
		secretEnv(proxyconfig.EnvOIDCClientSecret, refs.oidcClientSecret)
	}
	if refs.telemetry != nil {
		for _, e := range refs.telemetry.SecretEnv {
			secretEnv(e.Name, &e.Secret)
		}
	}
	for _, e := range extraEnv {
		env = append(env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	probe := func(path string, period int32, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(naming.PortName)}},
			PeriodSeconds:    period,
			FailureThreshold: failures,
		}
	}
	return corev1.Container{
		Name:  naming.ProxyContainer,
		Image: image,
		Args:  proxyConfig(s, tmpl, refs.telemetry).Args(),
		Ports: []corev1.ContainerPort{{Name: naming.PortName, ContainerPort: s.Spec.ProxyPort, Protocol: corev1.ProtocolTCP}},
		Env:   env,
		// Readiness follows /health, which is unhealthy while the backend is
		// unreachable, so a Ready proxy pod means the whole chain works.
		ReadinessProbe:  probe(proxyconfig.HealthPath, 5, 2),
		LivenessProbe:   probe(proxyconfig.LivePath, 10, 3),
		Resources:       s.Spec.Resources,
		SecurityContext: restrictedContainer(),
	}
}

// telemetryVolumes mount the telemetry CA bundle's key read-only where
// the export's CABundleFile points.
func telemetryVolumes(x *access.TelemetryExport) ([]corev1.Volume, []corev1.VolumeMount) {
	if x == nil || x.CABundle == nil {
		return nil, nil
	}
	ca := x.CABundle
	name := naming.TelemetryCABundleVolume(ca.Name)
	volume := corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: ca.Name},
		Items:                []corev1.KeyToPath{{Key: ca.Key, Path: ca.Key}},
	}}}
	mount := corev1.VolumeMount{Name: name, MountPath: naming.TelemetryCABundleDir(ca.Name), ReadOnly: true}
	return []corev1.Volume{volume}, []corev1.VolumeMount{mount}
}

// restrictedContainer is the security context of the operator's own
// containers: non-root, read-only, no capabilities.
func restrictedContainer() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr.To(true),
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}
