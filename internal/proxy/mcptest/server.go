// Package mcptest is a real MCP server, built with the official Go SDK, that
// tests run as a stdio backend: it has tools that echo, add, report
// progress, tell which process answered, and crash.
package mcptest

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// EnvServe is the environment variable that, set to "stdio" in a test
// binary's environment, makes MaybeServe run the server on stdin/stdout
// instead of the tests.
const EnvServe = "SWITCHBOARD_MCPTEST_SERVE"

// MaybeServe runs the server and exits when the environment asks for it;
// call it first in TestMain.
func MaybeServe() {
	switch mode := os.Getenv(EnvServe); mode {
	case "":
		return
	case ServeSync, ServeNoRead, ServeMute, ServeLongLine, ServeStderrFlood:
		serveHostile(mode)
		os.Exit(0)
	}
	if err := NewServer().Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		fmt.Fprintln(os.Stderr, "mcptest server:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Command is the command line that starts this test binary as the server.
func Command() []string { return []string{"env", EnvServe + "=stdio", os.Args[0]} }

type echoArgs struct {
	Text string `json:"text"`
}

type addArgs struct {
	A int `json:"a"`
	B int `json:"b"`
}

type progressArgs struct {
	Steps int `json:"steps"`
	// DelayMS is the time between steps.
	DelayMS int `json:"delayMs,omitempty"`
}

// NewServer builds the test server.
func NewServer() *mcp.Server { return NewServerNamed("mcptest") }

// NewServerNamed builds the test server with a tool "whoami" that answers
// name, to tell several backends apart.
func NewServerNamed(name string) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "mcptest", Version: "1.0.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "whoami", Description: "Says which backend answered."},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			return text(name), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "Echoes the text back."},
		func(_ context.Context, _ *mcp.CallToolRequest, a echoArgs) (*mcp.CallToolResult, any, error) {
			return text(a.Text), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "add", Description: "Adds two integers."},
		func(_ context.Context, _ *mcp.CallToolRequest, a addArgs) (*mcp.CallToolResult, any, error) {
			return text(fmt.Sprint(a.A + a.B)), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "progress", Description: "Reports progress steps, then says done."},
		func(ctx context.Context, req *mcp.CallToolRequest, a progressArgs) (*mcp.CallToolResult, any, error) {
			token := req.Params.GetProgressToken()
			for i := 1; i <= a.Steps; i++ {
				time.Sleep(time.Duration(a.DelayMS) * time.Millisecond)
				if token != nil {
					if err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
						ProgressToken: token, Progress: float64(i), Total: float64(a.Steps),
					}); err != nil {
						return nil, nil, err
					}
				}
			}
			return text("done"), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "pid", Description: "Says which process answered."},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			return text(fmt.Sprint(os.Getpid())), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "crash", Description: "Exits the server process."},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			os.Exit(3)
			return nil, nil, nil
		})
	return s
}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}
