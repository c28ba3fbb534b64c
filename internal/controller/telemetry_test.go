package controller_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// proxyPod waits until the proxy Deployment's pod template passes ok.
func proxyPod(t *testing.T, ns, server, what string, ok func(corev1.PodTemplateSpec) error) corev1.PodTemplateSpec {
	t.Helper()
	var dep appsv1.Deployment
	eventually(t, what, func() error {
		if err := get(t, ns, server, &dep); err != nil {
			return err
		}
		return ok(dep.Spec.Template)
	})
	return dep.Spec.Template
}

// hasArgs: the proxy container has every one of args.
func hasArgs(args ...string) func(corev1.PodTemplateSpec) error {
	return func(p corev1.PodTemplateSpec) error {
		got := p.Spec.Containers[0].Args
		for _, a := range args {
			if !slices.Contains(got, a) {
				return fmt.Errorf("args %v lack %s", got, a)
			}
		}
		return nil
	}
}

// exportsNothing: the proxy is given no telemetry flag.
func exportsNothing(p corev1.PodTemplateSpec) error {
	for _, a := range p.Spec.Containers[0].Args {
		if strings.HasPrefix(a, "--otel") {
			return fmt.Errorf("the proxy is told %s", a)
		}
	}
	return nil
}

func telemetryIs(reason, says string) func(v1beta1.MCPServerStatus) error {
	return func(st v1beta1.MCPServerStatus) error {
		c := condition(st, v1beta1.ConditionTelemetryConfigRefValidated)
		if c == nil || c.Reason != reason || !strings.Contains(c.Message, says) {
			return fmt.Errorf("TelemetryConfigRefValidated = %+v, want %s saying %q", c, reason, says)
		}
		return nil
	}
}

func otelSpec(endpoint string) v1beta1.MCPTelemetryConfigSpec {
	return v1beta1.MCPTelemetryConfigSpec{OpenTelemetry: &v1beta1.MCPTelemetryOTelConfig{
		Enabled: true, Endpoint: endpoint, UseLegacyAttributes: true,
		Tracing: &v1beta1.OpenTelemetryTracingConfig{Enabled: true, SamplingRate: "0.1"},
		Metrics: &v1beta1.OpenTelemetryMetricsConfig{Enabled: true},
		SensitiveHeaders: []v1beta1.SensitiveHeader{
			{Name: "Authorization", SecretKeyRef: v1beta1.SecretKeyRef{Name: "otel-auth", Key: "bearer"}},
		},
	}}
}

func updateTelemetry(t *testing.T, ns, name string, change func(*v1beta1.MCPTelemetryConfig)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var c v1beta1.MCPTelemetryConfig
		if err := get(t, ns, name, &c); err != nil {
			return err
		}
		change(&c)
		return k8s.Update(ctx, &c)
	})
	if err != nil {
		t.Fatalf("update MCPTelemetryConfig %s: %v", name, err)
	}
}

