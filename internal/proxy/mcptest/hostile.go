package mcptest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// Misbehaving stdio servers, for the proxy's tests: each speaks plain
// newline-delimited JSON-RPC, written by hand so that it can do what no SDK
// server would.
const (
	// ServeSync answers each request (with 4 KiB of padding) before it
	// reads the next line, writing unbuffered: it blocks on its output
	// whenever the proxy does not read it, and then stops reading.
	ServeSync = "sync"
	// ServeNoRead answers until its first tools/call, then never reads its
	// input again.
	ServeNoRead = "no-read"
	// ServeMute answers initialize (and pings before it), then reads
	// everything and answers nothing, not even ping.
	ServeMute = "mute"
	// ServeLongLine answers tools/call with a line of 17 MiB (over the
	// proxy's limit), then everything else as ServeSync does.
	ServeLongLine = "long-line"
	// ServeStderrFlood writes to stderr without pause (some lines of
	// 100 KiB) and answers as ServeSync does.
	ServeStderrFlood = "stderr-flood"
)

// HostileCommand is the command line that starts this test binary as the
// misbehaving server mode.
func HostileCommand(mode string) []string {
	return []string{"env", EnvServe + "=" + mode, os.Args[0]}
}

// serveHostile runs mode until stdin ends.
func serveHostile(mode string) {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	if mode == ServeStderrFlood {
		go func() {
			long := strings.Repeat("x", 100<<10)
			for i := 0; ; i++ {
				line := fmt.Sprintf("noise %d\n", i)
				if i%100 == 0 {
					line = long + "\n"
				}
				if _, err := os.Stderr.WriteString(line); err != nil {
					return
				}
			}
		}()
	}
	pad := strings.Repeat("p", 4<<10)
	longSent, initialized := false, false
	for {
		line, err := in.ReadBytes('\n')
		if err != nil {
			return
		}
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				ProtocolVersion string `json:"protocolVersion"`
			} `json:"params"`
		}
		if json.Unmarshal(line, &req) != nil || len(req.ID) == 0 || req.Method == "" {
			continue // notifications, answers
		}
		var result any = map[string]string{"pad": pad}
		switch {
		case req.Method == "initialize":
			initialized = true
			result = map[string]any{"protocolVersion": req.Params.ProtocolVersion, "capabilities": map[string]any{"tools": map[string]any{}},
				"serverInfo": map[string]string{"name": "hostile-" + mode, "version": "1"}}
		case mode == ServeNoRead && req.Method == "tools/call":
			time.Sleep(time.Hour) // never reads again
		case mode == ServeMute && initialized:
			continue
		case mode == ServeLongLine && req.Method == "tools/call" && !longSent:
			longSent = true
			result = map[string]string{"long": strings.Repeat("L", 17<<20)}
		}
		out, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
		if _, err := os.Stdout.Write(append(out, '\n')); err != nil {
			return
		}
	}
}
