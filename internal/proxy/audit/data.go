package audit

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
)

// truncated is the data of a request too large for the cap: the start of
// its JSON as a string, and how large the whole was.
type truncated struct {
	Request   string `json:"request"`
	Truncated bool   `json:"request_truncated"`
	Size      int    `json:"request_size_bytes"`
}

// requestData is an event's "data": {"request": <the JSON-RPC message>},
// as ToolHive records a request's body. A message over limit bytes is cut
// instead of left out (ToolHive's choice), and stays valid JSON: its
// first bytes become a string no longer than limit once encoded.
func requestData(m *wire.Message, limit int) json.RawMessage {
	msg, err := wire.Marshal(m)
	if err != nil {
		// Only a message a step rewrote into invalid JSON gets here; its
		// event is still written, without the data.
		return nil
	}
	if len(msg) <= limit {
		return append(append([]byte(`{"request":`), msg...), '}')
	}
	// Encoding never shortens a byte, so dropping as many bytes as the
	// encoded string is over the cap is enough to fit.
	cut := prefix(msg, limit)
	if excess := len(encodeString(cut)) - limit; excess > 0 {
		cut = prefix(msg, max(len(cut)-excess, 0))
	}
	out, err := wire.Marshal(truncated{Request: string(cut), Truncated: true, Size: len(msg)})
	if err != nil {
		return nil
	}
	return out
}

// prefix is b's first n bytes at most, not splitting a UTF-8 character.
func prefix(b []byte, n int) []byte {
	if n >= len(b) {
		return b
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n]
}

// encodeString is b as a JSON string, as the log writes it.
func encodeString(b []byte) []byte {
	out, _ := wire.Marshal(string(b))
	return out
}
