package stdio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/utils/ptr"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// AttachFunc opens a stream to the stdin and stdout of a pod's mcp
// container; the stream ends when ctx does.
type AttachFunc func(ctx context.Context, pod *corev1.Pod) (stdin io.WriteCloser, stdout io.ReadCloser, err error)

// podBackend is a stdio MCP server in the backend pod, reached through the
// Kubernetes attach API. It watches the pods (never polls), attaches to the
// running one, and attaches again when the pod is replaced; while detached
// it says so, so that health is unhealthy rather than a zombie.
type podBackend struct {
	attach       AttachFunc
	log          *slog.Logger
	stats        *Stats
	writeTimeout time.Duration
	recv         chan []byte
	wake         chan struct{}
	// A stream that ends within quick of its start is not attached to the
	// same container run again for a back-off from minBackoff, doubling up
	// to maxBackoff: the informer may still show that run as Running, and
	// attaching at once would loop. Fields so that tests can shorten them.
	quick, minBackoff, maxBackoff time.Duration

	// logs reads the current run's mcp container log of a pod.
	logs func(ctx context.Context, pod string) (io.ReadCloser, error)

	// Read without the lock: Send, health and metrics never wait.
	current    atomic.Pointer[writer] // nil while detached
	generation atomic.Uint64

	mu          sync.Mutex
	pods        func() []*corev1.Pod
	writer      *writer
	attachedTo  podIdentity // zero while detached
	attachedPod string
	stop        context.CancelFunc
	last        podIdentity   // the container the last attach reached
	heldOff     podIdentity   // the run whose stream last ended quickly
	retryAt     time.Time     // no attach to heldOff before then
	backoff     time.Duration // heldOff's current back-off
	retry       *time.Timer   // pokes when the back-off passes
}

// podIdentity names one run of the mcp container: a new pod or a restarted
// container is a fresh process that must be initialized again.
type podIdentity struct {
	uid      types.UID
	restarts int32
}

// NewPod attaches to the running pod of those selector selects in ns. A
// write to the server's stdin that takes longer than writeTimeout (0: no
// limit) counts as a server that stopped reading: the proxy re-attaches.
func NewPod(ctx context.Context, client kubernetes.Interface, ns, selector string, attach AttachFunc, writeTimeout time.Duration, stats *Stats, log *slog.Logger) (Backend, error) {
	b := newPodBackend(attach, writeTimeout, stats, log)
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	pods := factory.Core().V1().Pods()
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { b.poke() }, UpdateFunc: func(any, any) { b.poke() }, DeleteFunc: func(any) { b.poke() },
	}); err != nil {
		return nil, fmt.Errorf("watch backend pods: %w", err)
	}
	b.pods = func() []*corev1.Pod {
		list, _ := pods.Lister().Pods(ns).List(labels.Everything())
		return list
	}
	b.logs = func(ctx context.Context, pod string) (io.ReadCloser, error) {
		return client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{
			Container: naming.MCPContainer, LimitBytes: ptr.To[int64](initLogLimit),
		}).Stream(ctx)
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), pods.Informer().HasSynced) {
		return nil, fmt.Errorf("backend pods in %s never synced", ns)
	}
	go b.run(ctx)
	return b, nil
}

func newPodBackend(attach AttachFunc, writeTimeout time.Duration, stats *Stats, log *slog.Logger) *podBackend {
	return &podBackend{attach: attach, log: log, stats: stats, writeTimeout: writeTimeout,
		recv: make(chan []byte, 64), wake: make(chan struct{}, 1),
		quick: 5 * time.Second, minBackoff: time.Second, maxBackoff: 30 * time.Second}
}

func (b *podBackend) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *podBackend) Recv() <-chan []byte { return b.recv }

func (b *podBackend) Attached() bool { return b.current.Load() != nil }

func (b *podBackend) Generation() uint64 { return b.generation.Load() }

func (b *podBackend) Send(ctx context.Context, line []byte, done func()) error {
	w := b.current.Load()
	if w == nil {
		return errors.New("the stdio backend pod is not attached; retry shortly")
	}
	return w.send(ctx, line, done)
}

// Reset detaches; run attaches again at once.
func (b *podBackend) Reset(reason string) {
	b.log.Warn("re-attaching to the stdio backend pod", "reason", reason)
	b.detach()
	b.poke()
}

