package operator

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func fullPodSpec() corev1.PodSpec {
	limits := corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}
	return corev1.PodSpec{
		NodeName:       "node-1",
		InitContainers: []corev1.Container{{Name: "announce", Image: "proxy:1", Command: []string{"proxy", "announce"}}},
		Containers: []corev1.Container{{
			Name: "mcp", Image: "server:1", Resources: limits,
			Env:          []corev1.EnvVar{{Name: "TOKEN", Value: "x"}},
			VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
		}},
		Volumes:     []corev1.Volume{{Name: "data"}},
		Tolerations: []corev1.Toleration{{Key: "k"}},
	}
}

func TestTheCacheKeepsWhatTheStatusReads(t *testing.T) {
	meta := metav1.ObjectMeta{
		Name: "p", Labels: map[string]string{"app": "x"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}},
	}
	kept := metav1.ObjectMeta{Name: "p", Labels: map[string]string{"app": "x"}}
	status := corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1",
		ContainerStatuses: []corev1.ContainerStatus{{Name: "mcp", RestartCount: 2}}}
	replicas := int32(1)
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"restarted-at": "t"}}, Spec: fullPodSpec()}
	keptTemplate := corev1.PodTemplateSpec{ObjectMeta: template.ObjectMeta}
	tests := []struct {
		name     string
		obj      client.Object
		want     client.Object
		byObject client.Object
	}{{
		name: "a pod keeps its metadata, status, node and its containers' names, images and resources",
		obj:  &corev1.Pod{ObjectMeta: meta, Spec: fullPodSpec(), Status: status},
		want: &corev1.Pod{ObjectMeta: kept, Status: status, Spec: corev1.PodSpec{
			NodeName:       "node-1",
			InitContainers: []corev1.Container{{Name: "announce", Image: "proxy:1"}},
			Containers:     []corev1.Container{{Name: "mcp", Image: "server:1", Resources: fullPodSpec().Containers[0].Resources}},
		}},
		byObject: &corev1.Pod{},
	}, {
		name: "a Deployment keeps all but its pod template's spec",
		obj: &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{Replicas: &replicas, Template: template},
			Status: appsv1.DeploymentStatus{ReadyReplicas: 1}},
		want: &appsv1.Deployment{ObjectMeta: kept, Spec: appsv1.DeploymentSpec{Replicas: &replicas, Template: keptTemplate},
			Status: appsv1.DeploymentStatus{ReadyReplicas: 1}},
		byObject: &appsv1.Deployment{},
	}, {
		name: "a StatefulSet keeps all but its pod template's spec and claim templates",
		obj: &appsv1.StatefulSet{ObjectMeta: meta, Spec: appsv1.StatefulSetSpec{Replicas: &replicas, MinReadySeconds: 5, Template: template,
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}},
			Status: appsv1.StatefulSetStatus{AvailableReplicas: 1}},
		want: &appsv1.StatefulSet{ObjectMeta: kept, Spec: appsv1.StatefulSetSpec{Replicas: &replicas, MinReadySeconds: 5, Template: keptTemplate},
			Status: appsv1.StatefulSetStatus{AvailableReplicas: 1}},
		byObject: &appsv1.StatefulSet{},
	}}
	opts := cacheOptions(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var transform func(any) (any, error)
			for k, v := range opts.ByObject {
				if cmp.Equal(k, tt.byObject) {
					transform = v.Transform
				}
			}
			if transform == nil {
				t.Fatalf("no transform for %T", tt.byObject)
			}
			got, err := transform(tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("cached object (-want +got):\n%s", diff)
			}
		})
	}
}
