package v1beta1

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// origins maps a field of a generated object back to the MCPServer field
// it comes from, so that an error of the API server about, say, the
// StatefulSet's spec.template.spec.containers[0].env[2].valueFrom.secretKeyRef.name
// names spec.secrets[1].name. It reads the generated object itself (which
// container is index 0, which variable is index 2), never a field path
// written twice.
type origins struct {
	s    *v1beta1.MCPServer
	tmpl *corev1.PodTemplateSpec // may be nil
}

// generated describes a generated object for a message, and names the
// MCPServer field an unmapped error of it most likely comes from.
func (o origins) generated(obj client.Object) (desc, from string) {
	switch t := obj.(type) {
	case *appsv1.StatefulSet:
		return "backend StatefulSet " + t.Name, "spec.podTemplateSpec"
	case *appsv1.Deployment:
		return "proxy Deployment " + t.Name, "spec.resourceOverrides.proxyDeployment"
	case *corev1.Service:
		if t.Name == naming.ProxyServiceName(o.s.Name) {
			return "proxy Service " + t.Name, "spec.resourceOverrides.proxyService"
		}
		return "headless Service " + t.Name, "spec"
	case *networkingv1.NetworkPolicy:
		return "NetworkPolicy " + t.Name, "spec.networkPolicy"
	}
	return fmt.Sprintf("%s %s", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName()), "spec"
}

// path is the MCPServer field that field f of obj comes from, or "".
func (o origins) path(obj client.Object, f string) string {
	if f == "metadata.name" {
		return "metadata.name"
	}
	switch t := obj.(type) {
	case *networkingv1.NetworkPolicy:
		return o.networkPolicy(t, f)
	case *appsv1.StatefulSet:
		return o.statefulSet(t, f)
	case *appsv1.Deployment:
		return o.deployment(t, f)
	case *corev1.Service:
		if t.Name == naming.ProxyServiceName(o.s.Name) {
			return firstOf(f,
				prefix("metadata.labels", "spec.resourceOverrides.proxyService.labels"),
				prefix("metadata.annotations", "spec.resourceOverrides.proxyService.annotations"),
				whole("spec.ports", "spec.proxyPort"),
				prefix("spec.sessionAffinity", "spec.sessionAffinity"))
		}
		return firstOf(f, whole("spec.ports", "spec.mcpPort"))
	case *corev1.ServiceAccount:
		return firstOf(f, prefix("imagePullSecrets", "spec.resourceOverrides.proxyDeployment.imagePullSecrets"))
	}
	return ""
}

// networkPolicy: the proxy's policy copies spec.networkPolicy.ingress.from
// ahead of the operator's own peer; the backend's copies egress.allow
// after its DNS rule.
func (o origins) networkPolicy(p *networkingv1.NetworkPolicy, f string) string {
	np := o.s.Spec.NetworkPolicy
	if np == nil {
		return ""
	}
	if i, rest, ok := indexed(f, "spec.ingress[0].from"); ok && p.Name == naming.ProxyNetworkPolicyName(o.s.Name) &&
		np.Ingress != nil && i < len(np.Ingress.From) {
		return fmt.Sprintf("spec.networkPolicy.ingress.from[%d]%s", i, rest)
	}
	if i, rest, ok := indexed(f, "spec.egress"); ok && p.Name == naming.BackendNetworkPolicyName(o.s.Name) &&
		np.Egress != nil && i >= 1 && i <= len(np.Egress.Allow) {
		return fmt.Sprintf("spec.networkPolicy.egress.allow[%d]%s", i-1, rest)
	}
	return ""
}

func (o origins) statefulSet(sts *appsv1.StatefulSet, f string) string {
	pod := sts.Spec.Template.Spec
	if i, rest, ok := indexed(f, "spec.template.spec.containers"); ok && i < len(pod.Containers) {
		if c := pod.Containers[i]; c.Name == naming.MCPContainer {
			return o.mcpContainer(c, rest)
		}
		return o.templateContainer("containers", pod.Containers[i].Name, rest)
	}
	if i, rest, ok := indexed(f, "spec.template.spec.initContainers"); ok && i < len(pod.InitContainers) {
		if pod.InitContainers[i].Name == naming.ProxyContainer {
			return "" // the operator's own
		}
		return o.templateContainer("initContainers", pod.InitContainers[i].Name, rest)
	}
	if i, rest, ok := indexed(f, "spec.template.spec.volumes"); ok && i < len(pod.Volumes) {
		return o.volume(pod.Volumes[i].Name, rest)
	}
	if f == "spec.template.spec.serviceAccountName" && o.s.Spec.ServiceAccount != nil && *o.s.Spec.ServiceAccount != "" {
		return "spec.serviceAccount"
	}
	return firstOf(f,
		prefix("spec.replicas", "spec.backendReplicas"),
		prefix("spec.template.spec", "spec.podTemplateSpec.spec"),
		prefix("spec.template.metadata", "spec.podTemplateSpec.metadata"))
}

