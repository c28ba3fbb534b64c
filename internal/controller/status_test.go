package controller

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

var testNow = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

func readyWorkloads() observation {
	return observation{
		now:     testNow,
		proxy:   &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "osv"}, Status: appsv1.DeploymentStatus{ReadyReplicas: 2}},
		backend: &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "osv"}, Status: appsv1.StatefulSetStatus{ReadyReplicas: 1, AvailableReplicas: 1}},
	}
}

func podWaiting(name, component, container, reason, msg string) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/component": component}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: container, Image: "ghcr.io/example/osv:1", RestartCount: 4,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}},
		}}},
	}
}

func TestPhaseFromTheWholeChain(t *testing.T) {
	oom := podWaiting("osv-0", "mcp", "mcp", "CrashLoopBackOff", "back-off")
	oom.Status.ContainerStatuses[0].LastTerminationState.Terminated.Reason = "OOMKilled"
	oom.Spec.Containers = []corev1.Container{{Name: "mcp", Resources: corev1.ResourceRequirements{
		Limits: corev1.ResourceList{"memory": resource.MustParse("128Mi")}}}}
	exited := podWaiting("osv-0", "mcp", "mcp", "", "")
	exited.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}
	startError := podWaiting("osv-0", "mcp", "mcp", "CrashLoopBackOff", "back-off")
	startError.Status.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
		ExitCode: 128, Reason: "StartError", Message: "unable to set memory limit to 2097152 (current usage: 2756608)"}
	initDone := podWaiting("osv-0", "mcp", "mcp", "", "")
	initDone.Status.ContainerStatuses = nil
	initDone.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "setup",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}}
	// A crash-looping container is Running for a moment at each restart.
	runningAgain := func(ago time.Duration, last corev1.ContainerStateTerminated) corev1.Pod {
		p := podWaiting("osv-0", "mcp", "mcp", "", "")
		cs := &p.Status.ContainerStatuses[0]
		cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(testNow.Add(-ago))}}
		cs.LastTerminationState.Terminated = &last
		return p
	}
	unschedulable := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "osv-0"}, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: 1 Insufficient memory."}}}}

	tests := []struct {
		name        string
		server      *v1beta1.MCPServer
		obs         func(o *observation)
		wantPhase   v1beta1.MCPServerPhase
		wantReason  string
		wantMessage string
	}{
		{"ready when both workloads have ready pods", newServer(), nil, v1beta1.PhaseReady, "Ready", "MCP server is running"},
		{"pending until the backend is created", newServer(), func(o *observation) { o.backend = nil },
			v1beta1.PhasePending, "BackendNotReady", "waiting for backend StatefulSet osv: not created yet"},
		{"pending while the backend pod has not been ready for minReadySeconds", newServer(), func(o *observation) {
			o.backend.Spec.MinReadySeconds = 5
			o.backend.Status.AvailableReplicas = 0
		}, v1beta1.PhasePending, "BackendNotReady", "waiting for backend StatefulSet osv: 0 of 1 pods ready (ready for 5 s)"},
		{"pending while the proxy has no ready pod", newServer(), func(o *observation) {
			o.proxy.Status.ReadyReplicas = 0
			o.proxy.Spec.Replicas = ptr.To[int32](2)
		}, v1beta1.PhasePending, "ProxyNotReady", "waiting for proxy Deployment osv: 0 of 2 pods ready"},
		{"failed on an image pull error, naming the pod and image", newServer(), func(o *observation) {
			o.pods = []corev1.Pod{podWaiting("osv-0", "mcp", "mcp", "ImagePullBackOff", "Back-off pulling image")}
		}, v1beta1.PhaseFailed, "ImagePullFailed", `backend pod osv-0, container mcp: image "ghcr.io/example/osv:1" cannot be pulled (ImagePullBackOff: Back-off pulling image); check spec.image`},
		{"failed on a crash loop, saying where the logs are", newServer(), func(o *observation) {
			o.pods = []corev1.Pod{podWaiting("osv-7d9f-abc", "proxy", "toolhive", "CrashLoopBackOff", "back-off")}
		}, v1beta1.PhaseFailed, "CrashLoopBackOff", "proxy pod osv-7d9f-abc, container toolhive keeps exiting with exit code 2 (restarted 4 times); see kubectl logs osv-7d9f-abc -c toolhive --previous"},
		{"failed on a crash loop between restarts, when the kubelet shows the exit itself", newServer(), func(o *observation) {
			o.backend.Status.ReadyReplicas, o.backend.Status.AvailableReplicas = 0, 0
			o.pods = []corev1.Pod{exited}
		}, v1beta1.PhaseFailed, "CrashLoopBackOff", "backend pod osv-0, container mcp keeps exiting with exit code 1 (restarted 4 times); see kubectl logs osv-0 -c mcp --previous"},
		{"failed on a crash loop while running again for a moment", newServer(), func(o *observation) {
			o.pods = []corev1.Pod{runningAgain(2*time.Second, corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"})}
		}, v1beta1.PhaseFailed, "CrashLoopBackOff", "backend pod osv-0, container mcp keeps exiting with exit code 1 (restarted 4 times)"},
		{"OOM-killed while running again for a moment", newServer(), func(o *observation) {
			o.pods = []corev1.Pod{runningAgain(2*time.Second, corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"})}
		}, v1beta1.PhaseFailed, "OOMKilled", "backend pod osv-0, container mcp was OOMKilled"},
		{"ready once a container that crashed has run for the settle time", newServer(), func(o *observation) {
			o.pods = []corev1.Pod{runningAgain(settleTime, corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"})}
		}, v1beta1.PhaseReady, "Ready", "MCP server is running"},
		{"a container that exited cleanly and runs again is no crash", newServer(), func(o *observation) {
			o.pods = []corev1.Pod{runningAgain(time.Second, corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"})}
		}, v1beta1.PhaseReady, "Ready", "MCP server is running"},
		{"failed on a crash loop, with what the runtime said when it could not start", newServer(), func(o *observation) { o.pods = []corev1.Pod{startError} },
			v1beta1.PhaseFailed, "CrashLoopBackOff", "keeps exiting with exit code 128 (StartError: unable to set memory limit to 2097152 (current usage: 2756608))"},
		{"failed when the runtime cannot start the container", newServer(), func(o *observation) {
			o.pods = []corev1.Pod{podWaiting("osv-0", "mcp", "mcp", "RunContainerError", `exec: "osv": executable file not found in $PATH`)}
		}, v1beta1.PhaseFailed, "ContainerConfigError", `backend pod osv-0, container mcp cannot start: exec: "osv": executable file not found in $PATH`},
		{"an init container that completed is no problem", newServer(), func(o *observation) { o.pods = []corev1.Pod{initDone} },
			v1beta1.PhaseReady, "Ready", "MCP server is running"},
		{"failed on an OOM kill, saying which limit to raise", newServer(), func(o *observation) { o.pods = []corev1.Pod{oom} },
			v1beta1.PhaseFailed, "OOMKilled", "backend pod osv-0, container mcp was OOMKilled: it used more than its memory limit of 128Mi; raise resources.limits.memory of the mcp container in spec.podTemplateSpec"},
		{"pending on a missing secret even while the pod cannot start", newServer(), func(o *observation) {
			o.refs.missingSecrets = []string{`Secret "github-token"`}
			o.pods = []corev1.Pod{podWaiting("osv-0", "mcp", "mcp", "CreateContainerConfigError", `secret "github-token" not found`)}
		}, v1beta1.PhasePending, "ContainerConfigError", `backend pod osv-0, container mcp cannot start: secret "github-token" not found`},
		{"pending on a missing secret before any pod exists", newServer(), func(o *observation) {
			o.refs.missingSecrets, o.refs.secretAbsent = []string{`Secret "github-token"`}, true
			o.backend = nil
		}, v1beta1.PhasePending, "SecretNotFound", `waiting for Secret "github-token" in the MCPServer's namespace`},
		{"pending on a missing key of a secret that exists", newServer(), func(o *observation) {
			o.refs.missingSecrets = []string{`key "token" in Secret "github-token"`}
			o.backend = nil
		}, v1beta1.PhasePending, "SecretKeyNotFound", `waiting for key "token" in Secret "github-token" in the MCPServer's namespace`},
		{"pending on a missing tool config", newServer(), func(o *observation) {
			o.refs.missingConfigs = []string{`MCPToolConfig "filters" (spec.toolConfigRef)`}
		}, v1beta1.PhasePending, "ConfigRefNotFound", `waiting for MCPToolConfig "filters" (spec.toolConfigRef)`},
		{"failed on an invalid policy: the proxy refuses every request until it is fixed", newServer(), func(o *observation) {
			o.refs.invalidConfigs = []string{`MCPAuthzConfig "cedar" is invalid: spec.config.policies[0]: line 1, column 18: unexpected token`}
		}, v1beta1.PhaseFailed, "ConfigRefInvalid", `MCPAuthzConfig "cedar" is invalid: spec.config.policies[0]: line 1, column 18: unexpected token; the proxy refuses every request until it is fixed`},
		{"pending when no node fits the pod", newServer(), func(o *observation) {
			o.backend.Status.ReadyReplicas, o.backend.Status.AvailableReplicas = 0, 0
			o.pods = []corev1.Pod{unschedulable}
		}, v1beta1.PhasePending, "Unschedulable", "backend pod osv-0 cannot be scheduled: 0/1 nodes are available: 1 Insufficient memory."},
		{"failed when a quota stops the proxy pods", newServer(), func(o *observation) {
			o.proxy.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue,
				Message: `pods "osv-x" is forbidden: exceeded quota: compute`}}
		}, v1beta1.PhaseFailed, "PodCreateFailed", "proxy Deployment osv cannot create pods: pods \"osv-x\" is forbidden: exceeded quota: compute"},
		{"stopped when scaled to zero", newServer(func(s *v1beta1.MCPServer) { s.Spec.Replicas = ptr.To[int32](0) }), nil,
			v1beta1.PhaseStopped, "Stopped", "scaled to zero"},
		{"failed on an unusable pod template", newServer(), func(o *observation) {
			o.templateErr = errors.New(`spec.podTemplateSpec: unknown field "spec.containerz"`)
		},
			v1beta1.PhaseFailed, "InvalidPodTemplateSpec", `unknown field "spec.containerz"`},
		{"terminating while deleted", newServer(func(s *v1beta1.MCPServer) { s.DeletionTimestamp = &metav1.Time{} }), nil,
			v1beta1.PhaseTerminating, "Terminating", "being deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := readyWorkloads()
			if tt.obs != nil {
				tt.obs(&o)
			}
			st := computeStatus(tt.server, o)
			ready := conditionOf(st, v1beta1.ConditionReady)
			if st.Phase != tt.wantPhase || ready.Reason != tt.wantReason || !strings.Contains(st.Message, tt.wantMessage) {
				t.Errorf("got phase %s, reason %s, message %q\nwant phase %s, reason %s, message containing %q",
					st.Phase, ready.Reason, st.Message, tt.wantPhase, tt.wantReason, tt.wantMessage)
			}
			if (ready.Status == metav1.ConditionTrue) != (tt.wantPhase == v1beta1.PhaseReady) {
				t.Errorf("Ready condition %s in phase %s", ready.Status, st.Phase)
			}
		})
	}
}

// The status is computed again when a crashed container settles, though no
// event may come then.
func TestRecheckWhenTheFirstCrashedContainerSettles(t *testing.T) {
	pod := func(name string, ago time.Duration, exit int32) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			Name: "mcp", RestartCount: 1,
			State:                corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(testNow.Add(-ago))}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit}},
		}}}}
	}
	tests := []struct {
		name string
		pods []corev1.Pod
		want time.Duration
	}{
		{"nothing crashed", nil, 0},
		{"settled already", []corev1.Pod{pod("a", time.Minute, 1)}, 0},
		{"clean exit", []corev1.Pod{pod("a", time.Second, 0)}, 0},
		{"the earliest of two", []corev1.Pod{pod("a", 2*time.Second, 1), pod("b", 7*time.Second, 2)}, settleTime - 7*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := recheckAfter(tt.pods, testNow); got != tt.want {
				t.Errorf("recheckAfter = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConditionsCarryObservedGenerationAndURL(t *testing.T) {
	sse := newServer(withTransport(v1beta1.TransportSSE), func(s *v1beta1.MCPServer) {
		s.Spec.ProxyPort = 9000
		s.Spec.Replicas = ptr.To[int32](2)
	})
	st := computeStatus(sse, readyWorkloads())
	want := []metav1.Condition{
		{Type: "Ready", Status: "True", Reason: "Ready", Message: "MCP server is running", ObservedGeneration: 3},
		{Type: "PodTemplateValid", Status: "True", Reason: "Valid", Message: "spec.podTemplateSpec is usable", ObservedGeneration: 3},
		{Type: "SecretsResolved", Status: "True", Reason: "AllSecretsFound", Message: "every referenced Secret key exists", ObservedGeneration: 3},
		{Type: "ConfigRefsResolved", Status: "True", Reason: "AllConfigRefsFound", Message: "every referenced config exists and is valid", ObservedGeneration: 3},
		{Type: "StdioReplicaCapped", Status: "False", Reason: "NotStdio", Message: "the backend scales with spec.backendReplicas", ObservedGeneration: 3},
		{Type: "SessionStorageWarning", Status: "True", Reason: "ReplicasWithoutRedis", Message: v1beta1.SessionStorageWarningMessage, ObservedGeneration: 3},
	}
	if d := cmp.Diff(want, st.Conditions, cmpopts.IgnoreFields(metav1.Condition{}, "LastTransitionTime")); d != "" {
		t.Errorf("conditions (-want +got):\n%s", d)
	}
	if st.URL != "http://mcp-osv-proxy.tools.svc.cluster.local:9000/sse#osv" || st.ReadyReplicas != 2 || st.ObservedGeneration != 3 {
		t.Errorf("url %q readyReplicas %d observedGeneration %d", st.URL, st.ReadyReplicas, st.ObservedGeneration)
	}
}

func TestSessionStorageWarning(t *testing.T) {
	const (
		sufficient = "session storage is sufficient for the proxy replicas"
		affinity   = "the sessions of a stdio server live in the proxy pod that created them, and spec.sessionAffinity ClientIP " +
			"keeps each client on its proxy pod; a client that reaches the proxy from changing addresses, or through an ingress that " +
			"balances across the proxy pods itself, needs the same stickiness there"
		noAffinity = "spec.replicas > 1 with spec.sessionAffinity None on a stdio server: every proxy pod attaches to the one stdio pod " +
			"and keeps the sessions of its own clients in memory, so a client whose requests reach another proxy pod loses its session; " +
			"set spec.sessionAffinity to ClientIP (the default)"
		redisUnused = "spec.sessionStorage provider redis is not used by a stdio server: every proxy pod attaches to the one stdio pod " +
			"and keeps the sessions of its own clients in memory; remove spec.sessionStorage"
	)
	replicas := func(n int32) func(*v1beta1.MCPServer) {
		return func(s *v1beta1.MCPServer) { s.Spec.Replicas = ptr.To(n) }
	}
	redis := func(s *v1beta1.MCPServer) {
		s.Spec.SessionStorage = &v1beta1.SessionStorage{Provider: "redis", Address: "r:6379"}
	}
	noAffinityToo := func(s *v1beta1.MCPServer) { s.Spec.SessionAffinity = corev1.ServiceAffinityNone }
	streamable := withTransport(v1beta1.TransportStreamableHTTP)
	tests := []struct {
		name   string
		server *v1beta1.MCPServer
		want   metav1.Condition
	}{
		{"an HTTP server with replicas 2 without redis warns",
			newServer(streamable, replicas(2)),
			metav1.Condition{Status: "True", Reason: "ReplicasWithoutRedis", Message: v1beta1.SessionStorageWarningMessage}},
		{"an HTTP server with replicas 2 with redis is fine",
			newServer(streamable, replicas(2), redis),
			metav1.Condition{Status: "False", Reason: "SessionStorageSufficient", Message: sufficient}},
		{"backendReplicas alone does not warn, as the docs say",
			newServer(streamable, func(s *v1beta1.MCPServer) { s.Spec.BackendReplicas = ptr.To[int32](3) }),
			metav1.Condition{Status: "False", Reason: "SessionStorageSufficient", Message: sufficient}},
		{"a stdio server with replicas 2 keeps sessions by the default ClientIP affinity",
			newServer(replicas(2)),
			metav1.Condition{Status: "False", Reason: "StdioSessionsKeptByAffinity", Message: affinity}},
		{"a stdio server with replicas 2 and sessionAffinity None warns, and asks for ClientIP, not Redis",
			newServer(replicas(2), noAffinityToo),
			metav1.Condition{Status: "True", Reason: "StdioReplicasWithoutAffinity", Message: noAffinity}},
		{"Redis does not save a stdio server without affinity, and the message says it is not used",
			newServer(replicas(2), noAffinityToo, redis),
			metav1.Condition{Status: "True", Reason: "StdioReplicasWithoutAffinity", Message: noAffinity + "; " + redisUnused}},
		{"Redis on a stdio server with one replica is said to be unused",
			newServer(replicas(1), redis),
			metav1.Condition{Status: "False", Reason: "SessionStorageSufficient", Message: sufficient + "; " + redisUnused}},
		{"Redis on a scaled stdio server is said to be unused",
			newServer(replicas(3), redis),
			metav1.Condition{Status: "False", Reason: "StdioSessionsKeptByAffinity", Message: affinity + "; " + redisUnused}},
		{"a stdio server with sessionAffinity None and one replica is fine",
			newServer(replicas(1), noAffinityToo),
			metav1.Condition{Status: "False", Reason: "SessionStorageSufficient", Message: sufficient}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := conditionOf(computeStatus(tt.server, readyWorkloads()), v1beta1.ConditionSessionStorageWarning)
			tt.want.Type, tt.want.ObservedGeneration = v1beta1.ConditionSessionStorageWarning, 3
			if d := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(metav1.Condition{}, "LastTransitionTime")); d != "" {
				t.Errorf("SessionStorageWarning (-want +got):\n%s", d)
			}
		})
	}
}

func TestStreamableURL(t *testing.T) {
	if got := serverURL(newServer()); got != "http://mcp-osv-proxy.tools.svc.cluster.local:8080/mcp" {
		t.Errorf("url = %q", got)
	}
}

func conditionOf(st v1beta1.MCPServerStatus, t string) metav1.Condition {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c
		}
	}
	return metav1.Condition{}
}

