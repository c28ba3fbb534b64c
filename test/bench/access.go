package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
	"github.com/switchboard-mcp/switchboard/test/oidcprovider"
)

// startAccessProxy is a streamable-http proxy in front of backend that
// authenticates with tokens of a real OpenID provider (zitadel's OP, on
// loopback), authorizes with a Cedar policy and curates the tools (echo
// is listed and called as itself, add is filtered out). It returns the
// proxy's URL and a token that may call echo.
func startAccessProxy(ctx context.Context, backend string) (string, string, func(), error) {
	idp, err := oidcprovider.Start(ctx, oidcprovider.Options{Clients: []oidcprovider.Client{
		{ID: "bench", Secret: "s", Groups: []string{"eng"}, Audience: "bench"}}})
	if err != nil {
		return "", "", nil, fmt.Errorf("start the OpenID provider: %w", err)
	}
	dir, err := os.MkdirTemp("", "bench-access")
	if err != nil {
		_ = idp.Close()
		return "", "", nil, err
	}
	cleanup := func() { _ = idp.Close(); _ = os.RemoveAll(dir) }
	doc, _ := json.Marshal(proxyconfig.Access{
		OIDC: &proxyconfig.OIDC{Type: proxyconfig.OIDCInline, Issuer: idp.Issuer(), Audience: "bench", InsecureAllowHTTP: true, JWKSAllowPrivateIP: true},
		Authz: &proxyconfig.Authz{Policies: []string{
			`permit(principal in THVGroup::"eng", action == Action::"call_tool", resource == Tool::"echo");`}},
		Tools: &proxyconfig.Tools{Filter: []string{"echo"},
			Overrides: map[string]proxyconfig.ToolOverride{"echo": {Description: "Echoes its text."}}},
	})
	file := filepath.Join(dir, "access.json")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		cleanup()
		return "", "", nil, err
	}
	token, err := idp.Token(ctx, "bench")
	if err != nil {
		cleanup()
		return "", "", nil, fmt.Errorf("get a token: %w", err)
	}
	base, stop, err := startProxy(ctx, proxy.Options{Config: proxyconfig.Config{Transport: "streamable-http"},
		Local: proxyconfig.Local{BackendURL: backend, AccessFile: file}})
	if err != nil {
		cleanup()
		return "", "", nil, err
	}
	return base, token, func() { stop(); cleanup() }, nil
}

// accessCost measures what authentication, authorization and curation add
// to a call: the same proxy with them off and on, one session each,
// alternating for rounds so that both see the same machine, and the
// median of the per-round p50 differences.
func accessCost(ctx context.Context, off, on, token string, rounds int, d time.Duration) error {
	fmt.Printf("\naccess control cost: tools/call echo, 1 session, %d alternating rounds of %s\n", rounds, d)
	var diffs []time.Duration
	var offs, ons []time.Duration
	for range rounds {
		a, err := load(ctx, func() mcp.Transport { return &mcp.StreamableClientTransport{Endpoint: off + "/mcp"} }, 1, d)
		if err != nil {
			return fmt.Errorf("access off: %w", err)
		}
		b, err := load(ctx, func() mcp.Transport {
			return &mcp.StreamableClientTransport{Endpoint: on + "/mcp", HTTPClient: &http.Client{Transport: proxytest.Bearer(token, nil)}}
		}, 1, d)
		if err != nil {
			return fmt.Errorf("access on: %w", err)
		}
		offs, ons, diffs = append(offs, a.P50), append(ons, b.P50), append(diffs, b.P50-a.P50)
	}
	slices.Sort(diffs)
	slices.Sort(offs)
	slices.Sort(ons)
	fmt.Printf("p50 off (median of rounds) %s, on %s\n", offs[len(offs)/2].Round(time.Microsecond), ons[len(ons)/2].Round(time.Microsecond))
	fmt.Printf("=> OIDC + Cedar + tool curation add p50 %+.3f ms (median of per-round differences; range %+.3f … %+.3f ms)\n",
		ms(diffs[len(diffs)/2]), ms(diffs[0]), ms(diffs[len(diffs)-1]))
	return nil
}
