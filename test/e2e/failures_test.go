//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// The failures users meet, as the seed's troubleshooting section has them
// look: `kubectl describe mcpserver <name>` says at which stage the server
// is stuck and why (phase, Ready=False with a reason, a message naming the
// pod, the container and the cause, a Warning event), and .status says the
// same. Each case first checks the kubelet really saw the failure, so the
// assertion is about this cluster, not about a fake pod status.
func TestFailuresShowInDescribe(t *testing.T) {
	t.Run("image that cannot be pulled", func(t *testing.T) {
		t.Parallel()
		n := newNamespace(t)
		const name, image = "pull", "switchboard/does-not-exist:dev"
		n.mustApply(strings.Replace(manifest(name, "stdio"), "image: "+testServer, "image: "+image, 1))
		pod := name + "-0"

		n.waitMCPContainer(pod, "waiting in ErrImagePull or ImagePullBackOff", func(cs corev1.ContainerStatus) bool {
			w := cs.State.Waiting
			return w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff")
		})
		n.waitShown(name, shown{phase: v1beta1.PhaseFailed, reason: v1beta1.ReasonImagePullFailed, says: []string{
			"backend pod " + pod + ", container " + naming.MCPContainer,
			fmt.Sprintf("image %q cannot be pulled", image),
			"check spec.image",
		}})
	})

	t.Run("server that crash-loops", func(t *testing.T) {
		t.Parallel()
		n := newNamespace(t)
		const name = "crash"
		// The test server exits 1 on an unknown transport.
		n.mustApply(strings.Replace(manifest(name, "stdio"), "args: []", `args: ["--transport=bogus"]`, 1))
		pod := name + "-0"
		statuses := n.watchStatus(name)

		n.waitMCPContainer(pod, "restarted after exiting with code 1", func(cs corev1.ContainerStatus) bool {
			return cs.RestartCount >= 1 && exitCode(cs) == 1
		})
		want := shown{phase: v1beta1.PhaseFailed, reason: v1beta1.ReasonCrashLoop, says: []string{
			"backend pod " + pod + ", container " + naming.MCPContainer + " keeps exiting with exit code 1",
			"kubectl logs " + pod + " -c " + naming.MCPContainer,
		}}
		n.waitShown(name, want)

		// A user may look at any moment of the loop, including while the
		// kubelet shows the exit itself rather than CrashLoopBackOff.
		const samples = 20
		var off []string
		for i := 0; i < samples; i++ {
			st, err := n.conditionState(name, v1beta1.ConditionReady)
			switch {
			case err != nil:
				off = append(off, err.Error())
			case st.reason != want.reason:
				off = append(off, fmt.Sprintf("%s %s=%s %s: %s", st.phase, v1beta1.ConditionReady, st.status, st.reason, st.message))
			}
			time.Sleep(1500 * time.Millisecond)
		}
		if len(off) > 2 {
			t.Errorf("while %s crash-looped, %d of %d looks at its status did not say %s:\n%s",
				pod, len(off), samples, want.reason, strings.Join(off, "\n"))
		}
		// Honest Ready: a server that never stays up is never Ready, not
		// even for the moment between a start and the exit.
		if ready := statuses.ready(); len(ready) > 0 {
			t.Errorf("the crash-looping server was Ready=True %d times since it was applied, e.g. %s: %s",
				len(ready), ready[0].reason, ready[0].message)
		}
	})

	t.Run("server that is OOM-killed", func(t *testing.T) {
		t.Parallel()
		n := newNamespace(t)
		const name, limit = "oom", "4Mi"
		// The idle server fits in 4Mi; a 3 MiB request does not.
		n.mustApply(manifest(name, "stdio") + `  podTemplateSpec:
    spec:
      containers:
      - name: ` + naming.MCPContainer + `
        resources:
          limits: {memory: ` + limit + `}
`)
		n.waitReady(name)
		pod := name + "-0"
		endpoint := n.portForward("service/"+naming.ProxyServiceName(name), 8080) + "/mcp"
		big := map[string]any{"text": strings.Repeat("x", 3<<20)}
		provoke := func() {
			if s, err := openRawSession(endpoint, 30*time.Second); err == nil {
				_, _, _ = s.callTool("echo", big)
			}
		}

		want := shown{phase: v1beta1.PhaseFailed, reason: v1beta1.ReasonOOMKilled, says: []string{
			"backend pod " + pod + ", container " + naming.MCPContainer + " was OOMKilled",
			"its memory limit of " + limit,
			"raise resources.limits.memory of the mcp container in spec.podTemplateSpec",
		}}
		// The kubelet restarts it at once, so the failure may last only
		// as long as that: watch every status the server goes through.
		statuses := n.watchStatus(name)
		start := time.Now()
		n.waitMCPContainer(pod, "OOMKilled (exit code 137) by the kernel", func(cs corev1.ContainerStatus) bool {
			for _, term := range []*corev1.ContainerStateTerminated{cs.State.Terminated, cs.LastTerminationState.Terminated} {
				if term != nil && term.Reason == "OOMKilled" && term.ExitCode == 137 {
					return true
				}
			}
			provoke()
			return false
		})
		t.Logf("%s OOMKilled after %s", pod, time.Since(start).Round(time.Second))
		eventually(t, 3*time.Minute, func() string {
			if msg := statuses.saw(want); msg != "" {
				return msg
			}
			out, err := n.run("describe", "mcpserver", name)
			if err != nil {
				return fmt.Sprintf("kubectl describe mcpserver %s: %v\n%s", name, err, out)
			}
			return describeWarns(out, name, want)
		})
		// Left alone, it is back by itself.
		n.waitReady(name)
		t.Logf("Ready again after %s", time.Since(start).Round(time.Second))
	})

	t.Run("missing Secret key", func(t *testing.T) {
		t.Parallel()
		n := newNamespace(t)
		const name, secret = "nokey", "creds"
		n.must("create", "secret", "generic", secret, "--from-literal=other=x")
		n.mustApply(manifest(name, "stdio") + `  secrets:
  - {name: ` + secret + `, key: token, targetEnvName: TOKEN}
`)
		pod := name + "-0"

		n.waitMCPContainer(pod, "waiting in CreateContainerConfigError", func(cs corev1.ContainerStatus) bool {
			return cs.State.Waiting != nil && cs.State.Waiting.Reason == "CreateContainerConfigError"
		})
		n.waitShown(name, shown{phase: v1beta1.PhasePending, reason: v1beta1.ReasonContainerConfigError, says: []string{
			"backend pod " + pod + ", container " + naming.MCPContainer + " cannot start",
			"couldn't find key token in Secret " + n.name + "/" + secret,
		}})
		n.waitShown(name, shown{ctype: v1beta1.ConditionSecretsResolved, reason: v1beta1.ReasonSecretKeyMissing, says: []string{
			`key "token" in Secret "` + secret + `"`,
		}})

		// What the message promises: add the key and the server starts.
		n.must("patch", "secret", secret, "-p", `{"stringData":{"token":"abc"}}`)
		n.waitReady(name)
		if st, err := n.conditionState(name, v1beta1.ConditionSecretsResolved); err != nil || st.status != "True" {
			t.Errorf("SecretsResolved after the key was added: %+v %v", st, err)
		}
	})
}

