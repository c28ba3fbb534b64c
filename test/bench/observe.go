package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
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

// observed is a streamable-http proxy in front of backend with audit
// events on (written to a file, as a container's stdout is) and traces at
// the sampling rate exported over OTLP/HTTP to sink.
func observed(ctx context.Context, backend string, sink *otlpSink, rate float64, audit *os.File) (string, func(), error) {
	return startProxy(ctx, proxy.Options{
		Config: proxyconfig.Config{Transport: "streamable-http",
			Audit: proxyconfig.Audit{Enabled: true},
			Telemetry: proxyconfig.Telemetry{Endpoint: sink.Listener.Addr().String(), Protocol: proxyconfig.OTLPHTTP, Insecure: true,
				Tracing: true, SamplingRate: rate}},
		Local:    proxyconfig.Local{BackendURL: backend},
		AuditOut: audit,
	})
}

// observeCost measures what audit events and tracing add to a call: the
// same proxy with both off, and on at sampling 1.0 and 0.05, one session
// each, alternating for rounds so that all see the same machine; the
// median of the per-round p50 differences against off.
func observeCost(ctx context.Context, off, backend string, rounds int, d time.Duration) error {
	sink := startSink()
	defer sink.Close()
	audit, err := os.CreateTemp("", "bench-audit-*.jsonl")
	if err != nil {
		return err
	}
	defer func() { _ = audit.Close(); _ = os.Remove(audit.Name()) }()
	full, stopFull, err := observed(ctx, backend, sink, 1, audit)
	if err != nil {
		return fmt.Errorf("proxy with tracing at 1.0: %w", err)
	}
	defer stopFull()
	sampled, stopSampled, err := observed(ctx, backend, sink, 0.05, audit)
	if err != nil {
		return fmt.Errorf("proxy with tracing at 0.05: %w", err)
	}
	defer stopSampled()

	fmt.Printf("\naudit + tracing cost: tools/call echo, 1 session, %d alternating rounds of %s\n", rounds, d)
	endpoints := []struct{ name, base string }{{"off", off}, {"audit + tracing 1.0", full}, {"audit + tracing 0.05", sampled}}
	p50s := make([][]time.Duration, len(endpoints))
	diffs := make([][]time.Duration, len(endpoints))
	for range rounds {
		var base time.Duration
		for i, e := range endpoints {
			r, err := load(ctx, func() mcp.Transport { return &mcp.StreamableClientTransport{Endpoint: e.base + "/mcp"} }, 1, d)
			if err != nil {
				return fmt.Errorf("%s: %w", e.name, err)
			}
			if i == 0 {
				base = r.p50
			}
			p50s[i], diffs[i] = append(p50s[i], r.p50), append(diffs[i], r.p50-base)
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
