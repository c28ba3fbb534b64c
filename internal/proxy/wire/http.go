package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// MCP streamable HTTP headers and protocol versions.
const (
	HeaderSessionID       = "Mcp-Session-Id"
	HeaderProtocolVersion = "Mcp-Protocol-Version"
	// HeaderMethod and HeaderName (2026-07-28 on) repeat, for
	// intermediaries, the method and the tool, prompt or resource the body
	// names.
	HeaderMethod = "Mcp-Method"
	HeaderName   = "Mcp-Name"
	// ProtocolNoBatch is the first protocol version that forbids batches.
	ProtocolNoBatch = "2025-06-18"
	// ProtocolStateless is the first protocol version without sessions.
	ProtocolStateless = "2026-07-28"
	// KeepAliveInterval is how often an idle event stream gets a comment,
	// so that idle proxies and load balancers keep it open.
	KeepAliveInterval = 15 * time.Second
)

// HTTPError answers with a plain-text error that says what to do.
func HTTPError(w http.ResponseWriter, status int, msg string) {
	http.Error(w, msg, status)
}

// WriteRPCError answers with a JSON-RPC error body (id null: the request
// could not be read), for clients that parse the body of a failed POST.
func WriteRPCError(w http.ResponseWriter, status int, code int, msg string) {
	WriteMessage(w, status, ErrorResponse(nil, code, msg))
}

// ReadBody reads a POST body of at most maxBody bytes, answering 413 (with
// a JSON-RPC error) or 400 when it cannot.
func ReadBody(w http.ResponseWriter, r *http.Request, maxBody int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			WriteRPCError(w, http.StatusRequestEntityTooLarge, CodeInvalidRequest, fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit))
			return nil, false
		}
		HTTPError(w, http.StatusBadRequest, "could not read the request body")
		return nil, false
	}
	return body, true
}

// ReadMessages reads and parses a POST body, answering 413 or 400 (with a
// JSON-RPC error of the right code) when it cannot.
func ReadMessages(w http.ResponseWriter, r *http.Request, maxBody int64, maxBatch int) ([]*Message, bool, bool) {
	body, ok := ReadBody(w, r, maxBody)
	if !ok {
		return nil, false, false
	}
	msgs, batch, err := Parse(body, maxBatch)
	if err != nil {
		WriteRPCError(w, http.StatusBadRequest, CodeOf(err), err.Error())
		return nil, false, false
	}
	return msgs, batch, true
}

// Accepts reports whether the request's Accept header lists mediaType.
func Accepts(r *http.Request, mediaType string) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
			if mt == mediaType || mt == "*/*" {
				return true
			}
		}
	}
	return false
}

// Advertise is the path a client should use for path, behind an ingress
// that routes prefix (or X-Forwarded-Prefix, when trusted) here.
func Advertise(r *http.Request, prefix string, trustProxy bool, path string) string {
	if trustProxy {
		if p := r.Header.Get("X-Forwarded-Prefix"); p != "" {
			prefix = p
		}
	}
	return strings.TrimSuffix(prefix, "/") + path
}

// WriteMessage answers with one JSON-RPC message as the body.
func WriteMessage(w http.ResponseWriter, status int, msg *Message) {
	body, err := Encode(msg)
	if err != nil {
		HTTPError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Target is what a request's params name: a tool or prompt name, or a
// resource URI ("" for none), which HeaderName repeats.
func Target(params json.RawMessage) string {
	var p struct {
		Name string `json:"name"`
		URI  string `json:"uri"`
	}
	_ = json.Unmarshal(params, &p)
	if p.Name != "" {
		return p.Name
	}
	return p.URI
}
