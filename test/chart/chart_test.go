// Package chart checks the toolhive-operator Helm chart with the real helm CLI
// (bin/helm, built by hack/install-helm.sh): with default values it installs
// exactly what `kustomize build config/default` installs, and namespace scope
// trades the cluster-wide grant for a Role in each allowed namespace (only
// the metrics endpoint's token and access reviews stay cluster-wide). The
// monitoring objects (Prometheus Operator monitors for the operator and the
// proxies, the Grafana dashboards' ConfigMap) render only when asked for, and
// the dashboards query only series that exist (dashboard_test.go).
package chart

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/switchboard-mcp/switchboard/internal/testenv"
)

const (
	release   = "toolhive-operator"
	namespace = "toolhive-system"
)

// key names an object the way `kubectl get` does.
type key struct{ Kind, Namespace, Name string }

func (k key) String() string { return k.Kind + " " + k.Namespace + "/" + k.Name }

type object = map[string]any

func keyOf(o object) key {
	meta, _ := o["metadata"].(object)
	ns, _ := meta["namespace"].(string)
	name, _ := meta["name"].(string)
	kind, _ := o["kind"].(string)
	return key{kind, ns, name}
}

// kustomize renders config/default as `kubectl apply -k` would, without the
// Namespace: the chart leaves that to `helm install --create-namespace`
// (see hack/gen-chart).
func kustomize(t *testing.T) map[key]object {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(testenv.Root(), "config", "default"))
	if err != nil {
		t.Fatalf("kustomize build config/default: %v", err)
	}
	out := map[key]object{}
	for _, r := range m.Resources() {
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var o object
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatal(err)
		}
		out[keyOf(o)] = o
	}
	if _, ok := out[key{"Namespace", "", namespace}]; !ok {
		t.Fatalf("kustomize no longer renders Namespace %s: update this test", namespace)
	}
	delete(out, key{"Namespace", "", namespace})
	return out
}

// helm runs the real helm CLI from bin/; a missing binary fails the test, as
// a chart test that skips proves nothing.
func helm(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin := filepath.Join(testenv.Root(), "bin", "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: run hack/install-helm.sh (or make helm)", bin)
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Dir = testenv.Root()
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// template runs `helm template toolhive-operator deploy/charts/toolhive-operator`
// with the given flags and decodes every object it prints.
func template(t *testing.T, flags ...string) map[key]object {
	t.Helper()
	stdout, stderr, err := helm(t, append([]string{"template", release, "deploy/charts/toolhive-operator"}, flags...)...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", flags, err, stderr)
	}
	out := map[key]object{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(stdout)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var o object
		if err := yaml.Unmarshal(doc, &o); err != nil {
			t.Fatalf("helm printed invalid YAML: %v\n%s", err, doc)
		}
		if o == nil {
			continue
		}
		k := keyOf(o)
		if _, dup := out[k]; dup {
			t.Errorf("helm rendered %s twice", k)
		}
		out[k] = o
	}
}

// compare reports missing and extra objects, then each object's diff.
func compare(t *testing.T, want, got map[key]object) {
	t.Helper()
	keys := func(m map[key]object) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k.String())
		}
		slices.Sort(ks)
		return ks
	}
	if diff := cmp.Diff(keys(want), keys(got)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	for k, w := range want {
		if g, ok := got[k]; ok {
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("%s (-want +got):\n%s", k, diff)
			}
		}
	}
}