func TestSecretsResolvedReasonTellsSecretFromKey(t *testing.T) {
	tests := []struct {
		name string
		refs resolvedRefs
		want string
	}{
		{"a missing Secret", resolvedRefs{missingSecrets: []string{`Secret "a"`}, secretAbsent: true}, "SecretNotFound"},
		{"only a missing key of a Secret that exists", resolvedRefs{missingSecrets: []string{`key "k" in Secret "a"`}}, "SecretKeyNotFound"},
		{"a missing Secret and a missing key", resolvedRefs{missingSecrets: []string{`key "k" in Secret "a"`, `Secret "b"`}, secretAbsent: true}, "SecretNotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := readyWorkloads()
			o.refs = tt.refs
			c := conditionOf(computeStatus(newServer(), o), v1beta1.ConditionSecretsResolved)
			if c.Status != metav1.ConditionFalse || c.Reason != tt.want {
				t.Errorf("SecretsResolved = %s %s (%s); want False %s", c.Status, c.Reason, c.Message, tt.want)
			}
		})
	}
}

func TestWhatAUserMustFixIsAWarningEvent(t *testing.T) {
	tests := []struct {
		name   string
		phase  v1beta1.MCPServerPhase
		reason string
		want   bool
	}{
		{"any failure", v1beta1.PhaseFailed, v1beta1.ReasonCrashLoop, true},
		{"a pod that cannot start for a missing key, though only Pending", v1beta1.PhasePending, v1beta1.ReasonContainerConfigError, true},
		{"a missing key before the pod exists", v1beta1.PhasePending, v1beta1.ReasonSecretKeyMissing, true},
		{"a pod no node fits", v1beta1.PhasePending, v1beta1.ReasonUnschedulable, true},
		{"waiting for the backend to start", v1beta1.PhasePending, v1beta1.ReasonBackendNotReady, false},
		{"ready", v1beta1.PhaseReady, v1beta1.ReasonReady, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := warns(tt.phase, tt.reason); got != tt.want {
				t.Errorf("warns(%s, %s) = %v, want %v", tt.phase, tt.reason, got, tt.want)
			}
		})
	}
}