// run reconciles the attachment with the pods whenever they change, and
// retries a failed attach with backoff.
func (b *podBackend) run(ctx context.Context) {
	defer b.shutdown()
	backoff := 500 * time.Millisecond
	for {
		if err := b.reconcile(ctx); err != nil {
			b.log.Warn("attach to the backend pod failed", "error", err, "retry", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		backoff = 500 * time.Millisecond
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
		}
	}
}

// shutdown detaches and stops the back-off timer: nothing outlives ctx.
func (b *podBackend) shutdown() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.detachLocked()
	if b.retry != nil {
		b.retry.Stop()
	}
}

func (b *podBackend) reconcile(ctx context.Context) error {
	target, id := runningPod(b.pods())
	b.mu.Lock()
	current := b.attachedTo
	heldOff := id == b.heldOff && time.Now().Before(b.retryAt)
	b.mu.Unlock()
	if current == id && id != (podIdentity{}) {
		return nil
	}
	if current != (podIdentity{}) {
		b.log.Info("backend pod replaced or gone; detaching")
		b.detach()
	}
	if target == nil || heldOff { // a held-off run: the retry timer pokes
		return nil
	}
	streamCtx, stop := context.WithCancel(ctx)
	stdin, stdout, err := b.attach(streamCtx, target)
	if err != nil {
		stop()
		return fmt.Errorf("attach to pod %s: %w", target.Name, err)
	}
	w := startWriter(stdin, b.writeTimeout, b.stats, func(err error) {
		b.log.Warn("stdio backend pod input failed; attaching again", "pod", target.Name, "error", err)
		b.detachFrom(id)
		b.poke()
	})
	b.mu.Lock()
	b.writer, b.attachedTo, b.attachedPod, b.stop = w, id, target.Name, stop
	if id != b.last {
		b.generation.Add(1) // a new process: the mux initializes it again
		b.last = id
	}
	b.current.Store(w)
	b.mu.Unlock()
	b.log.Info("attached to the backend pod", "pod", target.Name)
	start := time.Now()
	go func() {
		err := readLines(streamCtx, stdout, b.recv, b.log, b.stats)
		b.ended(id, target.Name, time.Since(start), err)
	}()
	return nil
}

// ended handles a stream that ended by itself: detach and look again, at
// once unless the stream ended quickly, when the same run is held off.
func (b *podBackend) ended(id podIdentity, pod string, lived time.Duration, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.attachedTo != id { // detached on purpose: replaced, gone or shut down
		return
	}
	b.detachLocked()
	if lived >= b.quick {
		b.heldOff, b.retryAt, b.backoff = podIdentity{}, time.Time{}, 0
		b.log.Warn("attach stream to the backend pod ended", "pod", pod, "error", err)
		b.poke()
		return
	}
	if b.heldOff == id {
		b.backoff = min(2*b.backoff, b.maxBackoff)
	} else {
		b.heldOff, b.backoff = id, b.minBackoff
	}
	b.retryAt = time.Now().Add(b.backoff)
	if b.retry != nil {
		b.retry.Stop()
	}
	b.retry = time.AfterFunc(b.backoff, b.poke)
	b.log.Warn("attach stream to the backend pod ended right after it began; backing off",
		"pod", pod, "error", err, "lived", lived, "retry", b.backoff)
	b.poke() // a new run need not wait
}

// detach closes the stream, so that no attachment outlives its pod.
func (b *podBackend) detach() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.detachLocked()
}

// detachFrom detaches if the attachment is still to id.
func (b *podBackend) detachFrom(id podIdentity) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.attachedTo == id {
		b.detachLocked()
	}
}

// detachLocked closes the stream; closing never waits on I/O.
func (b *podBackend) detachLocked() {
	b.current.Store(nil)
	if b.stop != nil {
		b.stop()
	}
	if b.writer != nil {
		b.writer.close()
	}
	b.writer, b.attachedTo, b.attachedPod, b.stop = nil, podIdentity{}, "", nil
}

// initLogLimit bounds how much of the container's log is searched for its
// initialize result: the answer to the first request comes early.
const initLogLimit = 1 << 20

// InitializeResult is what the server in the attached container said about
// itself first in this run (initializeResultIn), read from the container's
// log (its stdout). A proxy that attaches to a server another proxy initialized (a
// rolling update, a second replica) needs it: servers refuse a second
// initialize, and the proxy's Role can read pod logs but write nothing.
func (b *podBackend) InitializeResult(ctx context.Context, requested string) (json.RawMessage, error) {
	b.mu.Lock()
	pod, gen := b.attachedPod, b.generation.Load()
	b.mu.Unlock()
	if pod == "" {
		return nil, errors.New("the stdio backend pod is not attached")
	}
	log, err := b.logs(ctx, pod)
	if err != nil {
		return nil, fmt.Errorf("read the log of pod %s: %w", pod, err)
	}
	defer func() { _ = log.Close() }()
	result, err := initializeResultIn(log, requested)
	if err != nil {
		return nil, fmt.Errorf("pod %s: %w", pod, err)
	}
	if b.Generation() != gen {
		return nil, errors.New("the stdio backend restarted while its log was read")
	}
	return result, nil
}

