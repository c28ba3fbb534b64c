// Command toolhive-proxy runs ToolHive's transparent proxy
// (github.com/stacklok/toolhive/pkg/transport/proxy/transparent, the proxy
// `thv` puts in front of a streamable-HTTP server) as a process of its own,
// so that `make bench` can measure it beside Switchboard's proxy in the same
// run. It is a module of its own so that ToolHive's dependencies (and its
// Go 1.27 floor) stay out of the project's go.mod.
//
//	toolhive-proxy --addr=127.0.0.1:8081 --target=http://127.0.0.1:8080
//
// It proxies every path to the target unchanged (no auth, no middlewares,
// no health checks), listening on addr.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/stacklok/toolhive/pkg/transport/proxy/transparent"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "where the proxy listens")
	target := flag.String("target", "", "the streamable-HTTP server's base URL, e.g. http://127.0.0.1:8080")
	flag.Parse()
	if err := run(*addr, *target); err != nil {
		fmt.Fprintln(os.Stderr, "toolhive-proxy:", err)
		os.Exit(1)
	}
}

func run(addr, target string) error {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr=%q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("--addr=%q: %w", addr, err)
	}
	p := transparent.NewTransparentProxyWithOptions(host, port, target,
		nil, nil, nil, // no metrics, auth info or prefix handlers
		false, false, "streamable-http", // no health check; a local server
		nil, nil, "", false, nil)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := p.Start(ctx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.Stop(shutdown)
}