// shown is what describe and .status must both say about an MCPServer.
type shown struct {
	phase  v1beta1.MCPServerPhase // checked unless empty
	ctype  string                 // the condition; Ready when empty
	reason string                 // of the condition, which is False
	says   []string               // in the condition's message
}

// conditionSnapshot is the phase and one condition of an MCPServer.
type conditionSnapshot struct {
	phase, status, reason, message string
}

func (n *ns) conditionState(server, ctype string) (conditionSnapshot, error) {
	out, err := n.run("get", "mcpserver/"+server, "-o", "json")
	if err != nil {
		return conditionSnapshot{}, fmt.Errorf("get mcpserver/%s: %w: %s", server, err, out)
	}
	var s v1beta1.MCPServer
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		return conditionSnapshot{}, fmt.Errorf("decode mcpserver/%s: %w", server, err)
	}
	snap := conditionSnapshot{phase: string(s.Status.Phase)}
	if c := meta.FindStatusCondition(s.Status.Conditions, ctype); c != nil {
		snap.status, snap.reason, snap.message = string(c.Status), c.Reason, c.Message
	}
	return snap, nil
}

// waitShown waits until .status and `kubectl describe mcpserver` both show
// want, and for the Ready condition describe lists a Warning event with the
// reason.
func (n *ns) waitShown(server string, want shown) {
	n.t.Helper()
	eventually(n.t, 4*time.Minute, func() string {
		st, err := n.conditionState(server, want.condition())
		if err != nil {
			return err.Error()
		}
		if msg := want.differs(server, st); msg != "" {
			return ".status: " + msg
		}
		out, err := n.run("describe", "mcpserver", server)
		if err != nil {
			return fmt.Sprintf("kubectl describe mcpserver %s: %v\n%s", server, err, out)
		}
		if msg := describeShows(out, server, want); msg != "" {
			return msg
		}
		if want.condition() == v1beta1.ConditionReady {
			return describeWarns(out, server, want)
		}
		return ""
	})
}

func (w shown) condition() string {
	if w.ctype == "" {
		return v1beta1.ConditionReady
	}
	return w.ctype
}

// differs says how st is not want, "" when it is.
func (w shown) differs(server string, st conditionSnapshot) string {
	if st.status != "False" || st.reason != w.reason || (w.phase != "" && st.phase != string(w.phase)) {
		return fmt.Sprintf("%s is %s with %s=%s (%s: %s); want %s=False with reason %s",
			server, st.phase, w.condition(), st.status, st.reason, st.message, w.condition(), w.reason)
	}
	for _, s := range w.says {
		if !strings.Contains(st.message, s) {
			return fmt.Sprintf("%s condition of %s says %q; want it to say %q", w.condition(), server, st.message, s)
		}
	}
	return ""
}