// mcpContainer: the mcp container merges the spec (image, args, env,
// secrets, port, spec.volumes) into the pod template's container "mcp".
func (o origins) mcpContainer(c corev1.Container, rest string) string {
	spec := o.s.Spec
	if k, rest, ok := indexed(rest, ".env"); ok && k < len(c.Env) {
		name := c.Env[k].Name
		if i := slices.IndexFunc(spec.Env, func(e v1beta1.EnvVar) bool { return e.Name == name }); i >= 0 {
			return fmt.Sprintf("spec.env[%d]%s", i, rest)
		}
		if i := slices.IndexFunc(spec.Secrets, func(s v1beta1.SecretRef) bool { return s.TargetEnvName == name }); i >= 0 {
			return firstOf(rest,
				prefix(".name", fmt.Sprintf("spec.secrets[%d].targetEnvName", i)),
				prefix(".valueFrom.secretKeyRef.name", fmt.Sprintf("spec.secrets[%d].name", i)),
				prefix(".valueFrom.secretKeyRef.key", fmt.Sprintf("spec.secrets[%d].key", i)))
		}
		if tc, j := o.templateContainerAt("containers", naming.MCPContainer); tc != nil {
			if e := slices.IndexFunc(tc.Env, func(e corev1.EnvVar) bool { return e.Name == name }); e >= 0 {
				return fmt.Sprintf("spec.podTemplateSpec.spec.containers[%d].env[%d]%s", j, e, rest)
			}
		}
		return ""
	}
	if k, rest, ok := indexed(rest, ".volumeMounts"); ok && k < len(c.VolumeMounts) {
		name := c.VolumeMounts[k].Name
		if i := slices.IndexFunc(spec.Volumes, func(v v1beta1.Volume) bool { return v.Name == name }); i >= 0 {
			return firstOf(rest,
				whole(".mountPath", fmt.Sprintf("spec.volumes[%d].mountPath", i)),
				whole("", fmt.Sprintf("spec.volumes[%d]", i)))
		}
	}
	if k, _, ok := indexed(rest, ".ports"); ok && k < len(c.Ports) && c.Ports[k].Name == naming.PortName {
		return "spec.mcpPort"
	}
	if p := firstOf(rest, prefix(".image", "spec.image"), prefix(".args", "spec.args")); p != "" {
		return p
	}
	return o.templateContainer("containers", naming.MCPContainer, rest)
}

// templateContainer is the pod template's container of that name (the
// generated pod keeps the user's containers, in order, by name).
func (o origins) templateContainer(list, name, rest string) string {
	if _, j := o.templateContainerAt(list, name); j >= 0 {
		return fmt.Sprintf("spec.podTemplateSpec.spec.%s[%d]%s", list, j, rest)
	}
	return ""
}

func (o origins) templateContainerAt(list, name string) (*corev1.Container, int) {
	if o.tmpl == nil {
		return nil, -1
	}
	cs := o.tmpl.Spec.Containers
	if list == "initContainers" {
		cs = o.tmpl.Spec.InitContainers
	}
	for j := range cs {
		if cs[j].Name == name {
			return &cs[j], j
		}
	}
	return nil, -1
}

func (o origins) volume(name, rest string) string {
	if i := slices.IndexFunc(o.s.Spec.Volumes, func(v v1beta1.Volume) bool { return v.Name == name }); i >= 0 {
		return firstOf(rest,
			prefix(".hostPath.path", fmt.Sprintf("spec.volumes[%d].hostPath", i)),
			prefix(".name", fmt.Sprintf("spec.volumes[%d].name", i)),
			whole("", fmt.Sprintf("spec.volumes[%d]", i)))
	}
	if o.tmpl != nil {
		if j := slices.IndexFunc(o.tmpl.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == name }); j >= 0 {
			return fmt.Sprintf("spec.podTemplateSpec.spec.volumes[%d]%s", j, rest)
		}
	}
	return ""
}

