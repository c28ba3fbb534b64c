package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// otlpSink is an OTLP/HTTP collector that takes every export and keeps
// only the count of bytes received, so that the bench pays for real
// exports without a trace backend.
type otlpSink struct {
	*httptest.Server
	bytes atomic.Int64
}

func startSink() *otlpSink {
	s := &otlpSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		s.bytes.Add(n)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	return s
}

// observeAlone runs only the observe section.
func observeAlone() error {
	bin, err := buildBinaries()
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(bin) }()
	return observeCost(context.Background(), bin, 15, time.Second)
}

// proxyProcess runs the proxy binary of bin in front of backend with the
// extra flags, its standard output (the audit events) to out, and returns
// its base URL once healthy.
func proxyProcess(bin, backend string, out *os.File, flags ...string) (string, func(), error) {
	addr := freeAddr()
	_, port, _ := net.SplitHostPort(addr)
	args := append([]string{"--transport=streamable-http", "--bind-address=127.0.0.1", "--port=" + port,
		"--backend-url=" + backend, "--max-sessions=1048576"}, flags...)
	cmd := exec.Command(bin+"/proxy", args...)
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/health"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return "http://" + addr, stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("the proxy %v never became healthy", flags)
		}
	}
}

// observeCost measures what audit events and tracing add to a call: the
// same proxy with both off, and on at sampling 1.0 and 0.05, one session
// each, alternating for rounds so that all see the same machine; the
// median of the per-round p50 differences against off.
func observeCost(ctx context.Context, bin string, rounds int, d time.Duration) error {
	sink := startSink()
	defer sink.Close()
	audit, err := os.CreateTemp("", "bench-audit-*.jsonl")
	if err != nil {
		return err
	}
	defer func() { _ = audit.Close(); _ = os.Remove(audit.Name()) }()
	// Each proxy is a process of its own, as in a pod, in front of the
	// same test server process.
	serverAddr := freeAddr()
	server := exec.Command(bin+"/mcpserver", "--transport=streamable-http", "--addr="+serverAddr)
	if err := server.Start(); err != nil {
		return err
	}
	defer func() { _ = server.Process.Kill(); _ = server.Wait() }()
	backend := "http://" + serverAddr + "/mcp"
	observe := func(rate string) []string {
		return []string{"--audit", "--otel-endpoint=" + sink.Listener.Addr().String(), "--otel-insecure", "--otel-tracing", "--otel-sampling-rate=" + rate}
	}
	var endpoints []struct{ name, base string }
	for _, p := range []struct {
		name  string
		flags []string
	}{{"off", nil}, {"audit + tracing 1.0", observe("1")}, {"audit + tracing 0.05", observe("0.05")}} {
		base, stop, err := proxyProcess(bin, backend, audit, p.flags...)
		if err != nil {
			return err
		}
		defer stop()
		endpoints = append(endpoints, struct{ name, base string }{p.name, base})
	}

	fmt.Printf("\naudit + tracing cost: tools/call echo, proxy and server processes of their own, 1 session, %d rounds of %s each, the order turning each round\n", rounds, d)
	p50s := make([][]time.Duration, len(endpoints))
	diffs := make([][]time.Duration, len(endpoints))
	for round := range rounds {
		// Each round measures all three, in an order that turns with the
		// round, so that none always runs first or last on a busy machine.
		got := make([]time.Duration, len(endpoints))
		for k := range endpoints {
			i := (k + round) % len(endpoints)
			e := endpoints[i]
			r, err := load(ctx, func() mcp.Transport { return &mcp.StreamableClientTransport{Endpoint: e.base + "/mcp"} }, 1, d)
			if err != nil {
				return fmt.Errorf("%s: %w", e.name, err)
			}
			got[i] = r.P50
		}
		for i := range endpoints {
			p50s[i], diffs[i] = append(p50s[i], got[i]), append(diffs[i], got[i]-got[0])
		}
	}
	for i, e := range endpoints {
		slices.Sort(p50s[i])
		slices.Sort(diffs[i])
		line := fmt.Sprintf("%-22s p50 (median of rounds) %s", e.name, p50s[i][rounds/2].Round(time.Microsecond))
		if i > 0 {
			line += fmt.Sprintf("  => adds %+.3f ms (median of per-round differences; range %+.3f … %+.3f ms)",
				ms(diffs[i][rounds/2]), ms(diffs[i][0]), ms(diffs[i][rounds-1]))
		}
		fmt.Println(line)
	}
	info, _ := audit.Stat()
	fmt.Printf("exported %d bytes of traces; wrote %d bytes of audit events\n", sink.bytes.Load(), info.Size())
	if sink.bytes.Load() == 0 || info.Size() == 0 {
		return fmt.Errorf("no traces (%d bytes) or no audit events (%d bytes) came out: the measure measured nothing", sink.bytes.Load(), info.Size())
	}
	return nil
}
