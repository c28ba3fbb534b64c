// Package peers proves the proxy against real third-party MCP peers:
// @modelcontextprotocol/server-everything in its stdio, SSE and streamable
// HTTP modes, reached through the proxy by a client on the official Go SDK
// and one on the official TypeScript SDK. hack/install-peers.sh installs
// them (make test does).
package peers

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

var everything = filepath.Join("node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")

func TestMain(m *testing.M) {
	if _, err := os.Stat(everything); err != nil {
		fmt.Fprintln(os.Stderr, "the npm peers are not installed: run hack/install-peers.sh (make test does)")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// serveEverything runs server-everything in an HTTP mode on loopback and
// returns its endpoint.
func serveEverything(t *testing.T, mode string) string {
	t.Helper()
	url, _ := startEverything(t, mode)
	return url
}

// startEverything is serveEverything that also returns the process, for
// tests that kill it.
func startEverything(t *testing.T, mode string) (string, *os.Process) {
	t.Helper()
	addr := proxytest.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("node", "--require", "./loopback.cjs", everything, mode)
	cmd.Env = append(os.Environ(), "PORT="+port)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	proxytest.WaitListening(t, addr, 15*time.Second)
	path := map[string]string{"sse": "/sse", "streamableHttp": "/mcp"}[mode]
	return "http://" + addr + path, cmd.Process
}

// startProxy runs the proxy in front of server-everything in mode, offering
// clients proxyMode; it returns the proxy's base URL.
func startProxy(t *testing.T, mode, proxyMode string) string {
	t.Helper()
	o := proxy.Options{Config: proxyconfig.Config{ProxyMode: proxyMode}}
	switch mode {
	case "stdio":
		o.Transport, o.BackendCommand = "stdio", []string{"node", everything, "stdio"}
	case "sse":
		o.Transport, o.BackendURL = "sse", serveEverything(t, "sse")
	case "streamableHttp":
		o.Transport, o.BackendURL = "streamable-http", serveEverything(t, "streamableHttp")
	}
	return proxytest.Start(t, o)
}

// endpoint is the proxy URL a client of proxyMode uses.
func endpoint(base, proxyMode string) string {
	if proxyMode == "sse" {
		return base + "/sse"
	}
	return base + "/mcp"
}

// combinations pairs each backend mode with what the proxy offers clients.
var combinations = []struct{ mode, proxyMode string }{
	{"stdio", "streamable-http"},
	{"stdio", "sse"},
	{"streamableHttp", "streamable-http"},
	{"sse", "sse"},
}

type seen struct {
	Tools    []string `json:"tools"`
	Echo     string   `json:"echo"`
	Sum      string   `json:"sum"`
	Progress int      `json:"progress"`
	Resource string   `json:"resource"`
	Contents int      `json:"contents"`
}

func (s seen) check(t *testing.T, wantProgress int) {
	t.Helper()
	if !slices.Contains(s.Tools, "echo") || !slices.Contains(s.Tools, "trigger-long-running-operation") {
		t.Errorf("tools %v", s.Tools)
	}
	if s.Echo != "Echo: hi" || s.Sum != "The sum of 2 and 3 is 5." {
		t.Errorf("echo %q, sum %q", s.Echo, s.Sum)
	}
	if s.Progress != wantProgress {
		t.Errorf("%d progress notifications, want %d", s.Progress, wantProgress)
	}
	if !strings.HasPrefix(s.Resource, "demo://") || s.Contents != 1 {
		t.Errorf("resource %q with %d contents", s.Resource, s.Contents)
	}
}

// tsClient runs the TypeScript SDK client against url.
func tsClient(t *testing.T, url string) seen {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "node", "client.mjs", url).CombinedOutput()
	if err != nil {
		t.Fatalf("TypeScript client: %v\n%s", err, out)
	}
	var s seen
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("client output %q: %v", out, err)
	}
	return s
}

// The proxy is transparent: the TypeScript client sees through it what it
// sees talking to server-everything directly over the same client transport.
// Progress is the one exception, and only upwards: server-everything sends
// its last notification racing the result, which that client's SSE
// transport usually counts after the call is over (2 of 3, directly too).
func TestTypeScriptSDKClientSeesThroughTheProxyWhatItSeesDirectly(t *testing.T) {
	direct := map[string]seen{
		"streamable-http": tsClient(t, serveEverything(t, "streamableHttp")),
		"sse":             tsClient(t, serveEverything(t, "sse")),
	}
	direct["streamable-http"].check(t, 3)
	direct["sse"].check(t, 2)
	for _, c := range combinations {
		t.Run(c.mode+" offered as "+c.proxyMode, func(t *testing.T) {
			got := tsClient(t, endpoint(startProxy(t, c.mode, c.proxyMode), c.proxyMode))
			want := direct[c.proxyMode]
			if got.Progress < want.Progress || got.Progress > 3 {
				t.Errorf("%d progress notifications through the proxy; directly %d, and 3 are sent", got.Progress, want.Progress)
			}
			got.Progress = want.Progress
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("through the proxy (+) vs directly (-):\n%s", d)
			}
		})
	}
}

func TestGoSDKClientThroughTheProxy(t *testing.T) {
	for _, c := range combinations {
		t.Run(c.mode+" offered as "+c.proxyMode, func(t *testing.T) {
			base := startProxy(t, c.mode, c.proxyMode)
			var progress atomic.Int32
			client := mcp.NewClient(&mcp.Implementation{Name: "switchboard-go-test", Version: "1"}, &mcp.ClientOptions{
				ProgressNotificationHandler: func(context.Context, *mcp.ProgressNotificationClientRequest) { progress.Add(1) },
			})
			var transport mcp.Transport = &mcp.StreamableClientTransport{Endpoint: endpoint(base, c.proxyMode)}
			if c.proxyMode == "sse" {
				transport = &mcp.SSEClientTransport{Endpoint: endpoint(base, c.proxyMode)}
			}
			cs, err := client.Connect(context.Background(), transport, nil)
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			defer func() { _ = cs.Close() }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			var s seen
			tools, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, tool := range tools.Tools {
				s.Tools = append(s.Tools, tool.Name)
			}
			s.Echo = callText(ctx, t, cs, "echo", map[string]any{"message": "hi"})
			s.Sum = callText(ctx, t, cs, "get-sum", map[string]any{"a": 2, "b": 3})
			params := &mcp.CallToolParams{Name: "trigger-long-running-operation", Arguments: map[string]any{"duration": 0.3, "steps": 3}}
			params.SetProgressToken("go-progress")
			if _, err := cs.CallTool(ctx, params); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(2 * time.Second); progress.Load() < 3 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			s.Progress = int(progress.Load())
			res, err := cs.ListResources(ctx, nil)
			if err != nil || len(res.Resources) == 0 {
				t.Fatalf("list resources: %v %v", res, err)
			}
			s.Resource = res.Resources[0].URI
			read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: s.Resource})
			if err != nil {
				t.Fatal(err)
			}
			s.Contents = len(read.Contents)
			s.check(t, 3)
		})
	}
}

func callText(ctx context.Context, t *testing.T, cs *mcp.ClientSession, tool string, args any) string {
	t.Helper()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", tool, err)
	}
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}
