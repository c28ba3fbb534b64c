// Command mcpserver is the project's own MCP test server, built on the
// official Go SDK (package mcptest): tools echo, add, progress, whoami, pid
// and crash, over stdio, streamable HTTP (at /mcp) or legacy SSE (at /sse). Tests run it as a separate
// backend process, and `make images` ships it as the quickstart's server.
//
//	mcpserver                                   # stdio
//	mcpserver --transport=streamable-http --addr=127.0.0.1:8080   # at /mcp
//	mcpserver --dial=10.0.0.7:8080              # a TCP connection attempt
//
// --dial is the e2e tests' probe of NetworkPolicies in an image without a
// shell: it tries one TCP connection, prints "connected" or why not, and
// exits 0 or 1.
//
// With OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
// set it exports spans over OTLP (OTEL_EXPORTER_OTLP_PROTOCOL: grpc or
// http/protobuf, the default), as service OTEL_SERVICE_NAME ("mcpserver"):
// one per HTTP request, and one per MCP message that continues the trace in
// params._meta, else the HTTP request's.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
)

func main() {
	host, _ := os.Hostname()
	transport := flag.String("transport", envOr("MCP_TRANSPORT", "stdio"), "stdio, streamable-http or sse")
	addr := flag.String("addr", ":"+envOr("MCP_PORT", "8080"), "where streamable HTTP listens")
	name := flag.String("name", host, "what the whoami tool answers (default: the host name, in Kubernetes the pod name)")
	stateless := flag.Bool("stateless", false, "serve streamable HTTP without sessions (the 2026-07-28 era)")
	dial := flag.String("dial", "", "only try one TCP connection to host:port, print the outcome and exit (0: connected)")
	dialTimeout := flag.Duration("dial-timeout", 3*time.Second, "how long --dial waits")
	flag.Parse()
	if *dial != "" {
		os.Exit(probe(*dial, *dialTimeout))
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, config{transport: *transport, addr: *addr, name: *name, stateless: *stateless}, log); err != nil {
		log.Error("mcpserver stopped", "error", err)
		os.Exit(1)
	}
}

// config is how the server runs: its flags, and the stdio streams (the
// process's own unless a test gives others).
type config struct {
	transport, addr, name string
	stateless             bool
	stdio                 mcp.Transport
}

func run(ctx context.Context, c config, log *slog.Logger) error {
	tr, err := startTracing(ctx)
	if err != nil {
		return err
	}
	defer tr.shutdown(log)
	server := mcptest.NewServerNamed(c.name)
	tr.instrument(server)
	switch c.transport {
	case "stdio":
		if c.stdio == nil {
			c.stdio = &mcp.StdioTransport{}
		}
		return server.Run(ctx, c.stdio)
	case "streamable-http", "sse":
		get := func(*http.Request) *mcp.Server { return server }
		mux := http.NewServeMux()
		mux.Handle("/mcp", mcp.NewStreamableHTTPHandler(get, &mcp.StreamableHTTPOptions{Stateless: c.stateless}))
		mux.Handle("/sse", mcp.NewSSEHandler(get, nil))
		srv := &http.Server{Addr: c.addr, Handler: tr.handler(mux), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			<-ctx.Done()
			shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(shutdown)
		}()
		log.Info("serving streamable HTTP at /mcp and SSE at /sse", "addr", c.addr, "name", c.name)
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("listen on %s: %w", c.addr, err)
		}
		return nil
	}
	return fmt.Errorf("--transport=%q: use stdio, streamable-http or sse", c.transport)
}

// probe tries one TCP connection: a NetworkPolicy that drops it shows as
// a timeout, a failed name lookup as "lookup ...".
func probe(addr string, timeout time.Duration) int {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		fmt.Println("not connected:", err)
		return 1
	}
	_ = c.Close()
	fmt.Println("connected")
	return 0
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
