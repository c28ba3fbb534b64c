// Command oidc-provider runs package oidcprovider as a process, for clusters
// and scripts: an OpenID provider serving discovery, JWKS, the
// client_credentials grant and RFC 7662 introspection over plain HTTP, with
// /healthz and /ready for probes. `make images` ships it as
// switchboard/oidc-provider:dev.
//
//	oidc-provider --clients='[{"id":"alice","secret":"s","groups":["eng"],"audience":"switchboard"}]'
//	oidc-provider --addr=0.0.0.0:8080 --issuer=http://oidc.test.svc:8080 --clients-file=/etc/oidc/clients.json
//
// The client list is JSON (see oidcprovider.ParseClients): id, secret,
// groups, audience, tokenType ("jwt" or "opaque") and lifetime ("30s").
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/switchboard-mcp/switchboard/test/oidcprovider"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "where to listen (a pod passes 0.0.0.0:8080)")
	issuer := flag.String("issuer", "", "the tokens' iss and the base of the endpoints in discovery (default http://<addr>); what clients reach the provider by")
	inline := flag.String("clients", "", "the clients as a JSON list")
	file := flag.String("clients-file", "", "a file holding the clients as a JSON list (added to --clients)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, *issuer, *inline, *file, log); err != nil {
		log.Error("oidc-provider stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, issuer, inline, file string, log *slog.Logger) error {
	clients, err := readClients(inline, file)
	if err != nil {
		return err
	}
	p, err := oidcprovider.Start(ctx, oidcprovider.Options{Issuer: issuer, Addr: addr, Clients: clients})
	if err != nil {
		return err
	}
	ids := make([]string, len(clients))
	for i, c := range clients {
		ids[i] = c.ID
	}
	log.Info("oidc-provider serving", "addr", addr, "issuer", p.Issuer(), "clients", ids)
	<-ctx.Done()
	return p.Close()
}

func readClients(inline, file string) ([]oidcprovider.Client, error) {
	var clients []oidcprovider.Client
	if inline != "" {
		cs, err := oidcprovider.ParseClients([]byte(inline))
		if err != nil {
			return nil, fmt.Errorf("--clients: %w", err)
		}
		clients = append(clients, cs...)
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--clients-file: %w", err)
		}
		cs, err := oidcprovider.ParseClients(data)
		if err != nil {
			return nil, fmt.Errorf("--clients-file %s: %w", file, err)
		}
		clients = append(clients, cs...)
	}
	if len(clients) == 0 {
		return nil, fmt.Errorf("no clients: pass --clients or --clients-file")
	}
	return clients, nil
}
