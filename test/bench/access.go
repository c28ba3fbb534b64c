package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
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
