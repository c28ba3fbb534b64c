// Command proxy carries MCP clients to an MCP server. In Kubernetes the
// operator configures it with flags; by hand, give it a local stdio server:
//
//	proxy --port=8080 --bind-address=127.0.0.1 -- node server.js stdio
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
)

func main() {
	var o proxy.Options
	o.RegisterFlags(flag.CommandLine)
	var command, announce string
	flag.StringVar(&announce, "announce", "", "log this message and exit (the operator's init container in a backend pod says with it where the proxy is)")
	flag.StringVar(&o.BindAddress, "bind-address", "", "interface to listen on (default all)")
	flag.StringVar(&command, "backend-command", "", "a local stdio MCP server to run, as one string (or give it after --)")
	flag.StringVar(&o.BackendURL, "backend-url", "", "a local sse or streamable-http MCP server endpoint, e.g. http://127.0.0.1:3001/mcp; several, comma-separated, share the sessions out")
	flag.Int64Var(&o.MaxBodyBytes, "max-body-bytes", 4<<20, "largest POST body accepted")
	flag.IntVar(&o.MaxSessions, "max-sessions", 10000, "most sessions this proxy holds at once")
	flag.DurationVar(&o.SessionIdleTimeout, "session-idle-timeout", 30*time.Minute, "end sessions idle for this long")
	flag.Parse()
	o.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if announce != "" {
		o.Log.Info(announce)
		return
	}

	o.BackendCommand = flag.Args()
	if command != "" {
		o.BackendCommand = strings.Fields(command)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	// The backend outlives the drain: it is stopped only when main returns.
	backendCtx, stopBackend := context.WithCancel(context.Background())
	defer stopBackend()
	s, err := proxy.New(backendCtx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(1)
	}
	o.Log.Info("listening", "address", s.Addr(), "transport", o.Transport, "proxyMode", o.ProxyMode)
	if err := s.Serve(ctx); err != nil {
		o.Log.Error("proxy stopped", "error", err)
		os.Exit(1)
	}
}
