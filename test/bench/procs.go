package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// procs are the processes a bench section started; stop ends them all.
type procs []*exec.Cmd

func (p *procs) start(name string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(name), err)
	}
	*p = append(*p, cmd)
	return cmd, nil
}

// stop asks every process to end (SIGTERM: a proxy then ends its stdio
// server itself, which leaves no orphan behind) and kills what is still
// there after a few seconds.
func (p *procs) stop() {
	for _, cmd := range *p {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, cmd := range *p {
		timer := time.AfterFunc(3*time.Second, func() { _ = cmd.Process.Kill() })
		_ = cmd.Wait()
		timer.Stop()
	}
}

// buildBinaries builds cmd/proxy and test/mcpserver into a new directory.
func buildBinaries() (dir string, err error) {
	dir, err = os.MkdirTemp("", "switchboard-bench-")
	if err != nil {
		return "", err
	}
	if out, err := exec.Command("go", "build", "-o", dir+"/", "./cmd/proxy", "./test/mcpserver").CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return dir, nil
}

// startSwitchboard runs cmd/proxy of bin on a free loopback port with the
// flags that pick its backend, and returns its base URL once /health
// answers (the proxy's backend is then up too).
func (p *procs) startSwitchboard(bin string, flags ...string) (string, *exec.Cmd, error) {
	addr := freeAddr()
	_, port, _ := net.SplitHostPort(addr)
	args := append([]string{"--bind-address=127.0.0.1", "--port=" + port, "--max-sessions=1048576",
		"--drain-delay=0", "--drain-timeout=1s"}, flags...)
	cmd, err := p.start(bin+"/proxy", args...)
	if err != nil {
		return "", nil, err
	}
	base := "http://" + addr
	if err := waitHealthy(base + "/health"); err != nil {
		return "", nil, fmt.Errorf("proxy %v: %w", flags, err)
	}
	return base, cmd, nil
}

// startServer runs test/mcpserver of bin over streamable HTTP and returns
// its endpoint.
func (p *procs) startServer(bin string) (string, error) {
	addr := freeAddr()
	if _, err := p.start(bin+"/mcpserver", "--transport=streamable-http", "--addr="+addr); err != nil {
		return "", err
	}
	if err := waitListening(addr); err != nil {
		return "", fmt.Errorf("mcpserver: %w", err)
	}
	return "http://" + addr + "/mcp", nil
}

func waitHealthy(url string) error {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s never answered 200", url)
		}
	}
}

func waitListening(addr string) error {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listened on %s", addr)
		}
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// helper runs one of the project's install scripts (they print the path
// of what they installed or built, cached in bin/) and returns that path,
// or why there is none. Their progress goes on to standard error: a first
// build of ToolHive takes minutes.
func helper(script string) (string, error) {
	var stderr strings.Builder
	cmd := exec.Command(script)
	cmd.Stderr = io.MultiWriter(os.Stderr, &stderr)
	out, err := cmd.Output()
	if err != nil {
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
			if !strings.Contains(l, "still building") {
				lines = append(lines, strings.TrimSpace(l))
			}
		}
		return "", fmt.Errorf("%s: %w: %s", script, err, strings.Join(lines[max(0, len(lines)-6):], " | "))
	}
	path := strings.TrimSpace(string(out))
	if path == "" {
		return "", errors.New(script + " printed no path")
	}
	return path, nil
}
