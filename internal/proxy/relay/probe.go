package relay

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// probeTimeout bounds one probe of one backend.
const probeTimeout = 3 * time.Second

// probeAll asks every backend whether it answers MCP, and marks those that
// do not as mute: they take no new sessions.
func (b *Relay) probeAll(ctx context.Context) {
	for _, addr := range b.pool.addrs() {
		err := b.probe(ctx, addr)
		if b.pool.setMute(addr, err != nil) {
			if err != nil {
				b.o.Log.Warn("backend accepts connections but does not answer MCP; no new sessions go to it", "backend", addr, "error", err)
			} else {
				b.o.Log.Info("backend answers MCP again", "backend", addr)
			}
		}
	}
}

// probeInitialize is the initialize a probe sends: the oldest version with
// the streamable transport, which every server of that transport speaks.
const probeInitialize = `{"jsonrpc":"2.0","id":"switchboard-probe","method":"initialize","params":` +
	`{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"switchboard-probe","version":"1"}}}`

// probe succeeds when the backend at addr answers an initialize with a
// JSON-RPC message (result or error: it speaks MCP), or, for an sse
// backend, opens its stream with the endpoint event. The session a probe
// starts is ended at once.
func (b *Relay) probe(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DialContext: b.o.Dial, DisableKeepAlives: true}}
	base := b.scheme + "://" + addr + b.path
	if b.sse {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base, nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer func() { _ = resp.Body.Close() }()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "event: endpoint" {
				return nil
			}
		}
		return fmt.Errorf("GET %s: status %d and no endpoint event", b.path, resp.StatusCode)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base, strings.NewReader(probeInitialize))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if id := resp.Header.Get(wire.HeaderSessionID); id != "" {
		defer func() {
			del, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodDelete, base, nil)
			del.Header.Set(wire.HeaderSessionID, id)
			if r, err := client.Do(del); err == nil {
				_ = r.Body.Close()
			}
		}()
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && !bytes.Contains(body, []byte("data:")) {
		return fmt.Errorf("read the answer to initialize: %w", err)
	}
	if answersJSONRPC(body) {
		return nil
	}
	return fmt.Errorf("POST %s initialize: status %d, no JSON-RPC answer", b.path, resp.StatusCode)
}

// answersJSONRPC reports a body that is, or whose first event carries, a
// JSON-RPC answer.
func answersJSONRPC(body []byte) bool {
	if msg, err := wire.ParseOne(body); err == nil && msg.IsResponse() {
		return true
	}
	for _, line := range bytes.Split(body, []byte("\n")) {
		if data, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("data:")); ok {
			msg, err := wire.ParseOne(bytes.TrimSpace(data))
			return err == nil && msg.IsResponse()
		}
	}
	return false
}
