//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// gatewayListener is Traefik's listener on this host (hack/traefik.sh
// installs Traefik and publishes its entry point as a hostPort, as a kind
// cluster publishes its ingress controller): a client outside the cluster
// network reaches the MCPServers only through it.
const gatewayListener = "http://127.0.0.1:18000"

// behindGateway is an MCPServer of the test server behind a gateway that routes
// prefix to it: the proxy advertises its endpoints under prefix, and with
// trust, under the X-Forwarded-Prefix the gateway sends instead.
func behindGateway(name, transport, prefix string, trust bool) string {
	return manifest(name, transport) + fmt.Sprintf("  endpointPrefix: %s\n  trustProxyHeaders: %t\n", prefix, trust)
}

// The README's Ingress and HTTPRoute, written as a user would: from the
// host, through the gateway's listener, an MCP client lists and calls the
// tools of an sse and a streamable-http server under a path prefix that the
// gateway strips. For sse, the endpoint event the client follows carries
// the prefix it came in under.
func TestGatewayRoutesUnderAPathPrefix(t *testing.T) {
	requireGateway(t)
	n := newNamespace(t)
	p := func(s string) string { return "/" + n.name + "/" + s }
	n.mustApply(behindGateway("legacy", "sse", p("legacy"), true) + "---\n" +
		behindGateway("stream", "streamable-http", p("stream"), true) + "---\n" +
		behindGateway("routed", "sse", p("routed"), false))
	n.mustApply(ingress(n.name, route{p("legacy"), "legacy"}, route{p("alias"), "legacy"}, route{p("stream"), "stream"}))
	n.mustApply(httpRoute(p("routed"), p("routed-stream")))
	for _, s := range []string{"legacy", "stream", "routed"} {
		n.waitReady(s)
	}

	cases := []struct {
		name, server, transport, prefix string
	}{
		{"Ingress to an sse server", "legacy", "sse", p("legacy")},
		// One server under a second prefix: the endpoint is the
		// X-Forwarded-Prefix the gateway sends, not the endpointPrefix.
		{"Ingress to an sse server under another prefix", "legacy", "sse", p("alias")},
		{"Ingress to a streamable-http server", "stream", "streamable-http", p("stream")},
		// Gateway API's URLRewrite sends no X-Forwarded-Prefix: the
		// endpointPrefix alone makes the endpoint right.
		{"HTTPRoute to an sse server", "routed", "sse", p("routed")},
		{"HTTPRoute to a streamable-http server", "stream", "streamable-http", p("routed-stream")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := gatewayListener + c.prefix
			if c.transport == "sse" {
				var endpoint string
				eventually(t, 90*time.Second, func() string {
					var err error
					if endpoint, err = sseEndpointEvent(base + "/sse"); err != nil {
						return err.Error()
					}
					return ""
				})
				if !strings.HasPrefix(endpoint, c.prefix+"/messages?") {
					t.Errorf("GET %s/sse: endpoint event %q; want %s/messages?...", base, endpoint, c.prefix)
				}
			}
			var cs *mcp.ClientSession
			eventually(t, 90*time.Second, func() string {
				var err error
				if cs, err = connectThrough(t, base, c.transport); err != nil {
					return "connect through the gateway: " + err.Error()
				}
				return ""
			})
			defer func() { _ = cs.Close() }()
			checkTools(t, cs, c.server)
		})
	}
}

