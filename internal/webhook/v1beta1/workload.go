package v1beta1

import (
	"fmt"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// validateWorkload checks, without a cluster, the settings that end up in
// the generated objects, as the API server or the container runtime would
// check them there. The dry run that follows catches the rest; these
// checks come first because their messages name the MCPServer's field and
// say what to write instead. tmpl is the decoded pod template (may be nil).
func validateWorkload(s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec, spec *field.Path) field.ErrorList {
	errs := validateImage(s.Spec.Image, spec.Child("image"))
	errs = append(errs, validateEnvVarNames(s, spec)...)
	errs = append(errs, validateVolumes(s, tmpl, spec)...)
	errs = append(errs, validateResources(s.Spec.Resources, spec.Child("resources"))...)
	if sa := s.Spec.ServiceAccount; sa != nil && *sa != "" {
		errs = append(errs, validateServiceAccountName(*sa, spec.Child("serviceAccount"))...)
	}
	errs = append(errs, validateRedisAddress(s.Spec.SessionStorage, spec.Child("sessionStorage", "address"))...)
	errs = append(errs, validateOverrides(s.Spec.ResourceOverrides, spec.Child("resourceOverrides"))...)
	errs = append(errs, validateNetworkPolicy(s.Spec.NetworkPolicy, spec.Child("networkPolicy"))...)
	if tmpl != nil {
		errs = append(errs, validatePod(tmpl, spec.Child("podTemplateSpec"))...)
	}
	return errs
}

// validateImage parses spec.image as the container runtime will.
func validateImage(image string, p *field.Path) field.ErrorList {
	if image == "" {
		return nil // the schema requires it
	}
	if _, err := reference.ParseNormalizedNamed(image); err != nil {
		return field.ErrorList{field.Invalid(p, image, err.Error()+
			": give an image reference such as ghcr.io/org/server:v1 or ghcr.io/org/server@sha256:<digest> (lower-case repository, one tag)")}
	}
	return nil
}

// validateEnvVarNames applies the API server's rule for environment
// variable names (printable ASCII other than '=') to every name the spec
// writes into a container.
func validateEnvVarNames(s *v1beta1.MCPServer, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, e := range s.Spec.Env {
		errs = append(errs, envVarName(e.Name, spec.Child("env").Index(i).Child("name"), "rename the variable")...)
	}
	for i, sec := range s.Spec.Secrets {
		name := sec.TargetEnvName
		if name == "" { // not defaulted yet when called outside admission
			name = sec.Key
		}
		errs = append(errs, envVarName(name, spec.Child("secrets").Index(i).Child("targetEnvName"),
			"set targetEnvName (it defaults to the key) to a valid variable name")...)
	}
	if ov := s.Spec.ResourceOverrides; ov != nil && ov.ProxyDeployment != nil {
		p := spec.Child("resourceOverrides", "proxyDeployment", "env")
		for i, e := range ov.ProxyDeployment.Env {
			errs = append(errs, envVarName(e.Name, p.Index(i).Child("name"), "rename the variable")...)
		}
	}
	return errs
}

func envVarName(name string, p *field.Path, fix string) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(p, "an environment variable needs a name: "+fix)}
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r > '~' || r == '=' }) {
		return field.ErrorList{field.Invalid(p, name, "an environment variable name must consist of printable ASCII characters other than '=': "+fix)}
	}
	return nil
}

