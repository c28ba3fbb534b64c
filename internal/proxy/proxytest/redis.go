package proxytest

import (
	"net"
	"os/exec"
	"testing"
	"time"
)

// Redis is Debian's redis-server on a loopback port, without persistence.
type Redis struct {
	Addr string
	cmd  *exec.Cmd
}

// StartRedis runs redis-server at addr (a free loopback port when empty)
// until Stop or the end of the test.
func StartRedis(t testing.TB, addr string) *Redis {
	t.Helper()
	if addr == "" {
		addr = FreeAddr(t)
	}
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", "--bind", host, "--port", port, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server (hack/install-redis.sh installs it): %v", err)
	}
	r := &Redis{Addr: addr, cmd: cmd}
	t.Cleanup(r.Stop)
	WaitListening(t, addr, 10*time.Second)
	return r
}

// Stop kills the server.
func (r *Redis) Stop() {
	if r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
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
