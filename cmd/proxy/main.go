// Command proxy carries MCP clients to an MCP server. In Kubernetes the
// operator configures it with flags; by hand, give it a local stdio server:
//
//	proxy --port=8080 -- node server.js stdio
//
// `proxy announce MESSAGE` logs the message and exits (the backend pod's
// init container says with it where the proxy is).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if len(os.Args) > 1 && os.Args[1] == proxyconfig.AnnounceCommand {
		log.Info(strings.Join(os.Args[2:], " "))
		return
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// One P: the proxy relays, it does not compute. Each extra P is
		// another thread to wake per message; with one, a relayed call
		// cost about 30 % less CPU and more calls went through at 8 and
		// 32 sessions (docs/benchmarks.md). GOMAXPROCS in the environment
		// (resourceOverrides.proxyDeployment.env) still decides.
		runtime.GOMAXPROCS(1)
	}
	o := proxy.Options{Log: log}
	o.Config.RegisterFlags(flag.CommandLine)
	o.Local.RegisterFlags(flag.CommandLine)
	flag.Parse()
	if len(o.BackendCommand) == 0 {
		o.BackendCommand = flag.Args()
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
	log.Info("listening", "address", s.Addr(), "transport", o.Transport, "proxyMode", o.ProxyMode)
	if err := s.Serve(ctx); err != nil {
		log.Error("proxy stopped", "error", err)
		os.Exit(1)
	}
}