func (o origins) deployment(d *appsv1.Deployment, f string) string {
	const overrides = "spec.resourceOverrides.proxyDeployment"
	pod := d.Spec.Template.Spec
	if i, rest, ok := indexed(f, "spec.template.spec.containers"); ok && i < len(pod.Containers) {
		c := pod.Containers[i]
		if k, rest, ok := indexed(rest, ".env"); ok && k < len(c.Env) {
			return o.proxyEnv(c.Env[k], rest)
		}
		return firstOf(rest, prefix(".resources", "spec.resources"), whole(".ports", "spec.proxyPort"))
	}
	return firstOf(f,
		prefix("metadata.labels", overrides+".labels"),
		prefix("metadata.annotations", overrides+".annotations"),
		prefix("spec.template.metadata.labels", overrides+".podTemplateMetadataOverrides.labels"),
		prefix("spec.template.metadata.annotations", overrides+".podTemplateMetadataOverrides.annotations"),
		prefix("spec.template.spec.nodeSelector", overrides+".nodeSelector"),
		prefix("spec.template.spec.tolerations", overrides+".tolerations"),
		prefix("spec.template.spec.affinity", overrides+".affinity"),
		prefix("spec.template.spec.imagePullSecrets", overrides+".imagePullSecrets"),
		prefix("spec.template.spec.terminationGracePeriodSeconds", "spec.podTemplateSpec.spec.terminationGracePeriodSeconds"),
		prefix("spec.replicas", "spec.replicas"))
}

// proxyEnv: the proxy container's variables come from the overrides, or
// carry a Secret reference of the spec (the Redis password, its CA).
func (o origins) proxyEnv(e corev1.EnvVar, rest string) string {
	if ov := o.s.Spec.ResourceOverrides; ov != nil && ov.ProxyDeployment != nil {
		if i := slices.IndexFunc(ov.ProxyDeployment.Env, func(v v1beta1.EnvVar) bool { return v.Name == e.Name }); i >= 0 {
			return fmt.Sprintf("spec.resourceOverrides.proxyDeployment.env[%d]%s", i, rest)
		}
	}
	ss := o.s.Spec.SessionStorage
	if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || ss == nil || ss.PasswordRef == nil {
		return ""
	}
	if ref := e.ValueFrom.SecretKeyRef; ref.Name == ss.PasswordRef.Name && ref.Key == ss.PasswordRef.Key {
		return firstOf(rest,
			prefix(".valueFrom.secretKeyRef.name", "spec.sessionStorage.passwordRef.name"),
			prefix(".valueFrom.secretKeyRef.key", "spec.sessionStorage.passwordRef.key"))
	}
	return ""
}

// rename replaces the prefix from of a field path by to.
type rename struct {
	from, to string
	// whole drops what follows from: the MCPServer's field is a scalar.
	whole bool
}

// prefix renames from, keeping what follows it.
func prefix(from, to string) rename { return rename{from: from, to: to} }

// whole renames from and everything below it to the scalar field to.
func whole(from, to string) rename { return rename{from: from, to: to, whole: true} }

// firstOf applies the first rename whose prefix f has (as a whole path
// element: "spec.ports" is a prefix of "spec.ports[0].port", not of
// "spec.portsX"). An empty from matches anything.
func firstOf(f string, renames ...rename) string {
	for _, r := range renames {
		if r.from == "" {
			return r.to
		}
		rest, ok := strings.CutPrefix(f, r.from)
		if ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
			if r.whole {
				return r.to
			}
			return r.to + rest
		}
	}
	return ""
}

// indexed parses f as prefix[i]rest.
func indexed(f, prefix string) (int, string, bool) {
	after, ok := strings.CutPrefix(f, prefix+"[")
	if !ok {
		return 0, "", false
	}
	num, rest, ok := strings.Cut(after, "]")
	if !ok {
		return 0, "", false
	}
	i, err := strconv.Atoi(num)
	return i, rest, err == nil && i >= 0
}
