package v1beta1

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/controller"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// dryRunValidator is a Validator with --admission-dry-run whose API server
// answers every apply of a generated object of kind with answer (nil for
// the others).
func dryRunValidator(t *testing.T, kind string, answer error) Validator {
	t.Helper()
	apply := func(_ context.Context, _ client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
		o := &client.ApplyOptions{}
		o.ApplyOptions(opts)
		if len(o.DryRun) == 0 || o.FieldManager != naming.ManagedBy || o.Force == nil || !*o.Force {
			t.Errorf("apply options %+v: want a forced dry run under %s", o, naming.ManagedBy)
		}
		raw, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), `"kind":"`+kind+`"`) {
			return answer
		}
		return nil
	}
	c := cluster(t, interceptor.Funcs{Apply: apply}).(client.Client)
	return Validator{Reader: c, Client: c, DryRun: true, ProxyImage: "proxy:test"}
}

func invalid(kind string, causes ...metav1.StatusCause) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: 422, Reason: metav1.StatusReasonInvalid,
		Message: kind + " is invalid",
		Details: &metav1.StatusDetails{Kind: kind, Causes: causes},
	}}
}

func TestDryRunFailsClosedWhenTheAPIServerCannotAnswer(t *testing.T) {
	v := dryRunValidator(t, "StatefulSet", errors.New("dial tcp 10.0.0.1:443: connect: connection refused"))
	_, err := v.ValidateCreate(context.Background(), server())
	if !apierrors.IsServiceUnavailable(err) {
		t.Fatalf("error %v, want ServiceUnavailable", err)
	}
	want := "could not check the backend StatefulSet fetch this server generates against the API server " +
		"(apply StatefulSet fetch: dial tcp 10.0.0.1:443: connect: connection refused): retry; admission fails closed"
	if d := cmp.Diff(want, err.Error()); d != "" {
		t.Errorf("error (-want +got):\n%s", d)
	}
}

func TestDryRunIsSkippedInATerminatingNamespace(t *testing.T) {
	terminating := apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "statefulsets"}, "fetch",
		errors.New("unable to create new content in namespace tools because it is being terminated"))
	terminating.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause, Field: "tools"}}
	v := dryRunValidator(t, "StatefulSet", terminating)
	if _, err := v.ValidateCreate(context.Background(), server()); err != nil {
		t.Errorf("error %v, want none: nothing will be created in a namespace that is going away", err)
	}
}

func TestDryRunWarnsWhenTheOperatorMayNotManageTheNamespace(t *testing.T) {
	denied := apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts"}, "fetch",
		errors.New(`User "system:serviceaccount:toolhive-system:toolhive-operator" cannot patch resource "serviceaccounts" in API group "" in the namespace "tools"`))
	v := dryRunValidator(t, "ServiceAccount", denied)
	w, err := v.ValidateCreate(context.Background(), server())
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 1 || !strings.HasPrefix(w[0], `the operator may not create the objects of this server in namespace "tools"`) {
		t.Errorf("warnings %q, want one saying the operator may not manage namespace tools", w)
	}
}

func TestDryRunWarnsWhenAnotherWebhookCannotDryRun(t *testing.T) {
	v := dryRunValidator(t, "Deployment", apierrors.NewBadRequest(`admission webhook "policy.example.com" does not support dry run`))
	w, err := v.ValidateCreate(context.Background(), server())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`the proxy Deployment fetch this server generates could not be checked: apply Deployment fetch: admission webhook "policy.example.com" does not support dry run`}
	if d := cmp.Diff(want, []string(w)); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
}

