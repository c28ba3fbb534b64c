package wire

import (
	"bytes"
	"encoding/json"
	"strings"
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
		msgs, _, err := Parse(body, 0)
		if err != nil {
			return
		}
		for _, m := range msgs {
			out, err := Encode(m)
			if err != nil {
				t.Fatalf("accepted %q but cannot encode it: %v", body, err)
			}
			again, err := ParseOne(out)
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

func TestParseErrorCodesFollowJSONRPC(t *testing.T) {
	for body, want := range map[string]int{
		`{"jsonrpc":"2.0","id":1,`:                 CodeParseError,
		`not json`:                                 CodeParseError,
		`{"jsonrpc":"2.0","id":{},"method":"x"}`:   CodeInvalidRequest,
		`{"jsonrpc":"2.0","id":[1],"method":"x"}`:  CodeInvalidRequest,
		`{"jsonrpc":"2.0","id":true,"method":"x"}`: CodeInvalidRequest,
		`{"jsonrpc":"2.0","id":1,"method":7}`:      CodeInvalidRequest,
		`{"jsonrpc":"1.0","id":1,"method":"x"}`:    CodeInvalidRequest,
		`{"jsonrpc":"2.0"}`:                        CodeInvalidRequest,
		`{"jsonrpc":"2.0","id":null,"method":"x"}`: CodeInvalidRequest,
		`[]`: CodeInvalidRequest,
		`[{"jsonrpc":"2.0","id":1,"method":"a"},1]`: CodeInvalidRequest,
	} {
		_, _, err := Parse([]byte(body), 0)
		if err == nil || CodeOf(err) != want {
			t.Errorf("Parse(%s) = %v (code %d), want code %d", body, err, CodeOf(err), want)
		}
	}
	if _, _, err := Parse([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}`), 0); err != nil {
		t.Errorf("an error answer with id null is valid JSON-RPC: %v", err)
	}
}

func TestParseRefusesABatchOverTheLimit(t *testing.T) {
	batch := []byte(`[` + strings.Repeat(`{"jsonrpc":"2.0","id":1,"method":"ping"},`, 4) + `{"jsonrpc":"2.0","id":2,"method":"ping"}]`)
	if _, _, err := Parse(batch, 5); err != nil {
		t.Fatalf("5 messages with a limit of 5: %v", err)
	}
	_, _, err := Parse(batch, 4)
	if err == nil || CodeOf(err) != CodeInvalidRequest || !strings.Contains(err.Error(), "most this proxy takes is 4") {
		t.Fatalf("5 messages with a limit of 4: %v", err)
	}
}