// validateVolumes checks spec.volumes, which become hostPath volumes and
// mounts of the mcp container, together with the pod template's volumes:
// one pod holds them all.
func validateVolumes(s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	owner := map[string]*field.Path{}
	mountedAt := map[string]*field.Path{} // in the mcp container
	if tmpl != nil {
		for j, v := range tmpl.Spec.Volumes {
			p := spec.Child("podTemplateSpec", "spec", "volumes").Index(j).Child("name")
			errs = append(errs, volumeName(v.Name, p)...)
			if first, dup := owner[v.Name]; dup {
				errs = append(errs, duplicate(p, v.Name, fmt.Sprintf("already the name of %s: a pod's volumes need unique names; rename one of them", first)))
			}
			owner[v.Name] = p
		}
		for i, c := range tmpl.Spec.Containers {
			for k, m := range c.VolumeMounts {
				if c.Name == naming.MCPContainer {
					mountedAt[m.MountPath] = spec.Child("podTemplateSpec", "spec", "containers").Index(i).Child("volumeMounts").Index(k).Child("mountPath")
				}
			}
		}
	}
	for i, v := range s.Spec.Volumes {
		p := spec.Child("volumes").Index(i)
		errs = append(errs, volumeName(v.Name, p.Child("name"))...)
		if first, dup := owner[v.Name]; dup {
			errs = append(errs, duplicate(p.Child("name"), v.Name, fmt.Sprintf("already the name of %s: a pod's volumes need unique names; rename one of them", first)))
		}
		owner[v.Name] = p.Child("name")
		errs = append(errs, absolutePath(v.HostPath, p.Child("hostPath"), "a directory on the node")...)
		errs = append(errs, absolutePath(v.MountPath, p.Child("mountPath"), "where the container sees it")...)
		if first, dup := mountedAt[v.MountPath]; dup && v.MountPath != "" {
			errs = append(errs, duplicate(p.Child("mountPath"), v.MountPath, fmt.Sprintf("already the mountPath of %s: mount each volume at its own path", first)))
		}
		mountedAt[v.MountPath] = p.Child("mountPath")
	}
	if tmpl == nil {
		return errs
	}
	containers := spec.Child("podTemplateSpec", "spec")
	check := func(list string, cs []corev1.Container) {
		for i, c := range cs {
			for k, m := range c.VolumeMounts {
				if _, ok := owner[m.Name]; !ok && m.Name != "" {
					e := field.NotFound(containers.Child(list).Index(i).Child("volumeMounts").Index(k).Child("name"), m.Name)
					e.Detail = fmt.Sprintf("the pod has no volume %q: add it to spec.podTemplateSpec.spec.volumes (or spec.volumes), or remove the mount", m.Name)
					errs = append(errs, e)
				}
			}
		}
	}
	check("initContainers", tmpl.Spec.InitContainers)
	check("containers", tmpl.Spec.Containers)
	return errs
}

func volumeName(name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(name) {
		errs = append(errs, field.Invalid(p, name, msg+": rename the volume"))
	}
	return errs
}

// absolutePath: the container runtime mounts only absolute paths, and the
// API server refuses '..' in a hostPath.
func absolutePath(p string, fp *field.Path, what string) field.ErrorList {
	switch {
	case !path.IsAbs(p):
		return field.ErrorList{field.Invalid(fp, p, fmt.Sprintf("must be an absolute path (%s), starting with '/'", what))}
	case slices.Contains(strings.Split(p, "/"), ".."):
		return field.ErrorList{field.Invalid(fp, p, "must not contain '..': write the path without it")}
	}
	return nil
}

// validateResources refuses what the API server refuses in a container's
// resources: negative quantities and requests above their limits.
func validateResources(r corev1.ResourceRequirements, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, list := range []struct {
		name string
		rl   corev1.ResourceList
	}{{"requests", r.Requests}, {"limits", r.Limits}} {
		for _, name := range sortedKeys(list.rl) {
			if q := list.rl[name]; q.Sign() < 0 {
				errs = append(errs, field.Invalid(p.Child(list.name).Key(string(name)), q.String(), "must not be negative: give a quantity such as 100m or 128Mi"))
			}
		}
	}
	for _, name := range sortedKeys(r.Requests) {
		req, lim := r.Requests[name], r.Limits[name]
		if _, limited := r.Limits[name]; limited && req.Cmp(lim) > 0 {
			errs = append(errs, field.Invalid(p.Child("requests").Key(string(name)), req.String(),
				fmt.Sprintf("must be less than or equal to the %s limit (%s): lower the request or raise the limit", name, lim.String())))
		}
	}
	return errs
}

func sortedKeys(rl corev1.ResourceList) []corev1.ResourceName {
	keys := make([]corev1.ResourceName, 0, len(rl))
	for k := range rl {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func validateServiceAccountName(name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(p, name, msg+": give the name of a ServiceAccount in the server's namespace"))
	}
	return errs
}

// validateRedisAddress checks what the schema's pattern cannot: the port's
// range. IPv6 hosts come in brackets ([fd00::1]:6379).
func validateRedisAddress(ss *v1beta1.SessionStorage, p *field.Path) field.ErrorList {
	if ss == nil || ss.Address == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(ss.Address)
	if err != nil {
		return field.ErrorList{field.Invalid(p, ss.Address, err.Error()+": write host:port, with an IPv6 host in brackets ([fd00::1]:6379)")}
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return field.ErrorList{field.Invalid(p, ss.Address, "the port must be between 1 and 65535: write host:port, e.g. redis:6379")}
	}
	return nil
}

