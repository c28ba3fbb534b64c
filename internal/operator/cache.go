package operator

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// cacheOptions say what the operator's cache holds. It keeps less than
// whole objects where it holds many: at 1,000 servers the pod templates of
// their Deployments and StatefulSets and the specs of their pods were most
// of the manager's memory, and nothing reads them from the cache (the
// reconciler applies what it builds and compares resourceVersions, not
// specs; the status reads workload and pod status).
func cacheOptions(namespaces []string) cache.Options {
	strip := cache.TransformStripManagedFields()
	o := cache.Options{
		// Nothing reads managedFields from the cache; they are often the
		// larger part of an object's metadata.
		DefaultTransform: strip,
		ByObject: map[client.Object]cache.ByObject{
			// Only the pods of MCPServers, not every pod in the cluster.
			&corev1.Pod{}: {
				Label:     labels.SelectorFromSet(labels.Set{naming.LabelName: naming.AppName}),
				Transform: then(strip, trimPod),
			},
			&appsv1.Deployment{}:  {Transform: then(strip, trimWorkload)},
			&appsv1.StatefulSet{}: {Transform: then(strip, trimWorkload)},
		},
	}
	if len(namespaces) > 0 {
		o.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			o.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return o
}

func then(first, second toolscache.TransformFunc) toolscache.TransformFunc {
	return func(obj any) (any, error) {
		obj, err := first(obj)
		if err != nil {
			return obj, err
		}
		return second(obj)
	}
}

// trimWorkload drops the pod template's spec of a Deployment or a
// StatefulSet (its metadata stays: small, and the restart annotations).
func trimWorkload(obj any) (any, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.Spec.Template.Spec = corev1.PodSpec{}
	case *appsv1.StatefulSet:
		o.Spec.Template.Spec = corev1.PodSpec{}
		o.Spec.VolumeClaimTemplates = nil
	}
	return obj, nil
}

// trimPod keeps what the status reads of a pod: its metadata, its status,
// its node, and its containers' names, images and resources (an OOMKilled
// container's message names its memory limit).
func trimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	p.Spec = corev1.PodSpec{
		NodeName:       p.Spec.NodeName,
		InitContainers: trimContainers(p.Spec.InitContainers),
		Containers:     trimContainers(p.Spec.Containers),
	}
	return p, nil
}

func trimContainers(cs []corev1.Container) []corev1.Container {
	if cs == nil {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i, c := range cs {
		out[i] = corev1.Container{Name: c.Name, Image: c.Image, Resources: c.Resources}
	}
	return out
}
