package controller

import (
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// observation is everything the status is computed from.
type observation struct {
	proxy       *appsv1.Deployment  // nil until it exists
	backend     *appsv1.StatefulSet // nil until it exists
	pods        []corev1.Pod        // pods of both components
	refs        resolvedRefs
	templateErr error // spec.podTemplateSpec could not be used
	applyErr    error // the API server refused a child object
	// networkPolicies: the server's NetworkPolicies were applied.
	networkPolicies bool
	proxies         []proxyReport // the running proxy pods' health reports
	now             time.Time
}

// readyMessage is the Ready condition's message (and status.message) of a
// server that answers MCP: ToolHive's words, which its users' checks expect.
const readyMessage = "MCP server is running"

// settleTime is how long a container that crashed must run again before
// the server counts as Ready: a crash-looping process is Running for a
// moment at each restart, and Ready=True then would be a lie.
const settleTime = 10 * time.Second

// verdict is the phase with the reason and words of the Ready condition.
type verdict struct {
	phase   v1beta1.MCPServerPhase
	reason  string
	message string
}

// computeStatus derives the status from the (defaulted) server and what was
// observed. It keeps the previous conditions' transition times.
func computeStatus(s *v1beta1.MCPServer, o observation) v1beta1.MCPServerStatus {
	st := v1beta1.MCPServerStatus{
		URL:                 serverURL(s),
		ObservedGeneration:  s.Generation,
		Conditions:          append([]metav1.Condition(nil), s.Status.Conditions...),
		TelemetryConfigHash: o.refs.telemetryHash,
		OIDCConfigHash:      o.refs.oidcHash,
		AuthzConfigHash:     o.refs.authzHash,
		ToolConfigHash:      o.refs.toolHash,
	}
	if o.proxy != nil {
		st.ReadyReplicas = o.proxy.Status.ReadyReplicas
	}
	v := decide(s, o)
	st.Phase, st.Message = v.phase, v.message
	if v.phase == v1beta1.PhaseReady {
		st.ServerInfo = serverInfo(o.proxies)
	}

	set := func(t string, ok bool, reason, msg string) {
		status := metav1.ConditionFalse
		if ok {
			status = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: t, Status: status, Reason: reason, Message: msg, ObservedGeneration: s.Generation,
		})
	}
	set(v1beta1.ConditionReady, v.phase == v1beta1.PhaseReady, v.reason, v.message)

	if o.templateErr != nil {
		set(v1beta1.ConditionPodTemplateValid, false, v1beta1.ReasonPodTemplateInvalid, o.templateErr.Error())
	} else {
		set(v1beta1.ConditionPodTemplateValid, true, v1beta1.ReasonPodTemplateValid, "spec.podTemplateSpec is usable")
	}
	if len(o.refs.missingSecrets) > 0 {
		set(v1beta1.ConditionSecretsResolved, false, o.refs.secretReason(), missingMessage(o.refs.missingSecrets))
	} else {
		set(v1beta1.ConditionSecretsResolved, true, v1beta1.ReasonSecretsFound, "every referenced Secret key exists")
	}
	switch {
	case len(o.refs.invalidConfigs) > 0:
		set(v1beta1.ConditionConfigRefsResolved, false, v1beta1.ReasonConfigRefInvalid, invalidMessage(o.refs.invalidConfigs))
	case len(o.refs.missingConfigs) > 0:
		set(v1beta1.ConditionConfigRefsResolved, false, v1beta1.ReasonConfigRefMissing, missingMessage(o.refs.missingConfigs))
	default:
		set(v1beta1.ConditionConfigRefsResolved, true, v1beta1.ReasonConfigRefsFound, "every referenced config exists and is valid")
	}
	if s.Spec.Transport == v1beta1.TransportStdio {
		set(v1beta1.ConditionStdioReplicaCapped, true, v1beta1.ReasonStdioSingleBackend,
			"a stdio server runs exactly one backend pod; scale the proxy with spec.replicas, or use sse or streamable-http to scale the backend")
	} else {
		set(v1beta1.ConditionStdioReplicaCapped, false, v1beta1.ReasonNotStdio, "the backend scales with spec.backendReplicas")
	}
	ss := s.Spec.CheckSessionStorage()
	set(v1beta1.ConditionSessionStorageWarning, ss.Warning, ss.Reason, ss.Message())
	// Telemetry has its own condition and leaves Ready alone: the server
	// serves without it.
	if s.Spec.TelemetryConfigRef != nil {
		set(v1beta1.ConditionTelemetryConfigRefValidated, o.refs.telemetryReason == v1beta1.ReasonTelemetryConfigRefValid,
			o.refs.telemetryReason, o.refs.telemetryMessage)
	} else {
		meta.RemoveStatusCondition(&st.Conditions, v1beta1.ConditionTelemetryConfigRefValidated)
	}
	// After a failed apply the previous word on NetworkPolicies stands.
	switch {
	case o.networkPolicies:
		set(v1beta1.ConditionNetworkPolicyApplied, true, v1beta1.ReasonNetworkPolicyApplied, networkPolicyMessage(s))
	case o.applyErr == nil:
		meta.RemoveStatusCondition(&st.Conditions, v1beta1.ConditionNetworkPolicyApplied)
	}
	return st
}