func TestDryRunRefusalsNameTheServersFields(t *testing.T) {
	v := dryRunValidator(t, "StatefulSet", invalid("StatefulSet",
		metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Field: "spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef.name",
			Message: `Invalid value: "My_Secret": a lowercase RFC 1123 subdomain`},
		metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Field: "metadata.ownerReferences",
			Message: `Invalid value: "x": Only one reference can have Controller set to true`},
		metav1.StatusCause{Type: metav1.CauseTypeFieldValueInvalid, Field: "spec.ordinals.start", Message: `Invalid value: -1: must be non-negative`},
	))
	s := server(func(s *v1beta1.MCPServerSpec) { s.Secrets = []v1beta1.SecretRef{{Name: "My_Secret", Key: "token"}} })
	_, err := v.ValidateCreate(context.Background(), s)
	want := `MCPServer.toolhive.stacklok.dev "fetch" is invalid: [` +
		`spec.secrets[0].name: Invalid value: "My_Secret": a lowercase RFC 1123 subdomain (the backend StatefulSet fetch this server generates ` +
		`would be refused at spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef.name): change spec.secrets[0].name, ` +
		`spec.podTemplateSpec: Invalid value: the backend StatefulSet fetch this server generates would be refused: ` +
		`spec.ordinals.start: Invalid value: -1: must be non-negative; it comes from spec.podTemplateSpec: change it there]`
	if err == nil {
		t.Fatal("admitted")
	}
	if d := cmp.Diff(want, err.Error()); d != "" {
		t.Errorf("error (-want +got):\n%s", d)
	}
}