// describeShows checks the condition block and phase in describe's output.
func describeShows(out, server string, want shown) string {
	block := regexp.MustCompile(`Message:\s+(.*)\n\s+Observed Generation:\s+\d+\n\s+Reason:\s+(\S+)\n\s+Status:\s+(\S+)\n\s+Type:\s+` + want.condition() + `\n`)
	m := block.FindStringSubmatch(out)
	switch {
	case m == nil:
		return fmt.Sprintf("kubectl describe mcpserver %s shows no %s condition:\n%s", server, want.condition(), out)
	case m[2] != want.reason || m[3] != "False":
		return fmt.Sprintf("kubectl describe mcpserver %s shows %s=%s (%s); want False with reason %s", server, want.condition(), m[3], m[2], want.reason)
	case want.phase != "" && !regexp.MustCompile(`\n  Phase:\s+`+string(want.phase)+`\n`).MatchString(out):
		return fmt.Sprintf("kubectl describe mcpserver %s does not show phase %s:\n%s", server, want.phase, out)
	}
	for _, s := range want.says {
		if !strings.Contains(m[1], s) {
			return fmt.Sprintf("kubectl describe mcpserver %s: %s message %q lacks %q", server, want.condition(), m[1], s)
		}
	}
	return ""
}

// describeWarns checks describe's events for a Warning with the reason
// whose message says what want does.
func describeWarns(out, server string, want shown) string {
	events := regexp.MustCompile(`\n\s+Warning\s+`+want.reason+`\s.*?`+naming.ManagedBy+`\s+(.*)`).FindAllStringSubmatch(out, -1)
	for _, e := range events {
		all := true
		for _, s := range want.says {
			all = all && strings.Contains(e[1], s)
		}
		if all {
			return ""
		}
	}
	tail := out
	if i := strings.Index(out, "Events:"); i >= 0 {
		tail = out[i:]
	}
	return fmt.Sprintf("kubectl describe mcpserver %s lists no Warning event %s saying %q:\n%s", server, want.reason, want.says, tail)
}

// statusWatch holds every status an MCPServer went through, as
// `kubectl get --watch` saw it: a failure the server recovers from at once
// is still seen.
type statusWatch struct {
	mu   sync.Mutex
	seen []conditionSnapshot
}

func (n *ns) watchStatus(server string) *statusWatch {
	n.t.Helper()
	cmd := exec.Command(kubectlBin, "-n", n.name, "get", "mcpserver/"+server, "--watch", "-o", "json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		n.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("kubectl get --watch: %v", err)
	}
	n.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	w := &statusWatch{}
	go func() {
		dec := json.NewDecoder(stdout)
		for {
			var s v1beta1.MCPServer
			if dec.Decode(&s) != nil {
				return
			}
			snap := conditionSnapshot{phase: string(s.Status.Phase)}
			if c := meta.FindStatusCondition(s.Status.Conditions, v1beta1.ConditionReady); c != nil {
				snap.status, snap.reason, snap.message = string(c.Status), c.Reason, c.Message
			}
			w.mu.Lock()
			w.seen = append(w.seen, snap)
			w.mu.Unlock()
		}
	}()
	return w
}

// ready is every status seen with Ready=True.
func (w *statusWatch) ready() []conditionSnapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []conditionSnapshot
	for _, st := range w.seen {
		if st.status == string(metav1.ConditionTrue) {
			out = append(out, st)
		}
	}
	return out
}

// saw says "" once the server went through want, else what it went through.
func (w *statusWatch) saw(want shown) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var all []string
	for _, st := range w.seen {
		if want.differs("", st) == "" {
			return ""
		}
		all = append(all, fmt.Sprintf("%s %s=%s %s: %s", st.phase, want.condition(), st.status, st.reason, st.message))
	}
	return fmt.Sprintf("no status was %s/%s saying %q; statuses seen:\n%s", want.phase, want.reason, want.says, strings.Join(all, "\n"))
}

// waitMCPContainer waits until the mcp container of pod is as described.
func (n *ns) waitMCPContainer(pod, what string, ok func(corev1.ContainerStatus) bool) {
	n.t.Helper()
	eventually(n.t, 4*time.Minute, func() string {
		out, err := n.run("get", "pod", pod, "-o", "json")
		if err != nil {
			return fmt.Sprintf("get pod %s: %v: %s", pod, err, out)
		}
		var p corev1.Pod
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			return err.Error()
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == naming.MCPContainer {
				if ok(cs) {
					return ""
				}
				b, _ := json.Marshal(cs)
				return fmt.Sprintf("container %s of %s is not %s: %s", naming.MCPContainer, pod, what, b)
			}
		}
		return fmt.Sprintf("pod %s has no %s container status yet", pod, naming.MCPContainer)
	})
}

// exitCode is how the container last ended, -1 when it has not.
func exitCode(cs corev1.ContainerStatus) int32 {
	if t := cs.State.Terminated; t != nil {
		return t.ExitCode
	}
	if t := cs.LastTerminationState.Terminated; t != nil {
		return t.ExitCode
	}
	return -1
}