// TestTelemetryConfigReachesTheProxy: the referenced config becomes the
// proxy's flags, a header Secret env var and a CA bundle volume; an edit of
// the config, of the Secret or of the CA bundle rolls the proxy; the
// config's status names the server, whose status repeats its hash.
func TestTelemetryConfigReachesTheProxy(t *testing.T) {
	ns := namespace(t)
	auth := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "otel-auth"}, StringData: map[string]string{"bearer": "one"}}
	ca := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "otel-ca"}, Data: map[string]string{"ca.crt": "PEM one"}}
	spec := otelSpec("https://collector.monitoring:4318")
	spec.OpenTelemetry.CABundleRef = &v1beta1.CABundleSource{ConfigMapRef: &v1beta1.ConfigMapKeySelector{Name: "otel-ca"}}
	otel := &v1beta1.MCPTelemetryConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "otel"}, Spec: spec}
	for _, obj := range []client.Object{auth, ca, otel} {
		if err := k8s.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	createServer(t, ns, "traced", v1beta1.MCPServerSpec{Image: "example/traced:1", Transport: v1beta1.TransportStreamableHTTP,
		Audit:              &v1beta1.AuditConfig{Enabled: true},
		TelemetryConfigRef: &v1beta1.MCPTelemetryConfigReference{Name: "otel", ServiceName: "traced-prod"}})

	first := proxyPod(t, ns, "traced", "telemetry flags, header env and CA volume", exportsToTheCollector)
	waitValid(t, ns, "otel", otel, func() v1beta1.ConfigStatus { return otel.Status },
		validIs(metav1.ConditionTrue, "can enforce", otel.GetGeneration, "traced"))
	statusOf(t, ns, "traced", "the server's status repeats the config's hash", func(st v1beta1.MCPServerStatus) error {
		if err := telemetryIs(v1beta1.ReasonTelemetryConfigRefValid, "exports traces and metrics to collector.monitoring:4318")(st); err != nil {
			return err
		}
		if st.TelemetryConfigHash != otel.Status.ConfigHash {
			return fmt.Errorf("telemetryConfigHash %q, the config's hash is %q", st.TelemetryConfigHash, otel.Status.ConfigHash)
		}
		return nil
	})

	// A rotated credential or CA bundle rolls the proxy through its hash.
	hash := first.Annotations["switchboard.dev/secrets-hash"]
	auth.StringData = map[string]string{"bearer": "two"}
	if err := k8s.Update(ctx, auth); err != nil {
		t.Fatal(err)
	}
	p := proxyPod(t, ns, "traced", "a header Secret rotation rolls the proxy", func(p corev1.PodTemplateSpec) error {
		if h := p.Annotations["switchboard.dev/secrets-hash"]; h == "" || h == hash {
			return fmt.Errorf("secrets hash %q, was %q", h, hash)
		}
		return nil
	})
	hash = p.Annotations["switchboard.dev/secrets-hash"]
	ca.Data["ca.crt"] = "PEM two"
	if err := k8s.Update(ctx, ca); err != nil {
		t.Fatal(err)
	}
	proxyPod(t, ns, "traced", "a CA bundle edit rolls the proxy", func(p corev1.PodTemplateSpec) error {
		if h := p.Annotations["switchboard.dev/secrets-hash"]; h == hash {
			return fmt.Errorf("secrets hash still %q", h)
		}
		return nil
	})

	// An edit of the config changes the pod template: the proxy rolls.
	updateTelemetry(t, ns, "otel", func(c *v1beta1.MCPTelemetryConfig) { c.Spec.OpenTelemetry.Tracing.SamplingRate = "0.5" })
	proxyPod(t, ns, "traced", "the edited sampling rate", hasArgs("--otel-sampling-rate=0.5"))
}