// TestOrigins maps fields of the generated objects to the MCPServer's,
// reading which container and variable an index is from the objects the
// builders generate.
func TestOrigins(t *testing.T) {
	s := server(
		func(s *v1beta1.MCPServerSpec) {
			s.Transport = v1beta1.TransportStreamableHTTP
			s.Env = []v1beta1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}
			s.Secrets = []v1beta1.SecretRef{{Name: "tok", Key: "token", TargetEnvName: "TOKEN"}}
			s.ServiceAccount = ptr.To("runner")
			s.ResourceOverrides = &v1beta1.ResourceOverrides{ProxyDeployment: &v1beta1.ProxyDeploymentOverrides{
				Env: []v1beta1.EnvVar{{Name: "HTTP_PROXY", Value: "x"}},
			}}
			s.SessionStorage = &v1beta1.SessionStorage{Provider: v1beta1.SessionStorageRedis, Address: "redis:6379",
				PasswordRef: &v1beta1.SecretKeyRef{Name: "redis", Key: "password"}}
		},
		template(`{"spec":{"volumes":[{"name":"cache","emptyDir":{}}],"containers":[{"name":"log","image":"busybox","env":[{"name":"X"}]},{"name":"mcp","env":[{"name":"C","value":"3"}]}],"initContainers":[{"name":"setup","image":"busybox"}]}}`),
	)
	tmpl, err := s.Spec.DecodePodTemplate()
	if err != nil {
		t.Fatal(err)
	}
	objs := controller.GeneratedObjects(s, tmpl, "proxy:test", controller.NetworkPolicyOptions{})
	var sts *appsv1.StatefulSet
	var deploy *appsv1.Deployment
	var proxySvc *corev1.Service
	for _, o := range objs {
		switch t := o.(type) {
		case *appsv1.StatefulSet:
			sts = t
		case *appsv1.Deployment:
			deploy = t
		case *corev1.Service:
			if t.Name == naming.ProxyServiceName(s.Name) {
				proxySvc = t
			}
		}
	}
	mcp := slicesIndex(sts.Spec.Template.Spec.Containers, naming.MCPContainer)
	env := slicesIndexEnv
	mcpEnv := sts.Spec.Template.Spec.Containers[mcp].Env
	setup := slicesIndex(sts.Spec.Template.Spec.InitContainers, "setup")
	proxyEnv := deploy.Spec.Template.Spec.Containers[0].Env
	at := func(prefix string, i int, rest string) string { return prefix + "[" + strconv.Itoa(i) + "]" + rest }
	c := "spec.template.spec.containers"
	tests := []struct {
		obj   client.Object
		field string
		want  string
	}{
		{sts, at(c, mcp, at(".env", env(mcpEnv, "B"), ".name")), "spec.env[1].name"},
		{sts, at(c, mcp, at(".env", env(mcpEnv, "TOKEN"), ".name")), "spec.secrets[0].targetEnvName"},
		{sts, at(c, mcp, at(".env", env(mcpEnv, "TOKEN"), ".valueFrom.secretKeyRef.key")), "spec.secrets[0].key"},
		{sts, at(c, mcp, at(".env", env(mcpEnv, "C"), ".value")), "spec.podTemplateSpec.spec.containers[1].env[0].value"},
		{sts, at(c, mcp, at(".env", env(mcpEnv, "MCP_TRANSPORT"), ".name")), ""},
		{sts, at(c, mcp, ".image"), "spec.image"},
		{sts, at(c, mcp, ".args[0]"), "spec.args[0]"},
		{sts, at(c, mcp, ".ports[0].containerPort"), "spec.mcpPort"},
		{sts, at(c, mcp, ".livenessProbe"), "spec.podTemplateSpec.spec.containers[1].livenessProbe"},
		{sts, at(c, slicesIndex(sts.Spec.Template.Spec.Containers, "log"), ".env[0].name"), "spec.podTemplateSpec.spec.containers[0].env[0].name"},
		{sts, at("spec.template.spec.initContainers", setup, ".image"), "spec.podTemplateSpec.spec.initContainers[0].image"},
		{sts, at("spec.template.spec.initContainers", slicesIndex(sts.Spec.Template.Spec.InitContainers, naming.ProxyContainer), ".image"), ""},
		{sts, "spec.template.spec.volumes[0].emptyDir", "spec.podTemplateSpec.spec.volumes[0].emptyDir"},
		{sts, "spec.template.spec.serviceAccountName", "spec.serviceAccount"},
		{sts, "spec.template.spec.dnsPolicy", "spec.podTemplateSpec.spec.dnsPolicy"},
		{sts, "spec.template.metadata.labels", "spec.podTemplateSpec.metadata.labels"},
		{sts, "spec.replicas", "spec.backendReplicas"},
		{sts, "metadata.name", "metadata.name"},
		{sts, "spec.serviceName", ""},
		{deploy, "metadata.labels", "spec.resourceOverrides.proxyDeployment.labels"},
		{deploy, "spec.template.metadata.annotations", "spec.resourceOverrides.proxyDeployment.podTemplateMetadataOverrides.annotations"},
		{deploy, at(c, 0, at(".env", env(proxyEnv, "HTTP_PROXY"), ".name")), "spec.resourceOverrides.proxyDeployment.env[0].name"},
		{deploy, at(c, 0, ".resources.limits[gpu]"), "spec.resources.limits[gpu]"},
		{deploy, "spec.template.spec.tolerations[0].effect", "spec.resourceOverrides.proxyDeployment.tolerations[0].effect"},
		{deploy, "spec.template.spec.terminationGracePeriodSeconds", "spec.podTemplateSpec.spec.terminationGracePeriodSeconds"},
		{deploy, "spec.selector", ""},
		{proxySvc, "metadata.annotations", "spec.resourceOverrides.proxyService.annotations"},
		{proxySvc, "spec.ports[0].port", "spec.proxyPort"},
		{deploy, at(c, 0, at(".env", slicesIndexEnvRef(proxyEnv, "redis", "password"), ".valueFrom.secretKeyRef.key")), "spec.sessionStorage.passwordRef.key"},
	}
	o := origins{s: s, tmpl: tmpl}
	for _, tt := range tests {
		if got := o.path(tt.obj, tt.field); got != tt.want {
			t.Errorf("%T %s: got %q, want %q", tt.obj, tt.field, got, tt.want)
		}
	}
}

func slicesIndex(cs []corev1.Container, name string) int {
	return slices.IndexFunc(cs, func(c corev1.Container) bool { return c.Name == name })
}

func slicesIndexEnv(env []corev1.EnvVar, name string) int {
	return slices.IndexFunc(env, func(e corev1.EnvVar) bool { return e.Name == name })
}

func slicesIndexEnvRef(env []corev1.EnvVar, secret, key string) int {
	return slices.IndexFunc(env, func(e corev1.EnvVar) bool {
		r := e.ValueFrom
		return r != nil && r.SecretKeyRef != nil && r.SecretKeyRef.Name == secret && r.SecretKeyRef.Key == key
	})
}
