package proxy

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParseMessages feeds arbitrary POST bodies to the parser: it must never
// panic, and whatever it accepts must survive re-encoding as JSON-RPC.
func FuzzParseMessages(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`,
		`[{"jsonrpc":"2.0","id":"a","method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/initialized"}]`,
		`{"jsonrpc":"2.0","id":2,"result":{}}`,
		`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}`,
		`{"jsonrpc":"2.0","id":{},"method":"x"}`,
		`[]`, `[`, `{}`, `null`, `"str"`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, _, err := parseMessages(body)
		if err != nil {
			return
		}
		for _, m := range msgs {
			out, err := encode(m)
			if err != nil {
				t.Fatalf("accepted %q but cannot encode it: %v", body, err)
			}
			again, err := parseMessage(out)
			if err != nil {
				t.Fatalf("re-encoded %q does not parse: %v", out, err)
			}
			if again.Method != m.Method || !bytes.Equal(compact(again.ID), compact(m.ID)) {
				t.Fatalf("round trip changed %q into %q", body, out)
			}
			if !json.Valid(out) {
				t.Fatalf("invalid JSON out: %q", out)
			}
		}
	})
}

func compact(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if len(raw) == 0 || json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}