// TestServerRunsWithoutItsTelemetryConfig: a missing or invalid telemetry
// config, or a missing header Secret, costs the export, never the server;
// the condition says which, and the export starts once all is there.
func TestServerRunsWithoutItsTelemetryConfig(t *testing.T) {
	ns := namespace(t)
	createServer(t, ns, "untraced", v1beta1.MCPServerSpec{Image: "example/untraced:1", Transport: v1beta1.TransportStreamableHTTP,
		TelemetryConfigRef: &v1beta1.MCPTelemetryConfigReference{Name: "later"}})
	statusOf(t, ns, "untraced", "telemetry config not found", telemetryIs(v1beta1.ReasonTelemetryConfigRefNotFound, `MCPTelemetryConfig "later" (spec.telemetryConfigRef) not found`))
	proxyPod(t, ns, "untraced", "a proxy without telemetry", exportsNothing)

	// No kube-controller-manager runs in envtest: play its part.
	dep, sts := workloads(t, ns, "untraced", "workloads", nil)
	sts.Status = appsv1.StatefulSetStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, CurrentReplicas: 1, UpdatedReplicas: 1}
	if err := k8s.Status().Update(ctx, sts); err != nil {
		t.Fatal(err)
	}
	dep.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 1}
	if err := k8s.Status().Update(ctx, dep); err != nil {
		t.Fatal(err)
	}
	st := statusOf(t, ns, "untraced", "ready without its telemetry", readyIs(v1beta1.PhaseReady, v1beta1.ReasonReady, "MCP server is running"))
	if c := condition(st, v1beta1.ConditionConfigRefsResolved); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("ConfigRefsResolved = %+v: the server does not wait for its telemetry", c)
	}
	eventually(t, "a warning event", func() error {
		var evs eventsv1.EventList
		if err := k8s.List(ctx, &evs, client.InNamespace(ns)); err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.Regarding.Name == "untraced" && e.Reason == v1beta1.ReasonTelemetryConfigRefNotFound && e.Type == corev1.EventTypeWarning {
				return nil
			}
		}
		return fmt.Errorf("no TelemetryConfigRefNotFound warning among %d events", len(evs.Items))
	})

	// No webhook in this suite: an invalid config reaches the controller,
	// as it would while the webhook is down.
	spec := otelSpec("collector.monitoring:4318")
	spec.OpenTelemetry.Tracing, spec.OpenTelemetry.Metrics = nil, nil
	later := &v1beta1.MCPTelemetryConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later"}, Spec: spec}
	if err := k8s.Create(ctx, later); err != nil {
		t.Fatal(err)
	}
	statusOf(t, ns, "untraced", "telemetry config invalid", telemetryIs(v1beta1.ReasonTelemetryConfigRefInvalid, "needs tracing.enabled or metrics.enabled"))
	waitValid(t, ns, "later", later, func() v1beta1.ConfigStatus { return later.Status },
		validIs(metav1.ConditionFalse, "needs tracing.enabled or metrics.enabled", later.GetGeneration, "untraced"))

	updateTelemetry(t, ns, "later", func(c *v1beta1.MCPTelemetryConfig) { c.Spec = otelSpec("collector.monitoring:4318") })
	statusOf(t, ns, "untraced", "the header Secret missing", telemetryIs(v1beta1.ReasonTelemetryConfigRefNotFound,
		`waiting for Secret "otel-auth" (spec.openTelemetry.sensitiveHeaders[0].secretKeyRef of MCPTelemetryConfig "later")`))
	proxyPod(t, ns, "untraced", "still a proxy without telemetry", exportsNothing)
	statusOf(t, ns, "untraced", "still ready", readyIs(v1beta1.PhaseReady, v1beta1.ReasonReady, "MCP server is running"))

	auth := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "otel-auth"}, StringData: map[string]string{"bearer": "b"}}
	if err := k8s.Create(ctx, auth); err != nil {
		t.Fatal(err)
	}
	proxyPod(t, ns, "untraced", "the export once all is there", hasArgs("--otel-endpoint=collector.monitoring:4318"))
	statusOf(t, ns, "untraced", "telemetry valid", telemetryIs(v1beta1.ReasonTelemetryConfigRefValid, "exports traces and metrics"))
}

// exportsToTheCollector: the flags, the header's env var and the CA bundle
// volume of TestTelemetryConfigReachesTheProxy.
func exportsToTheCollector(p corev1.PodTemplateSpec) error {
	if err := hasArgs("--audit=true", "--otel-endpoint=collector.monitoring:4318", "--otel-protocol=http/protobuf",
		"--otel-tracing=true", "--otel-metrics=true", "--otel-sampling-rate=0.1", "--otel-service-name=traced-prod",
		"--otel-secret-header=Authorization=SWITCHBOARD_OTEL_HEADER_0", "--otel-ca-bundle=/config/certs/otel/otel-ca/ca.crt",
		"--otel-legacy-attributes=true")(p); err != nil {
		return err
	}
	c := p.Spec.Containers[0]
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
		return e.Name == "SWITCHBOARD_OTEL_HEADER_0" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
			e.ValueFrom.SecretKeyRef.Name == "otel-auth" && e.ValueFrom.SecretKeyRef.Key == "bearer"
	}) {
		return fmt.Errorf("env %+v lacks the header from Secret otel-auth", c.Env)
	}
	if len(p.Spec.Volumes) != 1 || p.Spec.Volumes[0].Name != "otel-ca-bundle-otel-ca" ||
		len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/config/certs/otel/otel-ca" || !c.VolumeMounts[0].ReadOnly {
		return fmt.Errorf("volumes %+v, mounts %+v", p.Spec.Volumes, c.VolumeMounts)
	}
	return nil
}
