// Package cli is the switchboard command line: a debugging client that talks
// MCP to a proxy or a server, built on the official MCP Go SDK.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const usage = `usage:
  switchboard mcp list tools --server URL [--token TOKEN | --token-file PATH] [--output text|json]
  switchboard mcp call-tool --server URL --tool NAME [--args JSON] [--token TOKEN | --token-file PATH] [--output text|json]

URL is the proxy's endpoint, e.g. http://localhost:8080/mcp (streamable HTTP)
or http://localhost:8080/sse (legacy SSE).

A server that requires OAuth gets the bearer token from --token, from
--token-file (e.g. kubectl create token NAME > FILE) or, when neither is
given, from the environment variable SWITCHBOARD_TOKEN, which keeps the
token out of shell history and ps.
`

// Run runs the command line and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if err := run(ctx, args, stdout); err != nil {
		fmt.Fprintln(stderr, "switchboard:", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(stderr, usage)
			return 2
		}
		return 1
	}
	return 0
}

var errUsage = errors.New("bad usage")

func run(ctx context.Context, args []string, stdout io.Writer) error {
	switch {
	case len(args) >= 3 && args[0] == "mcp" && args[1] == "list" && args[2] == "tools":
		return listTools(ctx, args[3:], stdout)
	case len(args) >= 2 && args[0] == "mcp" && args[1] == "call-tool":
		return callTool(ctx, args[2:], stdout)
	}
	return errUsage
}

type common struct {
	server     string
	output     string
	timeout    time.Duration
	tokenFlags tokenFlags
	// token is the bearer token check settled on, "" for none.
	token string
}

func (c *common) bind(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", "", "MCP endpoint URL, e.g. http://localhost:8080/mcp")
	fs.StringVar(&c.output, "output", "text", "text or json")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "give up after this long")
	c.tokenFlags.bind(fs)
}

// check validates the parsed flags of fs and settles the token.
func (c *common) check(fs *flag.FlagSet) error {
	if c.server == "" {
		return fmt.Errorf("%w: --server is required", errUsage)
	}
	if c.output != "text" && c.output != "json" {
		return fmt.Errorf("%w: --output must be text or json", errUsage)
	}
	token, err := c.tokenFlags.resolve(fs)
	c.token = token
	return err
}

// session is an MCP session together with the HTTP transport under it,
// which can tell why the server refused a request.
type session struct {
	*mcp.ClientSession
	http *bearerTransport
}

// connect opens a session; the URL's path picks the transport.
func (c *common) connect(ctx context.Context) (*session, error) {
	u, err := url.Parse(c.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--server %q is not an http(s) URL", c.server)
	}
	bt := newBearerTransport(u, c.token)
	hc := &http.Client{Transport: bt}
	var t mcp.Transport = &mcp.StreamableClientTransport{Endpoint: c.server, HTTPClient: hc}
	if strings.HasSuffix(u.Path, "/sse") {
		t = &mcp.SSEClientTransport{Endpoint: c.server, HTTPClient: hc}
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "switchboard", Version: "dev"}, nil)
	cs, err := client.Connect(ctx, t, nil)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.server, bt.explain(err))
	}
	return &session{ClientSession: cs, http: bt}, nil
}

func listTools(ctx context.Context, args []string, stdout io.Writer) error {
	var c common
	fs := flag.NewFlagSet("list tools", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.bind(fs)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if err := c.check(fs); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cs, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = cs.Close() }()
	var tools []*mcp.Tool
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return fmt.Errorf("list tools: %w", cs.http.explain(err))
		}
		tools = append(tools, tool)
	}
	if c.output == "json" {
		return writeJSON(stdout, tools)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tDESCRIPTION")
	for _, t := range tools {
		fmt.Fprintf(w, "%s\t%s\n", t.Name, firstLine(t.Description))
	}
	return w.Flush()
}

func callTool(ctx context.Context, args []string, stdout io.Writer) error {
	var c common
	var tool, rawArgs string
	fs := flag.NewFlagSet("call-tool", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.bind(fs)
	fs.StringVar(&tool, "tool", "", "name of the tool")
	fs.StringVar(&rawArgs, "args", "{}", "tool arguments as a JSON object")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if err := c.check(fs); err != nil {
		return err
	}
	if tool == "" {
		return fmt.Errorf("%w: --tool is required", errUsage)
	}
	var arguments map[string]any
	if err := json.Unmarshal([]byte(rawArgs), &arguments); err != nil {
		return fmt.Errorf("--args must be a JSON object: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cs, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = cs.Close() }()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: arguments})
	if err != nil {
		return fmt.Errorf("call %s: %w", tool, cs.http.explain(err))
	}
	if c.output == "json" {
		return writeJSON(stdout, res)
	}
	for _, content := range res.Content {
		if t, ok := content.(*mcp.TextContent); ok {
			fmt.Fprintln(stdout, t.Text)
		} else {
			b, _ := json.Marshal(content)
			fmt.Fprintln(stdout, string(b))
		}
	}
	if res.IsError {
		return fmt.Errorf("tool %s reported an error", tool)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
