//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// rawSession is one MCP session spoken by hand over streamable HTTP, so a
// test sees each JSON-RPC error as the proxy sends it and how long it took,
// with no client library retrying or reconnecting in between.
type rawSession struct {
	endpoint string // http://localhost:<port>/mcp
	id       string // Mcp-Session-Id
	next     int
	http     *http.Client
}

// rpcReply is the answer to one request: a result or a JSON-RPC error.
type rpcReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// openRawSession initializes a session; timeout bounds every request.
func openRawSession(endpoint string, timeout time.Duration) (*rawSession, error) {
	s := &rawSession{endpoint: endpoint, http: &http.Client{Timeout: timeout}}
	reply, err := s.request("initialize", map[string]any{
		"protocolVersion": "2025-06-18",
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "switchboard-e2e", "version": "1"},
	})
	if err != nil {
		return nil, err
	}
	if reply.Error != nil {
		return nil, fmt.Errorf("initialize: JSON-RPC error %d: %s", reply.Error.Code, reply.Error.Message)
	}
	if s.id == "" {
		return nil, fmt.Errorf("initialize answered without an Mcp-Session-Id")
	}
	resp, err := s.post(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
	if err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	return s, nil
}

// callTool calls a tool; it returns the text of the result, or the
// JSON-RPC error (the call reached the proxy and was answered).
func (s *rawSession) callTool(name string, args any) (text string, rpcErr string, err error) {
	reply, err := s.request("tools/call", map[string]any{"name": name, "arguments": args})
	if err != nil {
		return "", "", err
	}
	if reply.Error != nil {
		return "", fmt.Sprintf("JSON-RPC error %d: %s", reply.Error.Code, reply.Error.Message), nil
	}
	var result struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(reply.Result, &result); err != nil {
		return "", "", fmt.Errorf("decode tools/call result %s: %w", reply.Result, err)
	}
	var b strings.Builder
	for _, c := range result.Content {
		b.WriteString(c.Text)
	}
	if result.IsError {
		return "", "tool error: " + b.String(), nil
	}
	return b.String(), "", nil
}

// request posts one request and reads its answer from the event stream.
func (s *rawSession) request(method string, params any) (rpcReply, error) {
	s.next++
	resp, err := s.post(map[string]any{"jsonrpc": "2.0", "id": s.next, "method": method, "params": params})
	if err != nil {
		return rpcReply{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return rpcReply{}, fmt.Errorf("%s: HTTP %d: %s", method, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if id := resp.Header.Get("Mcp-Session-Id"); id != "" && s.id == "" {
		s.id = id
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var msg struct {
			ID *int `json:"id"`
			rpcReply
		}
		if err := json.Unmarshal([]byte(data), &msg); err != nil {
			return rpcReply{}, fmt.Errorf("%s: undecodable event %q: %w", method, data, err)
		}
		if msg.ID != nil && *msg.ID == s.next {
			return msg.rpcReply, nil
		}
	}
	if err := sc.Err(); err != nil {
		return rpcReply{}, fmt.Errorf("%s: reading the event stream: %w", method, err)
	}
	return rpcReply{}, fmt.Errorf("%s: the event stream ended without an answer", method)
}

func (s *rawSession) post(msg any) (*http.Response, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
	}
	return s.http.Do(req)
}
