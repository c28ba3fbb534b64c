package stdio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// processBackend runs a local stdio MCP server and restarts it with backoff
// when it exits, or when it stops reading or answering.
type processBackend struct {
	command      []string
	log          *slog.Logger
	stats        *Stats
	writeTimeout time.Duration
	recv         chan []byte

	generation atomic.Uint64
	current    atomic.Pointer[writer] // nil while no process runs

	mu   sync.Mutex
	kill func() // ends the running process
}

// NewProcess runs command as a stdio MCP server until ctx ends. A write to
// its stdin that takes longer than writeTimeout (0: no limit) counts as a
// server that stopped reading: it is restarted.
func NewProcess(ctx context.Context, command []string, writeTimeout time.Duration, stats *Stats, log *slog.Logger) (Backend, error) {
	if len(command) == 0 {
		return nil, errors.New("--backend-command is empty")
	}
	b := &processBackend{command: command, log: log, stats: stats, writeTimeout: writeTimeout, recv: make(chan []byte, 64)}
	go b.run(ctx)
	return b, nil
}

func (b *processBackend) Recv() <-chan []byte { return b.recv }

func (b *processBackend) Attached() bool { return b.current.Load() != nil }

func (b *processBackend) Generation() uint64 { return b.generation.Load() }

func (b *processBackend) Send(ctx context.Context, line []byte, done func()) error {
	w := b.current.Load()
	if w == nil {
		return errors.New("the stdio backend is not running; retry shortly")
	}
	return w.send(ctx, line, done)
}

// Reset kills the running process; run starts it again.
func (b *processBackend) Reset(reason string) {
	b.mu.Lock()
	kill := b.kill
	b.mu.Unlock()
	if kill != nil {
		b.log.Warn("restarting the stdio backend", "reason", reason)
		kill()
	}
}

// run starts the process, and starts it again after it exits, waiting twice
// as long each time it dies quickly (up to 30 s), until ctx ends.
func (b *processBackend) run(ctx context.Context) {
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		started := time.Now()
		err := b.runOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			backoff = 250 * time.Millisecond
		}
		b.log.Warn("stdio backend exited; restarting", "command", b.command[0], "error", err, "after", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (b *processBackend) runOnce(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, b.command[0], b.command[1:]...)
	// A process group of its own: killing the server kills what it started,
	// which may hold its output open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Our own pipe, not StdinPipe's wrapper: closing the *os.File ends a
	// write blocked on a server that stopped reading.
	stdinR, stdin, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("stdin pipe: %w", err)
	}
	cmd.Stdin = stdinR
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	cmd.Cancel = func() error {
		_ = stdout.Close()
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err := cmd.Start(); err != nil {
		_ = stdin.Close()
		_ = stdinR.Close()
		return fmt.Errorf("start %s: %w", b.command[0], err)
	}
	_ = stdinR.Close() // the child's copy
	pid := cmd.Process.Pid
	kill := func() {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = stdout.Close() // ends the read even if something still holds the pipe
	}

	w := startWriter(stdin, b.writeTimeout, b.stats, func(err error) {
		b.log.Warn("stdio backend input failed; restarting it", "error", err)
		kill()
	})
	b.mu.Lock()
	b.kill = kill
	b.mu.Unlock()
	b.generation.Add(1)
	b.current.Store(w)
	b.log.Info("stdio backend started", "command", b.command[0], "pid", cmd.Process.Pid)

	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		drainStderr(stderr, b.log, b.stats)
	}()
	readErr := readLines(ctx, stdout, b.recv, b.log, b.stats)

	b.current.Store(nil)
	w.close()
	kill() // stdout is closed: the server cannot answer any more
	// Wait closes the pipes: read stderr to its end first, unless a child
	// of the server holds it open.
	select {
	case <-stderrDone:
	case <-time.After(2 * time.Second):
	}
	waitErr := cmd.Wait()
	b.mu.Lock()
	b.kill = nil
	b.mu.Unlock()
	return errors.Join(readErr, waitErr)
}
