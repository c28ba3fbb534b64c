//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
)

// The local cluster's API server issues ServiceAccount tokens as
// https://kubernetes.default.svc.cluster.local (kind does too); ToolHive's
// default issuer is https://kubernetes.default.svc, so the MCPOIDCConfig
// names it.
const clusterIssuer = "https://kubernetes.default.svc.cluster.local"

const e2eAudience = "mcp-e2e"

// securedServer is the test server over transport, authenticated with
// ServiceAccount tokens and authorized by the MCPAuthzConfig "cedar".
func securedServer(name, transport string, extra string) string {
	return manifest(name, transport) + fmt.Sprintf(`  oidcConfigRef:
    name: cluster-tokens
    audience: %s
  authzConfigRef:
    name: cedar
%s`, e2eAudience, extra)
}

const oidcConfig = `apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPOIDCConfig
metadata:
  name: cluster-tokens
spec:
  type: kubernetesServiceAccount
  kubernetesServiceAccount:
    issuer: ` + clusterIssuer + `
`

// cedarFor is the MCPAuthzConfig "cedar": the ServiceAccounts of each
// namespace in groups may call echo.
func cedarFor(groups ...string) string {
	var policies []string
	for _, ns := range groups {
		policies = append(policies, fmt.Sprintf(`        - 'permit(principal in THVGroup::"system:serviceaccounts:%s", action == Action::"call_tool", resource == Tool::"echo");'`, ns))
	}
	return `apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPAuthzConfig
metadata:
  name: cedar
spec:
  type: cedarv1
  config:
    policies:
` + strings.Join(policies, "\n") + `
    entities_json: "[]"
`
}

// saToken is `kubectl create token` for a ServiceAccount.
func saToken(t *testing.T, ns, sa, audience string) string {
	t.Helper()
	out, err := kubectl("create", "token", sa, "-n", ns, "--audience", audience, "--duration", "10m")
	if err != nil {
		t.Fatalf("kubectl create token %s/%s: %v\n%s", ns, sa, err, out)
	}
	return strings.TrimSpace(out)
}