// Once the proxy checks tokens, a client that comes through the gateway
// without one is pointed (RFC 9728) to the protected-resource metadata
// under the prefix it came in under, and that metadata names the resource
// as the client reaches it: the gateway's host and the prefix.
func TestProtectedResourceMetadataBehindTheGateway(t *testing.T) {
	requireGateway(t)
	n := newNamespace(t)
	prefix := "/" + n.name + "/guarded"
	n.mustApply(oidcConfig + "---\n" + behindGateway("guarded", "streamable-http", prefix, true) +
		fmt.Sprintf("  oidcConfigRef: {name: cluster-tokens, audience: %s}\n", e2eAudience))
	n.mustApply(ingress(n.name, route{prefix, "guarded"}))
	n.waitReady("guarded")

	base := gatewayListener + prefix
	metadata := base + "/.well-known/oauth-protected-resource/mcp"
	var challenge string
	eventually(t, 90*time.Second, func() string {
		var code int
		if code, challenge = statusWith(t, base+"/mcp", ""); code != http.StatusUnauthorized {
			return fmt.Sprintf("POST %s/mcp without a token: %d; want 401", base, code)
		}
		return ""
	})
	if want := `resource_metadata="` + metadata + `"`; !strings.Contains(challenge, want) {
		t.Errorf("WWW-Authenticate through the gateway: %q; want %s", challenge, want)
	}
	resp, err := http.Get(metadata)
	if err != nil {
		t.Fatalf("GET %s: %v", metadata, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var doc struct {
		Resource string `json:"resource"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", metadata, resp.Status, err)
	}
	if doc.Resource != base+"/mcp" {
		t.Errorf("protected-resource metadata through the gateway names the resource %q; want %q", doc.Resource, base+"/mcp")
	}
}

// requireGateway fails the test when Traefik, the local cluster's gateway,
// is not running.
func requireGateway(t *testing.T) {
	t.Helper()
	if out, err := kubectl("-n", "traefik", "rollout", "status", "deployment/traefik", "--timeout=60s"); err != nil {
		t.Fatalf("no gateway: Traefik is not running in namespace traefik (hack/traefik.sh installs it): %v\n%s", err, out)
	}
}

// route sends a path prefix to a server's proxy Service.
type route struct{ prefix, server string }

// ingress is a Traefik StripPrefix Middleware and the Ingress that routes
// each prefix through it to its server.
func ingress(namespace string, routes ...route) string {
	var prefixes []string
	var paths string
	for _, r := range routes {
		prefixes = append(prefixes, r.prefix)
		paths += fmt.Sprintf(`
      - path: %s
        pathType: Prefix
        backend: {service: {name: %s, port: {number: 8080}}}`, r.prefix, naming.ProxyServiceName(r.server))
	}
	return fmt.Sprintf(`apiVersion: traefik.io/v1alpha1
kind: Middleware
metadata:
  name: strip-mcp-prefix
spec:
  stripPrefix:
    prefixes: [%s]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: mcp
  annotations:
    traefik.ingress.kubernetes.io/router.middlewares: %s-strip-mcp-prefix@kubernetescrd
spec:
  ingressClassName: traefik
  rules:
  - http:
      paths:%s
`, strings.Join(prefixes, ", "), namespace, paths)
}

// httpRoute attaches to the Gateway traefik/traefik and routes routed to
// the sse server routed and stream to the streamable-http server stream,
// each prefix rewritten to /.
func httpRoute(routed, stream string) string {
	rule := func(prefix, server string) string {
		return fmt.Sprintf(`
  - matches: [{path: {type: PathPrefix, value: %s}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}
    backendRefs: [{name: %s, port: 8080}]`, prefix, naming.ProxyServiceName(server))
	}
	return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: mcp
spec:
  parentRefs: [{name: traefik, namespace: traefik}]
  rules:` + rule(routed, "routed") + rule(stream, "stream") + "\n"
}

// sseEndpointEvent opens the legacy SSE stream and returns the data of its
// endpoint event: where the client is told to POST its messages.
func sseEndpointEvent(url string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "event:"); ok {
			event = strings.TrimSpace(e)
		}
		if d, ok := strings.CutPrefix(line, "data:"); ok && event == "endpoint" {
			return strings.TrimSpace(d), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("GET %s: reading the stream: %w", url, err)
	}
	return "", fmt.Errorf("GET %s: the stream ended without an endpoint event", url)
}

// connectThrough opens an MCP session at base (the gateway's listener and
// the prefix) over transport. The SDK's legacy SSE client reads its event
// stream under the context Connect is given, so that context lives until
// the test ends; only the handshake has a deadline.
func connectThrough(t *testing.T, base, transport string) (*mcp.ClientSession, error) {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	handshake := time.AfterFunc(20*time.Second, cancel)
	defer handshake.Stop()
	var tr mcp.Transport = &mcp.StreamableClientTransport{Endpoint: base + "/mcp", MaxRetries: -1}
	if transport == "sse" {
		tr = &mcp.SSEClientTransport{Endpoint: base + "/sse"}
	}
	return mcp.NewClient(&mcp.Implementation{Name: "switchboard-e2e-gateway", Version: "1"}, nil).Connect(ctx, tr, nil)
}

// checkTools lists the tools and calls add and whoami, which names the
// backend pod of server.
func checkTools(t *testing.T, cs *mcp.ClientSession, server string) {
	t.Helper()
	if names := listed(t, cs); !slices.Contains(names, "add") || !slices.Contains(names, "whoami") {
		t.Errorf("tools/list through the gateway: %v; want add and whoami among them", names)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "add", Arguments: map[string]any{"a": 2, "b": 3}})
	if err != nil || res.IsError || len(res.Content) != 1 {
		t.Fatalf("tools/call add 2 3 through the gateway: %+v %v", res, err)
	}
	if tc, _ := res.Content[0].(*mcp.TextContent); tc == nil || tc.Text != "5" {
		t.Errorf("add 2 3 through the gateway answered %+v; want 5", res.Content[0])
	}
	if who, err := whoami(cs); err != nil || who != server+"-0" {
		t.Errorf("whoami through the gateway: %q %v; want the backend pod %s-0", who, err, server)
	}
}
