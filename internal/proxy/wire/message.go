// Package wire is the MCP wire format the proxy speaks on both sides:
// JSON-RPC 2.0 messages, their errors, server-sent events and the
// streamable HTTP headers.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Message is one JSON-RPC 2.0 message. IDs and payloads stay raw so that the
// proxy forwards what it does not need to understand byte for byte.
type Message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   json.RawMessage `json:"error,omitempty"`
}

// IsRequest reports a message that expects an answer.
func (m *Message) IsRequest() bool { return m.Method != "" && len(m.ID) > 0 }

// IsNotification reports a message that expects none.
func (m *Message) IsNotification() bool { return m.Method != "" && len(m.ID) == 0 }

// IsResponse reports an answer (a result or an error).
func (m *Message) IsResponse() bool { return m.Method == "" && len(m.ID) > 0 }

// JSON-RPC and MCP error codes the proxy itself answers with.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
	// CodeServerError is the implementation-defined range's first code: the
	// proxy's own refusals (limits, timeouts) that are neither the client's
	// syntax nor the server's fault.
	CodeServerError = -32000
	// CodeRequestTimeout is what the MCP SDKs answer a request that timed out.
	CodeRequestTimeout = -32001
)

// Error is a JSON-RPC error with the code that classifies it.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf is an *Error with code.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf is err's JSON-RPC code: its own if it is an *Error, else internal.
func CodeOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternalError
}

// Parse decodes a POST body: one message or, where the protocol version
// allows it, a batch of at most maxBatch messages (0: no limit). Errors
// are *Error, -32700 for what is not JSON and -32600 for JSON that is not a
// JSON-RPC message.
func Parse(body []byte, maxBatch int) (msgs []*Message, batch bool, err error) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var raws []json.RawMessage
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, true, Errorf(CodeParseError, "malformed JSON: %v", err)
		}
		if len(raws) == 0 {
			return nil, true, Errorf(CodeInvalidRequest, "empty batch")
		}
		if maxBatch > 0 && len(raws) > maxBatch {
			return nil, true, Errorf(CodeInvalidRequest, "a batch holds %d messages; the most this proxy takes is %d: send fewer at a time", len(raws), maxBatch)
		}
		msgs = make([]*Message, 0, len(raws))
		for _, r := range raws {
			m, err := ParseOne(r)
			if err != nil {
				return nil, true, err
			}
			msgs = append(msgs, m)
		}
		return msgs, true, nil
	}
	m, err := ParseOne(body)
	if err != nil {
		return nil, false, err
	}
	return []*Message{m}, false, nil
}

// ParseOne decodes one message (see Parse for its errors).
func ParseOne(data []byte) (*Message, error) {
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, Errorf(CodeInvalidRequest, "not a JSON-RPC 2.0 message: field %s has the wrong type", typeErr.Field)
		}
		return nil, Errorf(CodeParseError, "malformed JSON: %v", err)
	}
	if m.JSONRPC != "2.0" || (m.Method == "" && len(m.ID) == 0) {
		return nil, Errorf(CodeInvalidRequest, "not a JSON-RPC 2.0 message: it needs \"jsonrpc\":\"2.0\" and a method or an id")
	}
	if len(m.ID) > 0 && !validID(m.ID, m.Method == "") {
		return nil, Errorf(CodeInvalidRequest, "not a JSON-RPC 2.0 message: id must be a string or a number")
	}
	return &m, nil
}

// validID accepts a string or a number; an answer may also carry null (an
// error about a request whose id could not be read).
func validID(id json.RawMessage, answer bool) bool {
	switch id[0] {
	case '"':
		var s string
		return json.Unmarshal(id, &s) == nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		var n json.Number
		return json.Unmarshal(id, &n) == nil
	case 'n':
		return answer && string(id) == "null"
	}
	return false
}

// Encode writes m without HTML escaping, so that ids and payloads go out
// byte for byte as they came in.
func Encode(m *Message) ([]byte, error) {
	out, err := Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode JSON-RPC message: %w", err)
	}
	return out, nil
}

// Marshal is v as compact JSON without HTML escaping, which would rewrite
// every '<', '>' and '&' of the values passed on into six bytes.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ErrorResponse is a JSON-RPC error answer to id.
func ErrorResponse(id json.RawMessage, code int, msg string) *Message {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	e, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, msg})
	return &Message{JSONRPC: "2.0", ID: id, Error: e}
}

// ErrorFor answers id with err's code and text.
func ErrorFor(id json.RawMessage, err error) *Message {
	return ErrorResponse(id, CodeOf(err), err.Error())
}

// Quote is s as a JSON string id.
func Quote(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// Unquote gives the string value of a string id, or its raw text.
func Unquote(id json.RawMessage) string {
	var s string
	if json.Unmarshal(id, &s) == nil {
		return s
	}
	return string(id)
}

// Truncate shortens b for a log line.
func Truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
