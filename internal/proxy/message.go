// Package proxy carries MCP clients to an MCP server: it terminates the
// client-facing transports (streamable HTTP, legacy SSE) and forwards JSON-RPC
// messages to a backend (a stdio process or pod, or HTTP backend pods).
package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// message is one JSON-RPC 2.0 message. IDs and payloads stay raw so that the
// proxy forwards what it does not need to understand byte for byte.
type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   json.RawMessage `json:"error,omitempty"`
}

func (m *message) isRequest() bool      { return m.Method != "" && len(m.ID) > 0 }
func (m *message) isNotification() bool { return m.Method != "" && len(m.ID) == 0 }
func (m *message) isResponse() bool     { return m.Method == "" && len(m.ID) > 0 }

// JSON-RPC and MCP error codes the proxy itself answers with.
const (
	codeParseError     = -32700
	codeInvalidRequest = -32600
	codeInternalError  = -32603
)

var errNotJSONRPC = errors.New("not a JSON-RPC 2.0 message")

// parseMessages decodes a POST body: one message or, where the protocol
// version allows it, a batch.
func parseMessages(body []byte) (msgs []*message, batch bool, err error) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var raws []json.RawMessage
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, true, fmt.Errorf("malformed JSON: %w", err)
		}
		if len(raws) == 0 {
			return nil, true, errors.New("empty batch")
		}
		for _, r := range raws {
			m, err := parseMessage(r)
			if err != nil {
				return nil, true, err
			}
			msgs = append(msgs, m)
		}
		return msgs, true, nil
	}
	m, err := parseMessage(body)
	if err != nil {
		return nil, false, err
	}
	return []*message{m}, false, nil
}

func parseMessage(data []byte) (*message, error) {
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if m.JSONRPC != "2.0" || (m.Method == "" && len(m.ID) == 0) {
		return nil, errNotJSONRPC
	}
	if len(m.ID) > 0 && !validID(m.ID) {
		return nil, fmt.Errorf("%w: id must be a string or a number", errNotJSONRPC)
	}
	return &m, nil
}

func validID(id json.RawMessage) bool {
	switch id[0] {
	case '"':
		var s string
		return json.Unmarshal(id, &s) == nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		return json.Unmarshal(id, &n) == nil
	}
	return false
}

// encode writes m without HTML escaping, so that ids and payloads go out
// byte for byte as they came in.
func encode(m *message) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode JSON-RPC message: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// errorResponse is a JSON-RPC error answer to id.
func errorResponse(id json.RawMessage, code int, msg string) *message {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	e, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, msg})
	return &message{JSONRPC: "2.0", ID: id, Error: e}
}

// initializeResultIn finds, in a stdio server's output, what the server
// first said about itself (asInitializeResult); other lines, JSON or not,
// are passed over. requested is the protocol version the client asks for.
func initializeResultIn(output io.Reader, requested string) (json.RawMessage, error) {
	sc := lineScanner(output)
	for sc.Scan() {
		msg, err := parseMessage(sc.Bytes())
		if err != nil || !msg.isResponse() || len(msg.Error) != 0 {
			continue
		}
		if result, ok := asInitializeResult(msg.Result, requested); ok {
			return result, nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read the server's output: %w", err)
	}
	return nil, errors.New("the server's output holds no initialize or server/discover result")
}

// asInitializeResult is result if it is an initialize result (it has
// protocolVersion, capabilities and serverInfo), or the initialize result a
// server/discover result implies (supportedVersions, capabilities,
// serverInfo in _meta): a client of the stateless era got it, and a Go SDK
// server refuses initialize after it. The version is the requested one if
// the server supports it, else the newest it supports from before the
// stateless era.
func asInitializeResult(result json.RawMessage, requested string) (json.RawMessage, bool) {
	var r struct {
		ProtocolVersion   string                     `json:"protocolVersion"`
		SupportedVersions []string                   `json:"supportedVersions"`
		Capabilities      json.RawMessage            `json:"capabilities"`
		ServerInfo        json.RawMessage            `json:"serverInfo"`
		Instructions      string                     `json:"instructions,omitempty"`
		Meta              map[string]json.RawMessage `json:"_meta"`
	}
	if result == nil || json.Unmarshal(result, &r) != nil || r.Capabilities == nil {
		return nil, false
	}
	if r.ProtocolVersion != "" && r.ServerInfo != nil {
		return result, true
	}
	if r.Meta[discoverServerInfo] == nil {
		return nil, false
	}
	version := ""
	for _, v := range r.SupportedVersions {
		if v == requested && v < protocolStateless {
			version = v
			break
		}
		if v < protocolStateless && v > version {
			version = v
		}
	}
	if version == "" {
		return nil, false
	}
	out, err := json.Marshal(struct {
		ProtocolVersion string          `json:"protocolVersion"`
		Capabilities    json.RawMessage `json:"capabilities"`
		ServerInfo      json.RawMessage `json:"serverInfo"`
		Instructions    string          `json:"instructions,omitempty"`
	}{version, r.Capabilities, r.Meta[discoverServerInfo], r.Instructions})
	return out, err == nil
}

// discoverServerInfo is where a server/discover result names the server.
const discoverServerInfo = "io.modelcontextprotocol/serverInfo"