func connectWithToken(t *testing.T, endpoint, tok string) *mcp.ClientSession {
	t.Helper()
	cs, err := connectVia(proxytest.Bearer(tok, nil), endpoint)
	if err != nil {
		t.Fatalf("connect to %s with a token: %v", endpoint, err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

func listed(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

// call is the tool's text, or the error that refused it.
func call(cs *mcp.ClientSession, tool string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: map[string]any{"text": "e2e"}})
	if err != nil {
		return "", err
	}
	if res.IsError || len(res.Content) == 0 {
		return "", fmt.Errorf("tool error: %+v", res.Content)
	}
	tc, _ := res.Content[0].(*mcp.TextContent)
	if tc == nil {
		return "", fmt.Errorf("content %T", res.Content[0])
	}
	return tc.Text, nil
}

// statusWith is the HTTP status of a ping POSTed with tok ("" for none),
// and its WWW-Authenticate header.
func statusWith(t *testing.T, endpoint, tok string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	c := http.Client{Timeout: 20 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

// TestServiceAccountTokensAndCedarPolicies: in-cluster clients
// authenticate with projected ServiceAccount tokens (`kubectl create token
// --audience`), verified against the cluster's own issuer; the Cedar policy
// "ServiceAccounts of namespace A may call echo" shows A's client only echo
// and refuses B's client everything; a policy edit applies without a
// restart. On stdio with two proxy replicas, and on streamable HTTP with
// two backends.
func TestServiceAccountTokensAndCedarPolicies(t *testing.T) {
	cases := []struct{ transport, extra string }{
		{"stdio", "  replicas: 2\n"},
		{"streamable-http", "  backendReplicas: 2\n"},
	}
	for _, tc := range cases {
		t.Run(tc.transport, func(t *testing.T) {
			t.Parallel()
			eng, sales := newNamespace(t), newNamespace(t)
			eng.must("create", "serviceaccount", "alice")
			sales.must("create", "serviceaccount", "bob")
			name := "sec-" + strings.ReplaceAll(tc.transport, "-", "")
			eng.mustApply(oidcConfig)
			eng.mustApply(cedarFor(eng.name))
			eng.mustApply(securedServer(name, tc.transport, tc.extra))
			eng.waitReady(name)
			endpoint := eng.portForward("service/mcp-"+name+"-proxy", 8080) + "/mcp"

			bob := checkTokensAndPolicy(t, eng, sales, endpoint)

			// The policy edit reaches every proxy replica, within 10 s,
			// without a restart: the proxy pods stay the same.
			pods := eng.must("get", "pods", "-l", "app.kubernetes.io/instance="+name+",app.kubernetes.io/component=proxy", "-o", "jsonpath={.items[*].metadata.uid}")
			eng.mustApply(cedarFor(eng.name, sales.name))
			eventually(t, 10*time.Second, func() string {
				if got := listed(t, bob); !slices.Equal(got, []string{"echo"}) {
					return fmt.Sprintf("bob sees %v after the edit", got)
				}
				return ""
			})
			// Every replica, each reached on its own: bob sees echo there.
			bobToken := saToken(t, sales.name, "bob", e2eAudience)
			for _, pod := range strings.Fields(eng.must("get", "pods", "-l", "app.kubernetes.io/instance="+name+",app.kubernetes.io/component=proxy", "-o", "jsonpath={.items[*].metadata.name}")) {
				direct := connectWithToken(t, eng.portForward("pod/"+pod, 8080)+"/mcp", bobToken)
				if got := listed(t, direct); !slices.Equal(got, []string{"echo"}) {
					t.Errorf("proxy pod %s shows bob %v after the edit, want [echo]", pod, got)
				}
			}
			if got, err := call(bob, "echo"); err != nil || got != "e2e" {
				t.Errorf("bob echo after the edit: %q %v", got, err)
			}
			if now := eng.must("get", "pods", "-l", "app.kubernetes.io/instance="+name+",app.kubernetes.io/component=proxy", "-o", "jsonpath={.items[*].metadata.uid}"); now != pods {
				t.Errorf("proxy pods changed with the policy edit: %s → %s", pods, now)
			}

			checkClients(t, eng, endpoint)
		})
	}
}

// checkTokensAndPolicy: no token and a token for another audience get 401;
// eng's ServiceAccount sees and calls only echo; sales' sees nothing.
func checkTokensAndPolicy(t *testing.T, eng, sales *ns, endpoint string) (bob *mcp.ClientSession) {
	t.Helper()
	if code, challenge := statusWith(t, endpoint, ""); code != http.StatusUnauthorized || !strings.Contains(challenge, "resource_metadata=") {
		t.Errorf("no token: %d %q; want 401 with resource_metadata", code, challenge)
	}
	if code, _ := statusWith(t, endpoint, saToken(t, eng.name, "alice", "another-audience")); code != http.StatusUnauthorized {
		t.Errorf("token for another audience: %d, want 401", code)
	}

	alice := connectWithToken(t, endpoint, saToken(t, eng.name, "alice", e2eAudience))
	if got := listed(t, alice); !slices.Equal(got, []string{"echo"}) {
		t.Errorf("alice sees %v, want [echo]", got)
	}
	if got, err := call(alice, "echo"); err != nil || got != "e2e" {
		t.Errorf("alice echo: %q %v", got, err)
	}
	if _, err := call(alice, "add"); err == nil || !strings.Contains(err.Error(), "denied by policy") {
		t.Errorf("alice add: %v, want denied by policy", err)
	}
	bob = connectWithToken(t, endpoint, saToken(t, sales.name, "bob", e2eAudience))
	if got := listed(t, bob); len(got) != 0 {
		t.Errorf("bob sees %v, want nothing", got)
	}
	if _, err := call(bob, "echo"); err == nil || !strings.Contains(err.Error(), "denied by policy") {
		t.Errorf("bob echo: %v, want denied by policy", err)
	}
	return bob
}

// checkClients: the CLI and the official TypeScript SDK get through with a
// valid token; the CLI says what to do without one.
func checkClients(t *testing.T, eng *ns, endpoint string) {
	t.Helper()
	tok := saToken(t, eng.name, "alice", e2eAudience)
	if out, err := switchboard("mcp", "call-tool", "--server", endpoint, "--token", tok, "--tool", "echo", "--args", `{"text":"cli"}`); err != nil || !strings.Contains(out, "cli") {
		t.Errorf("switchboard mcp call-tool --token: %v\n%s", err, out)
	}
	if out, err := switchboard("mcp", "list", "tools", "--server", endpoint); err == nil || !strings.Contains(out, "--token") {
		t.Errorf("switchboard without a token: %v\n%s; want a failure that says to pass --token", err, out)
	}
	if out, err := tsClient(t, endpoint, tok, "echo"); err != nil || !strings.Contains(out, `"text":"ts"`) {
		t.Errorf("TypeScript SDK client: %v\n%s", err, out)
	}
}

// TestToolConfigFiltersAndRenames: filter + rename through an
// MCPToolConfig: only the new name is listed and callable.
func TestToolConfigFiltersAndRenames(t *testing.T) {
	n := newNamespace(t)
	n.mustApply(`apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPToolConfig
metadata:
  name: curated
spec:
  toolsFilter: [say] # names as clients see them, after renaming
  toolsOverride:
    echo:
      name: say
      description: Says it back.
`)
	n.mustApply(manifest("curated", "streamable-http") + "  toolConfigRef:\n    name: curated\n")
	n.waitReady("curated")
	endpoint := n.portForward("service/mcp-curated-proxy", 8080) + "/mcp"
	cs, err := connectVia(http.DefaultTransport, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	if got := listed(t, cs); !slices.Equal(got, []string{"say"}) {
		t.Errorf("tools %v, want [say]", got)
	}
	if got, err := call(cs, "say"); err != nil || got != "e2e" {
		t.Errorf("say: %q %v", got, err)
	}
	for _, hidden := range []string{"echo", "add"} {
		if _, err := call(cs, hidden); err == nil {
			t.Errorf("%s is callable; a filtered or renamed-away tool must not be", hidden)
		}
	}
	out := n.must("get", "mcptoolconfig", "curated", "-o", "jsonpath={.status.conditions[?(@.type=='Valid')].status} {.status.referencingServers}")
	if !strings.Contains(out, "True") || !strings.Contains(out, "curated") {
		t.Errorf("MCPToolConfig status: %q; want Valid=True and the server listed", out)
	}
}

// TestInlineIssuerInTheCluster: a real OpenID provider (zitadel/oidc's OP)
// runs in the cluster; the proxy verifies its JWTs; an expired token and
// one for another audience are refused.
func TestInlineIssuerInTheCluster(t *testing.T) {
	n := newNamespace(t)
	n.mustApply(`apiVersion: v1
kind: Service
metadata:
  name: oidc
spec:
  selector: {app: oidc}
  ports: [{port: 8080, targetPort: 8080}]
`)
	ip := n.must("get", "service", "oidc", "-o", "jsonpath={.spec.clusterIP}")
	// The issuer is the Service IP, not its cluster DNS name: the proxy pod
	// and this test process on the node (which resolves no cluster names)
	// must both reach it under the same URL.
	iss := "http://" + ip + ":8080"
	clients := `[{"id":"alice","secret":"a","groups":["eng"],"audience":"` + e2eAudience + `"},` +
		`{"id":"bob","secret":"b","groups":["sales"],"audience":"` + e2eAudience + `"},` +
		`{"id":"brief","secret":"c","groups":["eng"],"audience":"` + e2eAudience + `","lifetime":"3s"},` +
		`{"id":"eve","secret":"e","groups":["eng"],"audience":"other"}]`
	n.mustApply(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: oidc
  labels: {app: oidc}
spec:
  containers:
  - name: oidc
    image: switchboard/oidc-provider:dev
    imagePullPolicy: Never
    args: ["--addr=0.0.0.0:8080", "--issuer=%s", "--clients=%s"]
    ports: [{containerPort: 8080}]
    readinessProbe: {httpGet: {path: /ready, port: 8080}, periodSeconds: 1}
`, iss, strings.ReplaceAll(clients, `"`, `\"`)))
	n.must("wait", "pod/oidc", "--for=condition=Ready", "--timeout=120s")
	provider := n.portForward("service/oidc", 8080)

	n.mustApply(fmt.Sprintf(`apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPOIDCConfig
metadata:
  name: provider
spec:
  type: inline
  inline:
    issuer: %s
    insecureAllowHTTP: true
    jwksAllowPrivateIP: true
---
apiVersion: toolhive.stacklok.dev/v1beta1
kind: MCPServer
metadata:
  name: inline
spec:
  image: %s
  args: ["--transport=streamable-http", "--addr=:8080"]
  transport: streamable-http
  mcpPort: 8080
  proxyPort: 8080
  oidcConfigRef: {name: provider, audience: %s}
  authzConfig:
    type: inline
    inline:
      policies: ['permit(principal in THVGroup::"eng", action == Action::"call_tool", resource == Tool::"echo");']
`, iss, testServer, e2eAudience))
	n.waitReady("inline")
	endpoint := n.portForward("service/mcp-inline-proxy", 8080) + "/mcp"

	alice := connectWithToken(t, endpoint, providerToken(t, provider, "alice", "a"))
	if got := listed(t, alice); !slices.Equal(got, []string{"echo"}) {
		t.Errorf("alice sees %v, want [echo]", got)
	}
	bob := connectWithToken(t, endpoint, providerToken(t, provider, "bob", "b"))
	if _, err := call(bob, "echo"); err == nil || !strings.Contains(err.Error(), "denied by policy") {
		t.Errorf("bob echo: %v, want denied by policy", err)
	}
	if code, _ := statusWith(t, endpoint, providerToken(t, provider, "eve", "e")); code != http.StatusUnauthorized {
		t.Errorf("token for another audience: %d, want 401", code)
	}
	brief := providerToken(t, provider, "brief", "c")
	if code, _ := statusWith(t, endpoint, brief); code == http.StatusUnauthorized {
		t.Errorf("a fresh 3 s token was refused")
	}
	// Once its 3 s (and the verifier's small clock-skew allowance) have
	// passed, the same token is refused, cached or not.
	eventually(t, 90*time.Second, func() string {
		if code, _ := statusWith(t, endpoint, brief); code != http.StatusUnauthorized {
			return fmt.Sprintf("expired token answered %d, want 401", code)
		}
		return ""
	})
}

// providerToken gets a token from the in-cluster provider (client
// credentials, through the port-forward).
func providerToken(t *testing.T, base, id, secret string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("token for %s: %d %v", id, resp.StatusCode, err)
	}
	return body.AccessToken
}

// tsClient runs the official TypeScript SDK client with a token.
func tsClient(t *testing.T, endpoint, tok, tool string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "token-client.mjs", endpoint, tool)
	cmd.Dir = filepath.Join(repoRoot, "test", "peers")
	cmd.Env = append(cmd.Environ(), "MCP_TOKEN="+tok)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
