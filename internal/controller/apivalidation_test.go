package controller

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// generated is what admission checks for s: the objects GeneratedObjects
// builds, with the pod template of s decoded.
func generated(t testing.TB, s *v1beta1.MCPServer) []client.Object {
	t.Helper()
	tmpl, err := s.Spec.DecodePodTemplate()
	if err != nil {
		t.Fatal(err)
	}
	return GeneratedObjects(s, tmpl, "ghcr.io/example/proxy:1", NetworkPolicyOptions{})
}

func withPodTemplate(raw string) func(*v1beta1.MCPServer) {
	return func(s *v1beta1.MCPServer) { s.Spec.PodTemplateSpec = &runtime.RawExtension{Raw: []byte(raw)} }
}

// The objects of servers the API server accepts pass, whatever their kind:
// every kind the builders generate has its validation.
func TestValidateApplyAcceptsWhatTheAPIServerAccepts(t *testing.T) {
	for name, s := range map[string]*v1beta1.MCPServer{
		"a stdio server": newServer(),
		"a streamable-http server with NetworkPolicies, env, secrets and a sidecar": newServer(withTransport(v1beta1.TransportStreamableHTTP), func(s *v1beta1.MCPServer) {
			s.Spec.NetworkPolicy = &v1beta1.NetworkPolicyConfig{}
			s.Spec.Env = []v1beta1.EnvVar{{Name: "LOG", Value: "debug"}}
			s.Spec.Secrets = []v1beta1.SecretRef{{Name: "github-token", Key: "token"}}
		}, withPodTemplate(`{"spec":{"containers":[{"name":"mcp"},{"name":"log","image":"busybox","ports":[{"containerPort":9100}]}]}}`)),
	} {
		t.Run(name, func(t *testing.T) {
			for _, obj := range generated(t, s) {
				if err := ValidateApply(obj); err != nil {
					t.Errorf("%T %s: %v", obj, obj.GetName(), err)
				}
			}
		})
	}
}

// What the API server (v1.35.4, through a server-side apply with dryRun=All)
// answers for these objects, written as it says it; the webhook's envtest
// tables check the same for every refused server through a real one.
func TestValidateApplyRefusesAsTheAPIServerDoes(t *testing.T) {
	tests := []struct {
		name   string
		server *v1beta1.MCPServer
		kind   string
		reason metav1.StatusReason
		want   string
	}{
		{"a Secret name that is not a DNS subdomain",
			newServer(func(s *v1beta1.MCPServer) { s.Spec.Secrets = []v1beta1.SecretRef{{Name: "My_Secret", Key: "token"}} }),
			"StatefulSet", metav1.StatusReasonInvalid,
			`StatefulSet.apps "osv" is invalid: spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef.name: Invalid value: "My_Secret": ` +
				`a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character ` +
				`(e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
		{"a resource that does not exist in the proxy's limits",
			newServer(func(s *v1beta1.MCPServer) {
				s.Spec.Resources.Limits = corev1.ResourceList{"gpu": resource.MustParse("1")}
			}),
			"Deployment", metav1.StatusReasonInvalid,
			`Deployment.apps "osv" is invalid: [` +
				`spec.template.spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified, ` +
				`spec.template.spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers]`},
		{"two ports of one number in a sidecar, refused before validation",
			newServer(withPodTemplate(`{"spec":{"containers":[{"name":"mcp"},{"name":"metrics","image":"exporter","ports":[{"name":"a","containerPort":9100},{"name":"b","containerPort":9100}]}]}}`)),
			"StatefulSet", metav1.StatusReasonBadRequest,
			`failed to create typed patch object (tools/osv; apps/v1, Kind=StatefulSet): ` +
				`.spec.template.spec.containers[name="metrics"].ports: duplicate entries for key [containerPort=9100,protocol="TCP"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, obj := range generated(t, tt.server) {
				err := ValidateApply(obj)
				if obj.GetObjectKind().GroupVersionKind().Kind != tt.kind {
					if err != nil {
						t.Errorf("%T %s: %v, want it accepted", obj, obj.GetName(), err)
					}
					continue
				}
				var status *apierrors.StatusError
				if !errors.As(err, &status) || status.ErrStatus.Reason != tt.reason {
					t.Fatalf("%s %s: %v, want a refusal (%s)", tt.kind, obj.GetName(), err, tt.reason)
				}
				got = append(got, err.Error())
			}
			if d := cmp.Diff([]string{tt.want}, got); d != "" {
				t.Errorf("refusal (-want +got):\n%s", d)
			}
		})
	}
}

// BenchmarkValidateApply checks every object admission checks for a
// streamable-http server with NetworkPolicies, a Secret and a sidecar: the
// in-process share of one admission.
func BenchmarkValidateApply(b *testing.B) {
	s := newServer(withTransport(v1beta1.TransportStreamableHTTP), func(s *v1beta1.MCPServer) {
		s.Spec.NetworkPolicy = &v1beta1.NetworkPolicyConfig{}
		s.Spec.Secrets = []v1beta1.SecretRef{{Name: "github-token", Key: "token"}}
	}, withPodTemplate(`{"spec":{"containers":[{"name":"mcp"},{"name":"log","image":"busybox"}]}}`))
	objs := generated(b, s)
	for _, obj := range objs { // the first call reads the schema
		if err := ValidateApply(obj); err != nil {
			b.Fatal(err)
		}
	}
	b.Run(fmt.Sprintf("%d objects", len(objs)), func(b *testing.B) {
		for b.Loop() {
			for _, obj := range objs {
				if err := ValidateApply(obj); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
