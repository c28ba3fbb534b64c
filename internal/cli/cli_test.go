package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchboard-mcp/switchboard/internal/cli"
	"github.com/switchboard-mcp/switchboard/internal/proxy"
	"github.com/switchboard-mcp/switchboard/internal/proxy/mcptest"
	"github.com/switchboard-mcp/switchboard/internal/proxy/proxytest"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func TestMain(m *testing.M) {
	mcptest.MaybeServe()
	os.Exit(m.Run())
}

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// endpoints are the same test server reached directly and through the proxy.
func endpoints(t *testing.T) map[string]string {
	direct := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return mcptest.NewServer() }, nil))
	t.Cleanup(direct.Close)

	base := proxytest.Start(t, proxy.Options{
		Config: proxyconfig.Config{Transport: "stdio", ProxyMode: "streamable-http"},
		Local:  proxyconfig.Local{BackendCommand: mcptest.Command()},
	})
	return map[string]string{"direct": direct.URL, "through the proxy": base + "/mcp"}
}

func TestListToolsAndCallATool(t *testing.T) {
	for name, url := range endpoints(t) {
		t.Run(name, func(t *testing.T) {
			var out string
			var code int
			// The proxy's backend may still be starting.
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if out, _, code = run(t, "mcp", "list", "tools", "--server", url); code == 0 {
					break
				}
			}
			if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, "echo  ") || !strings.Contains(out, "Adds two integers.") {
				t.Fatalf("list tools exited %d:\n%s", code, out)
			}
			out, errOut, code := run(t, "mcp", "call-tool", "--server", url, "--tool", "add", "--args", `{"a":20,"b":22}`)
			if code != 0 || strings.TrimSpace(out) != "42" {
				t.Errorf("call-tool add exited %d: %q %q", code, out, errOut)
			}
		})
	}
}

func TestBadUsageSaysWhatIsMissing(t *testing.T) {
	tests := []struct {
		args    []string
		code    int
		wantErr string
	}{
		{[]string{"mcp", "list", "tools"}, 2, "--server is required"},
		{[]string{"mcp", "call-tool", "--server", "http://127.0.0.1:1/mcp"}, 2, "--tool is required"},
		{[]string{"mcp", "call-tool", "--server", "http://127.0.0.1:1/mcp", "--tool", "x", "--args", "[1]"}, 1, "--args must be a JSON object"},
		{[]string{"mcp", "list", "tools", "--server", "localhost:8080"}, 1, "is not an http(s) URL"},
		{[]string{"mcp", "list", "tools", "--server", "http://127.0.0.1:1/mcp", "--timeout", "2s"}, 1, "connect to http://127.0.0.1:1/mcp"},
		{[]string{"frobnicate"}, 2, "usage:"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, errOut, code := run(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, tt.code, tt.wantErr)
			}
		})
	}
}
