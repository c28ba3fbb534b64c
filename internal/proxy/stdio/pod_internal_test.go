package stdio

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// fakeExecutor stands in for client-go's remotecommand executors.
type fakeExecutor func(ctx context.Context, o remotecommand.StreamOptions) error

func (f fakeExecutor) Stream(o remotecommand.StreamOptions) error {
	return f(context.Background(), o)
}

func (f fakeExecutor) StreamWithContext(ctx context.Context, o remotecommand.StreamOptions) error {
	return f(ctx, o)
}

// readStdin makes the first Read of stdin, as client-go does once the
// streams are up, and leaves the rest to a goroutine.
func readStdin(o remotecommand.StreamOptions) {
	buf := make([]byte, 1)
	go func() {
		for {
			if _, err := o.Stdin.Read(buf); err != nil {
				return
			}
		}
	}()
}

var errContainerGone = errors.New(`container "mcp" not found`)

func TestAttachStreamReturnsOnlyOnceEstablished(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	cat := fakeExecutor(func(ctx context.Context, o remotecommand.StreamOptions) error {
		close(entered)
		select { // connecting: stdin is not read yet
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
		go func() { _, _ = io.Copy(o.Stdout, o.Stdin) }()
		<-ctx.Done()
		return ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		stdin  io.WriteCloser
		stdout io.ReadCloser
		err    error
	}
	got := make(chan result, 1)
	go func() {
		stdin, stdout, err := attachStream(ctx, cat, 10*time.Millisecond, time.Minute)
		got <- result{stdin, stdout, err}
	}()
	<-entered
	select {
	case r := <-got:
		t.Fatalf("attachStream returned before the stream was established (err %v)", r.err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	if _, err := io.WriteString(r.stdin, "ping\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(r.stdout).ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("read %q, %v through the stream, want ping", line, err)
	}
}

func TestAttachStreamFailsWhenTheStreamDoesNotLast(t *testing.T) {
	for name, exec := range map[string]fakeExecutor{
		"ends before it is up": func(context.Context, remotecommand.StreamOptions) error {
			return errContainerGone
		},
		"ends right after it is up": func(_ context.Context, o remotecommand.StreamOptions) error {
			readStdin(o)
			time.Sleep(10 * time.Millisecond)
			return errContainerGone
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := attachStream(context.Background(), exec, time.Minute, time.Minute)
			if !errors.Is(err, errContainerGone) {
				t.Fatalf("attachStream: %v, want %v", err, errContainerGone)
			}
		})
	}
	t.Run("never up", func(t *testing.T) {
		ended := make(chan struct{})
		hang := fakeExecutor(func(ctx context.Context, _ remotecommand.StreamOptions) error {
			defer close(ended)
			<-ctx.Done()
			return ctx.Err()
		})
		if _, _, err := attachStream(context.Background(), hang, time.Minute, 20*time.Millisecond); err == nil {
			t.Fatal("attachStream succeeded without a stream")
		}
		<-ended // and the attempt is cancelled
	})
}

// A stream that fails in the attach never makes the backend attached, not
// even for a moment: health must not flap to healthy.
func TestAttachFailingStreamIsNeverAttached(t *testing.T) {
	for name, up := range map[string]bool{"before it is up": false, "right after it is up": true} {
		t.Run(name, func(t *testing.T) {
			entered, release := make(chan struct{}, 1), make(chan struct{})
			exec := fakeExecutor(func(ctx context.Context, o remotecommand.StreamOptions) error {
				if up {
					readStdin(o)
				}
				select {
				case entered <- struct{}{}:
				default:
				}
				select {
				case <-release:
					return errContainerGone
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			attach := func(ctx context.Context, _ *corev1.Pod) (io.WriteCloser, io.ReadCloser, error) {
				return attachStream(ctx, exec, time.Minute, time.Minute)
			}
			b := startPodBackend(t, attach, staticPods(mcpPod("a", 0)), time.Second, time.Second)
			<-entered
			for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if b.Attached() {
					t.Fatal("attached while the stream was not yet known to work")
				}
			}
			close(release)
			for deadline := time.Now().Add(100 * time.Millisecond); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if b.Attached() {
					t.Fatal("attached to a stream that failed")
				}
			}
		})
	}
}

func TestAttachBacksOffWhileTheStreamEndsAtOnce(t *testing.T) {
	calls := &attachCalls{}
	b := startPodBackend(t, calls.endAtOnce, staticPods(mcpPod("a", 0)), 100*time.Millisecond, 300*time.Millisecond)
	// Nothing but the retry timer pokes: there is no informer here.
	got := calls.wait(t, 4)
	for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond} {
		if gap := got[i+1].at.Sub(got[i].at); gap < want {
			t.Errorf("attach %d came %s after attach %d, want a back-off of at least %s", i+2, gap, i+1, want)
		}
	}
	for !b.heldOffSince(got[3].at) {
		time.Sleep(time.Millisecond)
	}
	b.mu.Lock()
	backoff := b.backoff
	b.mu.Unlock()
	if backoff != b.maxBackoff {
		t.Errorf("back-off %s after four quick ends, want the cap %s", backoff, b.maxBackoff)
	}
	if b.Attached() {
		t.Error("attached while backing off")
	}
}

func TestAttachNewContainerRunAtOnceAfterAQuickEnd(t *testing.T) {
	calls := &attachCalls{}
	var mu sync.Mutex
	pod := mcpPod("a", 0)
	b := startPodBackend(t, func(ctx context.Context, p *corev1.Pod) (io.WriteCloser, io.ReadCloser, error) {
		if p.UID == "b" { // the replacement stays up
			calls.record(p)
			r, w := io.Pipe()
			go func() { <-ctx.Done(); _ = w.Close() }()
			return nopWriteCloser{}, r, nil
		}
		return calls.endAtOnce(ctx, p)
	}, func() []*corev1.Pod {
		mu.Lock()
		defer mu.Unlock()
		return []*corev1.Pod{pod}
	}, time.Hour, time.Hour) // any wait at all fails the test
	want := []podIdentity{{uid: "a"}}
	for _, next := range []*corev1.Pod{mcpPod("a", 1), mcpPod("b", 0)} {
		got := calls.wait(t, len(want))
		for !b.heldOffSince(got[len(got)-1].at) {
			time.Sleep(time.Millisecond)
		}
		mu.Lock()
		pod = next // the container restarted, then the pod was replaced
		mu.Unlock()
		b.poke()
		want = append(want, podIdentity{uid: next.UID, restarts: next.Status.ContainerStatuses[0].RestartCount})
	}
	got := calls.wait(t, len(want))
	for i := range want {
		if got[i].id != want[i] {
			t.Errorf("attach %d went to %+v, want %+v", i+1, got[i].id, want[i])
		}
	}
	for deadline := time.Now().Add(5 * time.Second); !b.Attached(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not attached to the replacement pod")
		}
	}
}

// attachCalls records the attaches of a fake AttachFunc.
type attachCalls struct {
	mu    sync.Mutex
	calls []attachCall
}

type attachCall struct {
	id podIdentity
	at time.Time
}

func (c *attachCalls) record(pod *corev1.Pod) {
	_, id := runningPod([]*corev1.Pod{pod})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, attachCall{id: id, at: time.Now()})
}

// endAtOnce attaches to a stream that ends as soon as it is read.
func (c *attachCalls) endAtOnce(_ context.Context, pod *corev1.Pod) (io.WriteCloser, io.ReadCloser, error) {
	c.record(pod)
	return nopWriteCloser{}, io.NopCloser(strings.NewReader("")), nil
}

// wait returns the first n attaches once there are n.
func (c *attachCalls) wait(t *testing.T, n int) []attachCall {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		c.mu.Lock()
		got := append([]attachCall(nil), c.calls...)
		c.mu.Unlock()
		if len(got) >= n {
			return got[:n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d attaches, want %d", len(got), n)
		}
	}
}

// heldOffSince says whether a stream that ended after t is being waited out.
func (b *podBackend) heldOffSince(t time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.retryAt.After(t)
}

type nopWriteCloser struct{}

func (nopWriteCloser) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriteCloser) Close() error                { return nil }

// startPodBackend runs a podBackend over pods, with the given back-offs,
// and checks that it leaves nothing behind: the retry timer stops with it.
func startPodBackend(t *testing.T, attach AttachFunc, pods func() []*corev1.Pod, minBackoff, maxBackoff time.Duration, tweak ...func(*podBackend)) *podBackend {
	t.Helper()
	b := newPodBackend(attach, 0, &Stats{}, slog.New(slog.DiscardHandler))
	b.pods, b.quick, b.minBackoff, b.maxBackoff = pods, time.Second, minBackoff, maxBackoff
	for _, f := range tweak {
		f(b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		b.run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.retry != nil && b.retry.Stop() {
			t.Error("the back-off timer outlived the backend")
		}
		if b.attachedTo != (podIdentity{}) {
			t.Error("still attached after the backend stopped")
		}
	})
	return b
}

func staticPods(pods ...*corev1.Pod) func() []*corev1.Pod {
	return func() []*corev1.Pod { return pods }
}

func mcpPod(uid types.UID, restarts int32) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "github-0", UID: uid},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: naming.MCPContainer, RestartCount: restarts,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		}}},
	}
}
