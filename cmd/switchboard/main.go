// Command switchboard is the Switchboard command line; `switchboard mcp list
// tools --server URL` is the debugging client the troubleshooting guide uses.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/switchboard-mcp/switchboard/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