// only returns the one object of this kind.
func only(t *testing.T, objs map[key]object, kind string) object {
	t.Helper()
	var found []key
	for k := range objs {
		if k.Kind == kind {
			found = append(found, k)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s, got %v", kind, found)
	}
	return objs[found[0]]
}

// managerContainer is the operator's container in a Deployment.
func managerContainer(t *testing.T, dep object) object {
	t.Helper()
	spec := dep["spec"].(object)["template"].(object)["spec"].(object)
	for _, c := range spec["containers"].([]any) {
		if c := c.(object); c["name"] == "manager" {
			return c
		}
	}
	t.Fatalf("Deployment %s has no container manager", keyOf(dep))
	return nil
}

func TestDefaultValuesInstallWhatKustomizeInstalls(t *testing.T) {
	compare(t, kustomize(t), template(t, "-n", namespace))
}

func TestNamespaceScopeGrantsRolesOnlyInTheAllowedNamespaces(t *testing.T) {
	want := kustomize(t)
	roleKey, bindingKey := key{"ClusterRole", "", release + "-manager-role"}, key{"ClusterRoleBinding", "", release + "-manager-rolebinding"}
	clusterRole, clusterBinding := want[roleKey], want[bindingKey]
	if clusterRole == nil || clusterBinding == nil {
		t.Fatalf("kustomize renders no %s or %s: update this test", roleKey, bindingKey)
	}
	delete(want, roleKey)
	delete(want, bindingKey)
	for _, ns := range []string{"team-a", "team-b"} {
		want[key{"Role", ns, roleKey.Name}] = object{
			"apiVersion": "rbac.authorization.k8s.io/v1",
			"kind":       "Role",
			"metadata":   object{"name": roleKey.Name, "namespace": ns},
			"rules":      clusterRole["rules"],
		}
		want[key{"RoleBinding", ns, bindingKey.Name}] = object{
			"apiVersion": "rbac.authorization.k8s.io/v1",
			"kind":       "RoleBinding",
			"metadata":   object{"name": bindingKey.Name, "namespace": ns},
			"roleRef":    object{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": roleKey.Name},
			"subjects":   clusterBinding["subjects"],
		}
	}
	dep := only(t, want, "Deployment")
	c := managerContainer(t, dep)
	c["args"] = append(c["args"].([]any), "--watch-namespaces=team-a,team-b")

	got := template(t, "-n", namespace,
		"--set", "operator.rbac.scope=namespace",
		"--set", "operator.rbac.allowedNamespaces={team-a,team-b}")
	for k, o := range got {
		if k.Kind == "ClusterRole" && grantsNamespacedResources(o) {
			t.Errorf("namespace scope still grants namespaced resources cluster-wide: %s", k)
		}
	}
	compare(t, want, got)
}

// grantsNamespacedResources is true for a ClusterRole with a rule other
// than the metrics endpoint's: get /metrics, create token and access reviews.
func grantsNamespacedResources(role object) bool {
	reviews := map[string]bool{"authentication.k8s.io/tokenreviews": true, "authorization.k8s.io/subjectaccessreviews": true}
	rules, _ := role["rules"].([]any)
	for _, r := range rules {
		rule := r.(object)
		if urls, _ := rule["nonResourceURLs"].([]any); slices.Equal(urls, []any{"/metrics"}) {
			continue
		}
		groups, _ := rule["apiGroups"].([]any)
		resources, _ := rule["resources"].([]any)
		for _, g := range groups {
			for _, res := range resources {
				if !reviews[g.(string)+"/"+res.(string)] {
					return true
				}
			}
		}
	}
	return false
}

func TestImageValuesSetTheOperatorAndProxyImages(t *testing.T) {
	dep := only(t, kustomize(t), "Deployment")
	c := managerContainer(t, dep)
	c["image"] = "registry.example/manager:v1"
	c["imagePullPolicy"] = "Always"
	args := c["args"].([]any)
	i := slices.IndexFunc(args, func(a any) bool { return strings.HasPrefix(a.(string), "--proxy-image=") })
	if i < 0 {
		t.Fatalf("kustomize's operator has no --proxy-image: %v", args)
	}
	args[i] = "--proxy-image=registry.example/proxy:v2"

	got := only(t, template(t, "-n", namespace,
		"--set", "operator.image.repository=registry.example/manager",
		"--set", "operator.image.tag=v1",
		"--set", "operator.image.pullPolicy=Always",
		"--set", "operator.proxyImage.repository=registry.example/proxy",
		"--set", "operator.proxyImage.tag=v2"), "Deployment")
	if diff := cmp.Diff(dep, got); diff != "" {
		t.Errorf("Deployment (-want +got):\n%s", diff)
	}
}

// Chart values that pass an operator flag: the Deployment is kustomize's
// with that flag added, nothing else.
func TestChartValuesPassTheOperatorFlags(t *testing.T) {
	for _, tc := range []struct{ value, flag string }{
		{"networkPolicy.defaultEnabled=true", "--network-policy-default"},
		{"operator.maxConcurrentReconciles=25", "--max-concurrent-reconciles=25"},
		{"operator.admissionDryRun=true", "--admission-dry-run"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			dep := only(t, kustomize(t), "Deployment")
			c := managerContainer(t, dep)
			c["args"] = append(c["args"].([]any), tc.flag)

			got := only(t, template(t, "-n", namespace, "--set", tc.value), "Deployment")
			if diff := cmp.Diff(dep, got); diff != "" {
				t.Errorf("Deployment (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnotherReleaseNamespaceMovesEveryReferenceToIt(t *testing.T) {
	objs := template(t, "-n", "mcp-operator")
	for k, o := range objs {
		if k.Kind == "CustomResourceDefinition" {
			continue
		}
		b, _ := json.Marshal(o)
		if bytes.Contains(b, []byte(namespace)) {
			t.Errorf("%s still names %s: %s", k, namespace, b)
		}
	}
	cert := only(t, objs, "Certificate")
	dnsNames := cert["spec"].(object)["dnsNames"].([]any)
	if !slices.Contains(dnsNames, any("toolhive-operator-webhook-service.mcp-operator.svc")) {
		t.Errorf("Certificate dnsNames %v lack the webhook Service in mcp-operator", dnsNames)
	}
}

func TestTheChartRejectsValuesItCannotHonour(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  []string
		want string
	}{
		{"an unknown scope", []string{"operator.rbac.scope=tenant"}, `operator.rbac.scope is "tenant"`},
		{"namespace scope without namespaces", []string{"operator.rbac.scope=namespace"}, "needs operator.rbac.allowedNamespaces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"template", release, "deploy/charts/toolhive-operator", "-n", namespace}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			_, stderr, err := helm(t, args...)
			if err == nil || !strings.Contains(stderr, tc.want) {
				t.Errorf("helm template --set %v: err %v, stderr %q; want a failure saying %q", tc.set, err, stderr, tc.want)
			}
		})
	}
}

func TestTheChartLints(t *testing.T) {
	for _, set := range []string{
		"operator.rbac.scope=cluster",
		"operator.rbac.scope=namespace,operator.rbac.allowedNamespaces={a}",
		"metrics.serviceMonitor.enabled=true,metrics.proxyMonitor.enabled=true,grafana.dashboard.enabled=true",
	} {
		if stdout, stderr, err := helm(t, "lint", "--strict", "deploy/charts/toolhive-operator", "--set", set); err != nil {
			t.Errorf("helm lint --set %s: %v\n%s%s", set, err, stdout, stderr)
		}
	}
}

// monitoringOn turns on every monitoring object of the chart.
var monitoringOn = []string{
	"--set", "metrics.serviceMonitor.enabled=true",
	"--set", "metrics.serviceMonitor.labels.release=kube-prometheus-stack",
	"--set", "metrics.proxyMonitor.enabled=true",
	"--set", "metrics.proxyMonitor.labels.release=kube-prometheus-stack",
	"--set", "metrics.proxyMonitor.interval=15s",
	"--set", "grafana.dashboard.enabled=true",
}

func TestMonitoringIsOffByDefault(t *testing.T) {
	for k := range template(t, "-n", namespace) {
		if k.Kind == "ServiceMonitor" || k.Kind == "PodMonitor" || k.Kind == "ConfigMap" {
			t.Errorf("default values render %s", k)
		}
	}
}

// The ServiceMonitor scrapes the operator's metrics Service, and only it,
// as kubebuilder's config/prometheus/monitor.yaml does: HTTPS with
// Prometheus's own token.
func TestServiceMonitorScrapesTheOperatorsMetricsService(t *testing.T) {
	objs := template(t, append([]string{"-n", namespace}, monitoringOn...)...)
	sm := only(t, objs, "ServiceMonitor")
	if got := keyOf(sm); got != (key{"ServiceMonitor", namespace, release + "-controller-manager-metrics-monitor"}) {
		t.Errorf("ServiceMonitor is %s", got)
	}
	if got := sm["metadata"].(object)["labels"].(object)["release"]; got != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor label release = %v, want the value's kube-prometheus-stack", got)
	}
	spec := sm["spec"].(object)
	var selected []key
	for k, o := range objs {
		if k.Kind == "Service" && k.Namespace == namespace && matches(spec["selector"].(object)["matchLabels"].(object), o) {
			selected = append(selected, k)
		}
	}
	metricsService := key{"Service", namespace, release + "-controller-manager-metrics-service"}
	if !slices.Equal(selected, []key{metricsService}) {
		t.Fatalf("the ServiceMonitor selects %v, want only %s", selected, metricsService)
	}
	ports := objs[metricsService]["spec"].(object)["ports"].([]any)
	want := []any{object{
		"port":            ports[0].(object)["name"],
		"scheme":          "https",
		"path":            "/metrics",
		"interval":        "30s",
		"honorLabels":     true,
		"bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",
		"tlsConfig":       object{"insecureSkipVerify": true},
	}}
	if diff := cmp.Diff(want, spec["endpoints"]); diff != "" {
		t.Errorf("ServiceMonitor endpoints (-want +got):\n%s", diff)
	}

	// Where a monitor may not read Prometheus's token file, a Secret's token.
	sm = only(t, template(t, "-n", namespace, "--set", "metrics.serviceMonitor.enabled=true",
		"--set", "metrics.serviceMonitor.authorization.type=Bearer",
		"--set", "metrics.serviceMonitor.authorization.credentials.name=prometheus-token",
		"--set", "metrics.serviceMonitor.authorization.credentials.key=token"), "ServiceMonitor")
	endpoint := sm["spec"].(object)["endpoints"].([]any)[0].(object)
	if _, ok := endpoint["bearerTokenFile"]; ok {
		t.Errorf("with authorization set the endpoint still has bearerTokenFile: %v", endpoint)
	}
	wantAuth := object{"type": "Bearer", "credentials": object{"name": "prometheus-token", "key": "token"}}
	if diff := cmp.Diff(wantAuth, endpoint["authorization"]); diff != "" {
		t.Errorf("authorization (-want +got):\n%s", diff)
	}
}

// matches tells whether an object carries every label of a selector.
func matches(selector object, o object) bool {
	labels, _ := o["metadata"].(object)["labels"].(object)
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// The PodMonitor selects the proxy pods of every MCPServer by the labels the
// operator gives them (design.md: name mcpserver, a component label, the
// managed-by label), never the backend pods (component mcp), on the proxy
// container's port http, and names each series' MCPServer.
func TestPodMonitorScrapesEveryProxy(t *testing.T) {
	pm := only(t, template(t, append([]string{"-n", namespace}, monitoringOn...)...), "PodMonitor")
	if got := keyOf(pm); got != (key{"PodMonitor", namespace, release + "-mcp-proxies"}) {
		t.Errorf("PodMonitor is %s", got)
	}
	want := object{
		"selector": object{"matchLabels": object{
			"app.kubernetes.io/name":       "mcpserver",
			"app.kubernetes.io/component":  "proxy",
			"app.kubernetes.io/managed-by": "switchboard",
		}},
		"namespaceSelector": object{"any": true},
		"podMetricsEndpoints": []any{object{
			"port":     "http",
			"path":     "/metrics",
			"interval": "15s",
			"relabelings": []any{object{
				"action":       "replace",
				"sourceLabels": []any{"__meta_kubernetes_pod_label_app_kubernetes_io_instance"},
				"targetLabel":  "mcpserver",
			}},
		}},
	}
	if diff := cmp.Diff(want, pm["spec"]); diff != "" {
		t.Errorf("PodMonitor spec (-want +got):\n%s", diff)
	}

	// In namespace scope the operator runs proxies only in the allowed
	// namespaces, and Prometheus need look nowhere else.
	pm = only(t, template(t, append([]string{"-n", namespace,
		"--set", "operator.rbac.scope=namespace", "--set", "operator.rbac.allowedNamespaces={team-a,team-b}"}, monitoringOn...)...), "PodMonitor")
	if diff := cmp.Diff(object{"matchNames": []any{"team-a", "team-b"}}, pm["spec"].(object)["namespaceSelector"]); diff != "" {
		t.Errorf("namespace scope: namespaceSelector (-want +got):\n%s", diff)
	}
}

// The dashboards' ConfigMap carries the Grafana sidecar's label and every
// dashboard of the chart, as it is in dashboards/, valid JSON.
func TestGrafanaDashboardConfigMapHoldsTheDashboards(t *testing.T) {
	cm := only(t, template(t, "-n", namespace, "--set", "grafana.dashboard.enabled=true",
		"--set", "grafana.dashboard.namespace=monitoring",
		"--set", "grafana.dashboard.annotations.grafana_folder=MCP"), "ConfigMap")
	if got := keyOf(cm); got != (key{"ConfigMap", "monitoring", release + "-grafana-dashboards"}) {
		t.Errorf("ConfigMap is %s", got)
	}
	meta := cm["metadata"].(object)
	if got := meta["labels"].(object)["grafana_dashboard"]; got != "1" {
		t.Errorf("label grafana_dashboard = %#v, want \"1\"", got)
	}
	if got := meta["annotations"].(object)["grafana_folder"]; got != "MCP" {
		t.Errorf("annotation grafana_folder = %#v, want MCP", got)
	}
	files, err := filepath.Glob(filepath.Join(testenv.Root(), "deploy", "charts", "toolhive-operator", "dashboards", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in the chart: %v", err)
	}
	data := cm["data"].(object)
	if len(data) != len(files) {
		t.Errorf("the ConfigMap holds %d dashboards, the chart %d", len(data), len(files))
	}
	for _, f := range files {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := data[filepath.Base(f)].(string)
		if got != string(want) {
			t.Errorf("the ConfigMap's %s differs from the chart's file", filepath.Base(f))
		}
		var d object
		if err := json.Unmarshal([]byte(got), &d); err != nil {
			t.Errorf("%s is not JSON: %v", filepath.Base(f), err)
		}
	}
}