// validateOverrides checks the labels, annotations and node selector the
// proxy's objects receive.
func validateOverrides(ov *v1beta1.ResourceOverrides, p *field.Path) field.ErrorList {
	if ov == nil {
		return nil
	}
	var errs field.ErrorList
	if d := ov.ProxyDeployment; d != nil {
		dp := p.Child("proxyDeployment")
		errs = append(errs, validateMetadata(d.ResourceMetadataOverrides, dp)...)
		if m := d.PodTemplateMetadataOverrides; m != nil {
			errs = append(errs, validateMetadata(*m, dp.Child("podTemplateMetadataOverrides"))...)
		}
		errs = append(errs, validateLabels(d.NodeSelector, dp.Child("nodeSelector"))...)
	}
	if svc := ov.ProxyService; svc != nil {
		errs = append(errs, validateMetadata(*svc, p.Child("proxyService"))...)
	}
	return errs
}

func validateMetadata(m v1beta1.ResourceMetadataOverrides, p *field.Path) field.ErrorList {
	return append(validateLabels(m.Labels, p.Child("labels")), validateAnnotations(m.Annotations, p.Child("annotations"))...)
}

// validateLabels applies the API server's rules for label keys and values.
func validateLabels(labels map[string]string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedStrings(labels) {
		for _, msg := range validation.IsQualifiedName(k) {
			errs = append(errs, field.Invalid(p.Key(k), k, "invalid key: "+msg+": rename the key"))
		}
		for _, msg := range validation.IsValidLabelValue(labels[k]) {
			errs = append(errs, field.Invalid(p.Key(k), labels[k], "invalid value: "+msg+": change the value (or put it in an annotation)"))
		}
	}
	return errs
}

// validateAnnotations applies the API server's rule for annotation keys
// (values are free).
func validateAnnotations(annotations map[string]string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedStrings(annotations) {
		for _, msg := range validation.IsQualifiedName(strings.ToLower(k)) {
			errs = append(errs, field.Invalid(p.Key(k), k, "invalid key: "+msg+": rename the key"))
		}
	}
	return errs
}

func sortedStrings(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// validatePod checks the pod template's settings that the backend
// StatefulSet could not run with.
func validatePod(tmpl *corev1.PodTemplateSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	ps := p.Child("spec")
	if rp := tmpl.Spec.RestartPolicy; rp != "" && rp != corev1.RestartPolicyAlways {
		errs = append(errs, field.Invalid(ps.Child("restartPolicy"), string(rp),
			"the MCP server runs as a StatefulSet, whose pods always restart: set restartPolicy to Always, or remove it"))
	}
	if sa := tmpl.Spec.ServiceAccountName; sa != "" {
		errs = append(errs, validateServiceAccountName(sa, ps.Child("serviceAccountName"))...)
	}
	for _, list := range []struct {
		name string
		cs   []corev1.Container
	}{{"initContainers", tmpl.Spec.InitContainers}, {"containers", tmpl.Spec.Containers}} {
		for i, c := range list.cs {
			cp := ps.Child(list.name).Index(i)
			if c.Name == naming.ProxyContainer {
				errs = append(errs, field.Invalid(cp.Child("name"), c.Name,
					fmt.Sprintf("%q is the operator's own init container in this pod (kubectl logs -c %s): rename yours", c.Name, c.Name)))
			}
			errs = append(errs, validateResources(c.Resources, cp.Child("resources"))...)
			errs = append(errs, uniqueInContainer(c, cp)...)
		}
	}
	errs = append(errs, validateLabels(tmpl.Labels, p.Child("metadata", "labels"))...)
	return append(errs, validateAnnotations(tmpl.Annotations, p.Child("metadata", "annotations"))...)
}

// uniqueInContainer refuses two variables of one name and two mounts at one
// path in a container: the API server cannot apply such a container (its
// env and volumeMounts are maps keyed by them).
func uniqueInContainer(c corev1.Container, p *field.Path) field.ErrorList {
	return append(
		unique(c.Env, func(e corev1.EnvVar) string { return e.Name }, p.Child("env"), "name",
			"already set by %s: set a variable once; remove one of them"),
		unique(c.VolumeMounts, func(m corev1.VolumeMount) string { return m.MountPath }, p.Child("volumeMounts"), "mountPath",
			"already the mountPath of %s: mount each volume at its own path")...)
}

// unique refuses an entry of list whose key an earlier entry has; detail
// names that earlier entry.
func unique[T any](list []T, key func(T) string, p *field.Path, child, detail string) field.ErrorList {
	var errs field.ErrorList
	first := map[string]int{}
	for k, v := range list {
		if j, dup := first[key(v)]; dup {
			errs = append(errs, duplicate(p.Index(k).Child(child), key(v), fmt.Sprintf(detail, p.Index(j))))
			continue
		}
		first[key(v)] = k
	}
	return errs
}