func TestTelemetryConditionLeavesReadyAlone(t *testing.T) {
	withRef := func(s *v1beta1.MCPServer) {
		s.Spec.TelemetryConfigRef = &v1beta1.MCPTelemetryConfigReference{Name: "otel"}
	}
	notFound := `MCPTelemetryConfig "otel" (spec.telemetryConfigRef) not found in the MCPServer's namespace; the server runs, but exports no telemetry until it exists`
	tests := []struct {
		name     string
		server   *v1beta1.MCPServer
		refs     resolvedRefs
		want     *metav1.Condition
		wantHash string
	}{
		{"a missing config is False, NotFound", newServer(withRef),
			resolvedRefs{telemetryReason: v1beta1.ReasonTelemetryConfigRefNotFound, telemetryMessage: notFound},
			&metav1.Condition{Status: "False", Reason: "TelemetryConfigRefNotFound", Message: notFound}, ""},
		{"an invalid config is False, Invalid, and its hash is shown", newServer(withRef),
			resolvedRefs{telemetryHash: "0123", telemetryReason: v1beta1.ReasonTelemetryConfigRefInvalid, telemetryMessage: "bad"},
			&metav1.Condition{Status: "False", Reason: "TelemetryConfigRefInvalid", Message: "bad"}, "0123"},
		{"an exported config is True", newServer(withRef),
			resolvedRefs{telemetryHash: "0123", telemetryReason: v1beta1.ReasonTelemetryConfigRefValid, telemetryMessage: "exports"},
			&metav1.Condition{Status: "True", Reason: "TelemetryConfigRefValid", Message: "exports"}, "0123"},
		{"without telemetryConfigRef the condition goes away", newServer(func(s *v1beta1.MCPServer) {
			s.Status.Conditions = []metav1.Condition{{Type: "TelemetryConfigRefValidated", Status: "False", Reason: "TelemetryConfigRefNotFound"}}
		}), resolvedRefs{}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := readyWorkloads()
			o.refs = tt.refs
			st := computeStatus(tt.server, o)
			if st.Phase != v1beta1.PhaseReady {
				t.Errorf("phase %s (%s), want Ready: the server serves without telemetry", st.Phase, st.Message)
			}
			var got *metav1.Condition
			if c := conditionOf(st, v1beta1.ConditionTelemetryConfigRefValidated); c.Type != "" {
				got = &c
			}
			if tt.want != nil {
				tt.want.Type, tt.want.ObservedGeneration = v1beta1.ConditionTelemetryConfigRefValidated, 3
			}
			if d := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(metav1.Condition{}, "LastTransitionTime")); d != "" {
				t.Errorf("TelemetryConfigRefValidated (-want +got):\n%s", d)
			}
			if st.TelemetryConfigHash != tt.wantHash {
				t.Errorf("telemetryConfigHash %q, want %q", st.TelemetryConfigHash, tt.wantHash)
			}
		})
	}
}
