// Command mcpserver is the project's own MCP test server, built on the
// official Go SDK (package mcptest): tools echo, add, progress, whoami, pid
// and crash, over stdio, streamable HTTP (at /mcp) or legacy SSE (at /sse). Tests run it as a separate
// backend process, and `make images` ships it as the quickstart's server.
//
//	mcpserver                                   # stdio
//	mcpserver --transport=streamable-http --addr=127.0.0.1:8080   # at /mcp
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
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
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, *transport, *addr, *name, *stateless, log); err != nil {
		log.Error("mcpserver stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, transport, addr, name string, stateless bool, log *slog.Logger) error {
	server := mcptest.NewServerNamed(name)
	switch transport {
	case "stdio":
		return server.Run(ctx, &mcp.StdioTransport{})
	case "streamable-http", "sse":
		get := func(*http.Request) *mcp.Server { return server }
		mux := http.NewServeMux()
		mux.Handle("/mcp", mcp.NewStreamableHTTPHandler(get, &mcp.StreamableHTTPOptions{Stateless: stateless}))
		mux.Handle("/sse", mcp.NewSSEHandler(get, nil))
		srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			<-ctx.Done()
			shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(shutdown)
		}()
		log.Info("serving streamable HTTP at /mcp and SSE at /sse", "addr", addr, "name", name)
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		return nil
	}
	return fmt.Errorf("--transport=%q: use stdio, streamable-http or sse", transport)
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
