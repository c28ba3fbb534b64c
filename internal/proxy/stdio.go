package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"sync"
	"time"
)

// maxLine bounds one JSON-RPC message on a stdio backend.
const maxLine = 16 << 20

// lineBackend is a stdio MCP server: newline-delimited JSON-RPC in both
// directions. It is a local process here, or a pod reached through the
// Kubernetes attach API.
type lineBackend interface {
	// Send writes one message; it fails while the backend is detached.
	Send(ctx context.Context, line []byte) error
	// Recv delivers every line the backend writes, across restarts.
	Recv() <-chan []byte
	// Attached reports whether messages can flow now.
	Attached() bool
	// Generation increases each time the backend is (re)started, so that
	// cached state (the initialize result) can be dropped.
	Generation() uint64
}

// processBackend runs a local stdio MCP server and restarts it with backoff
// when it exits.
type processBackend struct {
	command []string
	log     *slog.Logger
	recv    chan []byte

	mu         sync.Mutex
	stdin      io.WriteCloser
	generation uint64
	attached   bool
}

func newProcessBackend(ctx context.Context, command []string, log *slog.Logger) (*processBackend, error) {
	if len(command) == 0 {
		return nil, errors.New("--backend-command is empty")
	}
	b := &processBackend{command: command, log: log, recv: make(chan []byte, 64)}
	go b.run(ctx)
	return b, nil
}

func (b *processBackend) Recv() <-chan []byte { return b.recv }

func (b *processBackend) Attached() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.attached
}

func (b *processBackend) Generation() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.generation
}

func (b *processBackend) Send(_ context.Context, line []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.attached {
		return errors.New("the stdio backend is not running")
	}
	if _, err := b.stdin.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("write to the stdio backend: %w", err)
	}
	return nil
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
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", b.command[0], err)
	}
	b.mu.Lock()
	b.stdin, b.attached = stdin, true
	b.generation++
	b.mu.Unlock()
	b.log.Info("stdio backend started", "command", b.command[0], "pid", cmd.Process.Pid)

	go b.logStderr(stderr)
	readErr := readLines(stdout, b.recv)

	b.mu.Lock()
	b.attached = false
	_ = stdin.Close()
	b.mu.Unlock()
	waitErr := cmd.Wait()
	return errors.Join(readErr, waitErr)
}

func (b *processBackend) logStderr(r io.Reader) {
	sc := lineScanner(r)
	for sc.Scan() {
		b.log.Info("stdio backend stderr", "line", sc.Text())
	}
}

// lineScanner reads a stdio server's output line by line, lines of up to
// maxLine.
func lineScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	return sc
}

// readLines sends every non-empty line of r to out until r ends.
func readLines(r io.Reader, out chan<- []byte) error {
	sc := lineScanner(r)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		out <- append([]byte(nil), sc.Bytes()...)
	}
	return sc.Err()
}
