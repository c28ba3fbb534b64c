package proxytest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Redis is Debian's redis-server without persistence, run by a test. It is
// always the test's own process: StartRedis refuses an address where
// something else listens, and Stop stops only that process.
type Redis struct {
	Addr string
	cmd  *exec.Cmd
	out  *Buffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit, once done is closed
	stop sync.Once
	// dial reaches the server, in plain text or TLS.
	dial func(addr string) (net.Conn, error)
}

func dialPlain(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, time.Second) }

// StartRedis runs redis-server at addr (a free loopback port when empty)
// until Stop or the end of the test. It fails the test, and leaves the
// other process alone, when something already listens at addr or the
// server it started exits before it answers.
func StartRedis(t testing.TB, addr string) *Redis {
	t.Helper()
	if addr == "" {
		addr = FreeAddr(t)
	}
	r, err := startRedis(addr, 10*time.Second, dialPlain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// startRedis runs redis-server at addr with extra arguments (after the
// address's), reached by dial.
func startRedis(addr string, within time.Duration, dial func(string) (net.Conn, error), extra ...string) (*Redis, error) {
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis: something already listens on %s; a test runs its own redis-server, and never uses or stops another: pick a free address", addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("redis: address %q: %w", addr, err)
	}
	// Protected mode refuses clients of a non-loopback bind without a
	// password (the e2e Redis binds the pod network's gateway).
	r := &Redis{Addr: addr, out: &Buffer{}, done: make(chan struct{}), dial: dial}
	args := append([]string{"--bind", host, "--port", port, "--save", "", "--appendonly", "no", "--protected-mode", "no"}, extra...)
	r.cmd = exec.Command("redis-server", args...)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("redis-server (hack/install-redis.sh installs it): %w", err)
	}
	go func() {
		if r.err = r.cmd.Wait(); r.err == nil {
			r.err = errors.New("exit status 0")
		}
		close(r.done)
	}()
	if err := r.waitOwn(within); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}

// waitOwn waits until the server answers at r.Addr and is r's own process,
// told by the process id it reports.
func (r *Redis) waitOwn(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		select {
		case <-r.done:
			return fmt.Errorf("redis: redis-server for %s exited (%w) before it answered:\n%s", r.Addr, r.err, r.out.String())
		default:
		}
		pid, err := redisPID(r.dial, r.Addr)
		switch {
		case err == nil && pid == r.cmd.Process.Pid:
			return nil
		case err == nil:
			return fmt.Errorf("redis: the server answering on %s is process %d, not the redis-server this test started (%d); "+
				"another process took the address: left alone", r.Addr, pid, r.cmd.Process.Pid)
		case time.Now().After(deadline):
			return fmt.Errorf("redis: redis-server did not answer on %s within %s (%w):\n%s", r.Addr, within, err, r.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// redisPID asks the server at addr for its process id (INFO server).
func redisPID(dial func(string) (net.Conn, error), addr string) (int, error) {
	c, err := dial(addr)
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "INFO server\r\n"); err != nil {
		return 0, err
	}
	br := bufio.NewReader(c)
	head, err := br.ReadString('\n')
	if err != nil {
		return 0, err
	}
	if !strings.HasPrefix(head, "$") {
		// -LOADING and the like: not ready yet.
		return 0, fmt.Errorf("INFO answered %q", strings.TrimSpace(head))
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[1:]))
	if err != nil {
		return 0, fmt.Errorf("INFO answered %q", strings.TrimSpace(head))
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(body), "\r\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("INFO names no process_id")
}

// Stop kills the server this test started, and waits for it to exit.
func (r *Redis) Stop() {
	r.stop.Do(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
	})
}

// FreeAddr is a loopback host:port nothing listens on right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// WaitListening waits until addr accepts a connection.
func WaitListening(t testing.TB, addr string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listened on %s within %s", addr, within)
		}
	}
}