// decide walks the chain in the order a user would debug it and stops at the
// first thing that is not right.
func decide(s *v1beta1.MCPServer, o observation) verdict {
	switch {
	case s.DeletionTimestamp != nil:
		return verdict{v1beta1.PhaseTerminating, v1beta1.ReasonTerminating, "the MCPServer is being deleted"}
	case o.templateErr != nil:
		return verdict{v1beta1.PhaseFailed, v1beta1.ReasonPodTemplateInvalid, o.templateErr.Error()}
	case o.applyErr != nil:
		return verdict{v1beta1.PhaseFailed, v1beta1.ReasonApplyFailed, o.applyErr.Error()}
	case isZero(s.Spec.Replicas) || isZero(s.Spec.BackendReplicas):
		return verdict{v1beta1.PhaseStopped, v1beta1.ReasonStopped, "scaled to zero by spec.replicas or spec.backendReplicas"}
	}
	if v, ok := podProblem(o.pods, len(o.refs.missingSecrets) > 0, o.now); ok {
		return v
	}
	if o.proxy != nil {
		if c := deploymentCondition(o.proxy, appsv1.DeploymentReplicaFailure); c != nil && c.Status == corev1.ConditionTrue {
			return verdict{v1beta1.PhaseFailed, v1beta1.ReasonPodCreateFailed,
				fmt.Sprintf("proxy Deployment %s cannot create pods: %s", o.proxy.Name, c.Message)}
		}
	}
	if len(o.refs.missingSecrets) > 0 {
		return verdict{v1beta1.PhasePending, o.refs.secretReason(), missingMessage(o.refs.missingSecrets)}
	}
	if len(o.refs.invalidConfigs) > 0 {
		return verdict{v1beta1.PhaseFailed, v1beta1.ReasonConfigRefInvalid, invalidMessage(o.refs.invalidConfigs)}
	}
	if len(o.refs.missingConfigs) > 0 {
		return verdict{v1beta1.PhasePending, v1beta1.ReasonConfigRefMissing, missingMessage(o.refs.missingConfigs)}
	}
	if b := o.backend; b == nil || b.Status.AvailableReplicas < 1 {
		count := "not created yet"
		if b != nil {
			count = fmt.Sprintf("%s (ready for %d s)", readyCount(b.Status.AvailableReplicas, b.Spec.Replicas), b.Spec.MinReadySeconds)
		}
		return verdict{v1beta1.PhasePending, v1beta1.ReasonBackendNotReady,
			fmt.Sprintf("waiting for backend StatefulSet %s: %s", naming.BackendStatefulSetName(s.Name), count)}
	}
	if p := o.proxy; p == nil || p.Status.ReadyReplicas < 1 {
		count := "not created yet"
		if p != nil {
			count = readyCount(p.Status.ReadyReplicas, p.Spec.Replicas)
		}
		v := verdict{v1beta1.PhasePending, v1beta1.ReasonProxyNotReady,
			fmt.Sprintf("waiting for proxy Deployment %s: %s", naming.ProxyDeploymentName(s.Name), count)}
		if r, ok := notAnswering(o.proxies); ok {
			v.reason, v.message = v1beta1.ReasonMCPNotAnswered, v.message+"; "+r
		}
		return v
	}
	return answered(o.proxies)
}

// podProblem reports the first pod (by name) that cannot run, in words that
// name the pod and container and say what to do.
func podProblem(pods []corev1.Pod, secretsMissing bool, now time.Time) (verdict, bool) {
	sorted := append([]corev1.Pod(nil), pods...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, p := range sorted {
		if p.DeletionTimestamp != nil {
			continue
		}
		what := "backend pod " + p.Name
		if p.Labels[naming.LabelComponent] == string(naming.ComponentProxy) {
			what = "proxy pod " + p.Name
		}
		for _, cs := range containerStatuses(&p) {
			if v, ok := containerProblem(what, &p, cs, secretsMissing, now); ok {
				return v, true
			}
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				return verdict{v1beta1.PhasePending, v1beta1.ReasonUnschedulable,
					fmt.Sprintf("%s cannot be scheduled: %s", what, c.Message)}, true
			}
		}
	}
	return verdict{}, false
}