// runningPod is the newest pod whose mcp container runs.
func runningPod(pods []*corev1.Pod) (*corev1.Pod, podIdentity) {
	sorted := append([]*corev1.Pod(nil), pods...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].CreationTimestamp.After(sorted[j].CreationTimestamp.Time) })
	for _, p := range sorted {
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == naming.MCPContainer && cs.State.Running != nil {
				return p, podIdentity{uid: p.UID, restarts: cs.RestartCount}
			}
		}
	}
	return nil, podIdentity{}
}

// KubeAttach is the real AttachFunc: the attach subresource over WebSocket,
// falling back to SPDY for API servers that do not upgrade to WebSocket.
func KubeAttach(cfg *rest.Config, client kubernetes.Interface) AttachFunc {
	return func(ctx context.Context, pod *corev1.Pod) (io.WriteCloser, io.ReadCloser, error) {
		req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(pod.Namespace).Name(pod.Name).
			SubResource("attach").VersionedParams(&corev1.PodAttachOptions{
			Container: naming.MCPContainer, Stdin: true, Stdout: true, TTY: false,
		}, scheme.ParameterCodec)
		ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
		if err != nil {
			return nil, nil, fmt.Errorf("websocket executor: %w", err)
		}
		spdy, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
		if err != nil {
			return nil, nil, fmt.Errorf("spdy executor: %w", err)
		}
		exec, err := remotecommand.NewFallbackExecutor(ws, spdy, httpstream.IsUpgradeFailure)
		if err != nil {
			return nil, nil, fmt.Errorf("fallback executor: %w", err)
		}
		return attachStream(ctx, exec, attachSettle, attachTimeout)
	}
}

const (
	// attachTimeout bounds the wait for the API server to set up a stream.
	attachTimeout = 30 * time.Second
	// attachSettle is how long a new stream must stay up to count. Over
	// WebSocket the API server upgrades the connection before it dials the
	// kubelet (apiserver's StreamTranslatorHandler.ServeHTTP), so a container
	// that has already exited is only reported on the error stream, a round
	// trip after the client's streams are up.
	attachSettle = 500 * time.Millisecond
)

// attachStream runs exec in the background and returns its stdin and stdout
// once the stream is established and has stayed up for settle; or the error
// that ended it sooner, so that no stream that never worked counts as
// attached. The stream ends when ctx does.
func attachStream(ctx context.Context, exec remotecommand.Executor, settle, timeout time.Duration) (io.WriteCloser, io.ReadCloser, error) {
	streamCtx, cancel := context.WithCancel(ctx)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	// The first Read of stdin is the sign that the stream is up: client-go's
	// executors (websocket.go, spdy.go StreamWithContext) negotiate the
	// upgrade, then every protocol's stream (v1.go; v2.go to v5.go through
	// copyStdin) creates all its streams before it starts copying stdin.
	up := &firstRead{Reader: inR, read: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		defer cancel()
		err := exec.StreamWithContext(streamCtx, remotecommand.StreamOptions{Stdin: up, Stdout: outW})
		_ = inR.CloseWithError(err)
		_ = outW.CloseWithError(errors.Join(err, io.EOF))
		done <- err
	}()
	fail := func(err error) (io.WriteCloser, io.ReadCloser, error) {
		cancel()
		_ = inW.Close()
		_ = outR.Close()
		return nil, nil, err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-up.read:
	case err := <-done:
		return fail(endedEarly("before it was established", err))
	case <-timer.C:
		return fail(fmt.Errorf("attach stream not established within %s", timeout))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	settled := time.NewTimer(settle)
	defer settled.Stop()
	select {
	case <-settled.C:
		return inW, outR, nil
	case err := <-done:
		return fail(endedEarly("right after it was established", err))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
}

func endedEarly(when string, err error) error {
	if err == nil {
		return fmt.Errorf("attach stream ended %s", when)
	}
	return fmt.Errorf("attach stream ended %s: %w", when, err)
}

// firstRead closes read when Read is first called.
type firstRead struct {
	io.Reader
	once sync.Once
	read chan struct{}
}

func (r *firstRead) Read(p []byte) (int, error) {
	r.once.Do(func() { close(r.read) })
	return r.Reader.Read(p)
}