func containerProblem(what string, p *corev1.Pod, cs corev1.ContainerStatus, secretsMissing bool, now time.Time) (verdict, bool) {
	where := fmt.Sprintf("%s, container %s", what, cs.Name)
	if _, unsettled := settlesIn(cs, now); unsettled {
		last := cs.LastTerminationState.Terminated
		if last.Reason == "OOMKilled" {
			return oomVerdict(where, p, cs.Name), true
		}
		return crashVerdict(where, p, cs, last), true
	}
	if t := cs.State.Terminated; t != nil {
		if t.Reason == "OOMKilled" {
			return oomVerdict(where, p, cs.Name), true
		}
		// Between two restarts a real kubelet reports the exit itself for
		// most of the back-off and CrashLoopBackOff only now and then. An
		// init container that completed is the one exit that is fine.
		if t.ExitCode != 0 || cs.RestartCount > 0 {
			return crashVerdict(where, p, cs, t), true
		}
	}
	w := cs.State.Waiting
	if w == nil {
		return verdict{}, false
	}
	switch w.Reason {
	case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
		return verdict{v1beta1.PhaseFailed, v1beta1.ReasonImagePullFailed, fmt.Sprintf(
			"%s: image %q cannot be pulled (%s: %s); check spec.image (registry, repository and tag) and that the node can pull it (imagePullSecrets, network egress)",
			where, cs.Image, w.Reason, w.Message)}, true
	case "CrashLoopBackOff":
		if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
			return oomVerdict(where, p, cs.Name), true
		}
		return crashVerdict(where, p, cs, cs.LastTerminationState.Terminated), true
	case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
		phase := v1beta1.PhaseFailed
		if secretsMissing {
			phase = v1beta1.PhasePending // it starts by itself once the Secret exists
		}
		return verdict{phase, v1beta1.ReasonContainerConfigError, fmt.Sprintf("%s cannot start: %s", where, w.Message)}, true
	}
	return verdict{}, false
}

// containerStatuses are a pod's init and regular containers' statuses.
func containerStatuses(p *corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
}

// settlesIn says how long until a container running again after a crash
// has run for settleTime; false when it is not such a container.
func settlesIn(cs corev1.ContainerStatus, now time.Time) (time.Duration, bool) {
	run, last := cs.State.Running, cs.LastTerminationState.Terminated
	if run == nil || last == nil || cs.RestartCount == 0 || (last.ExitCode == 0 && last.Reason != "OOMKilled") {
		return 0, false
	}
	left := settleTime - now.Sub(run.StartedAt.Time)
	return left, left > 0
}

// recheckAfter is when the status must be computed again although nothing
// changes: the first container that crashed will then have settled.
func recheckAfter(pods []corev1.Pod, now time.Time) time.Duration {
	var next time.Duration
	for _, p := range pods {
		for _, cs := range containerStatuses(&p) {
			if left, ok := settlesIn(cs, now); ok && (next == 0 || left < next) {
				next = left
			}
		}
	}
	return next
}

// crashVerdict says how a container that keeps exiting last ended (nil
// when unknown) and where its output is.
func crashVerdict(where string, p *corev1.Pod, cs corev1.ContainerStatus, last *corev1.ContainerStateTerminated) verdict {
	exit := ""
	if last != nil {
		exit = fmt.Sprintf(" with exit code %d", last.ExitCode)
		if last.Message != "" {
			exit += fmt.Sprintf(" (%s: %s)", last.Reason, last.Message)
		}
	}
	previous := ""
	if cs.RestartCount > 0 {
		previous = " --previous"
	}
	return verdict{v1beta1.PhaseFailed, v1beta1.ReasonCrashLoop, fmt.Sprintf(
		"%s keeps exiting%s (restarted %d times); see kubectl logs %s -c %s%s, and check spec.args, spec.env and spec.secrets",
		where, exit, cs.RestartCount, p.Name, cs.Name, previous)}
}

func oomVerdict(where string, p *corev1.Pod, container string) verdict {
	limit := "its memory limit"
	for _, c := range p.Spec.Containers {
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && c.Name == container {
			limit = "its memory limit of " + q.String()
		}
	}
	field := "resources.limits.memory of the mcp container in spec.podTemplateSpec"
	if container == naming.ProxyContainer {
		field = "spec.resources.limits.memory"
	}
	return verdict{v1beta1.PhaseFailed, v1beta1.ReasonOOMKilled, fmt.Sprintf(
		"%s was OOMKilled: it used more than %s; raise %s", where, limit, field)}
}

func deploymentCondition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// readyCount says "N of M pods ready" for a workload.
func readyCount(ready int32, replicas *int32) string {
	want := int32(1) // the API server's default when replicas is unset
	if replicas != nil {
		want = *replicas
	}
	return fmt.Sprintf("%d of %d pods ready", ready, want)
}

func isZero(r *int32) bool { return r != nil && *r == 0 }

func missingMessage(missing []string) string {
	return "waiting for " + strings.Join(missing, ", ") + " in the MCPServer's namespace; create it and the server starts by itself"
}

func invalidMessage(invalid []string) string {
	return strings.Join(invalid, "; ") + "; the proxy refuses every request until it is fixed"
}

// serverURL is where in-cluster clients reach the server (design §1).
func serverURL(s *v1beta1.MCPServer) string {
	base := fmt.Sprintf("http://%s.%s.svc.cluster.local:%d", naming.ProxyServiceName(s.Name), s.Namespace, s.Spec.ProxyPort)
	if s.Spec.ExposedAs() == v1beta1.ProxyModeSSE {
		return base + "/sse#" + s.Name
	}
	return base + "/mcp"
}
