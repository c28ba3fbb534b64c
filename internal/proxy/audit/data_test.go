package audit

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

const secretCall = `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"query","arguments":{"sql":"select 's3cr3t-value' <from> t"}}}`

func TestRequestDataIsRecordedOnlyWhenAskedAndCut(t *testing.T) {
	tests := []struct {
		name string
		cfg  proxyconfig.Audit
		want any // the event's "data", nil for none
	}{{
		name: "off: no data",
		cfg:  proxyconfig.Audit{Enabled: true},
	}, {
		name: "on: the whole message, as ToolHive records a request body",
		cfg:  proxyconfig.Audit{Enabled: true, IncludeRequestData: true},
		want: map[string]any{"request": map[string]any{
			"jsonrpc": "2.0", "id": 3.0, "method": "tools/call",
			"params": map[string]any{"name": "query", "arguments": map[string]any{"sql": "select 's3cr3t-value' <from> t"}},
		}},
	}, {
		name: "on, over the cap: the message's first bytes as a string, with its size",
		cfg:  proxyconfig.Audit{Enabled: true, IncludeRequestData: true, MaxDataSize: 40},
		want: map[string]any{
			// At most 40 bytes once encoded (39: quotes and the
			// backslashes escaping the eight inside).
			"request":            `{"jsonrpc":"2.0","id":3,"meth`,
			"request_truncated":  true,
			"request_size_bytes": float64(len(secretCall)),
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := newOutput()
			a := newAuditor(t, tc.cfg, out)
			replies, _, _, _ := pipeline.New(a.Step()).CheckAll(post(ada), "s", parse(t, secretCall))
			replies.FailAll("test over")
			if err := a.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			line := out.String()
			events := decodeLines(t, line)
			if len(events) != 1 {
				t.Fatalf("%d events, want 1:\n%s", len(events), line)
			}
			if diff := cmp.Diff(tc.want, events[0]["data"]); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
			if !tc.cfg.IncludeRequestData && strings.Contains(line, "s3cr3t") {
				t.Errorf("an argument is in the line without request data:\n%s", line)
			}
		})
	}
}

func TestTheDefaultCapIsToolHives(t *testing.T) {
	long := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":"` + strings.Repeat("é", 2000) + `"}}}`
	out := newOutput()
	a := newAuditor(t, proxyconfig.Audit{Enabled: true, IncludeRequestData: true}, out)
	replies, _, _, _ := pipeline.New(a.Step()).CheckAll(post(nil), "", parse(t, long))
	replies.FailAll("test over")
	events := closeAndRead(t, a, out)
	data, _ := events[0]["data"].(map[string]any)
	s, _ := data["request"].(string)
	if enc, _ := wire.Marshal(s); len(enc) > proxyconfig.DefaultAuditMaxDataSize || len(enc) < proxyconfig.DefaultAuditMaxDataSize-8 {
		t.Errorf("request data is %d bytes encoded, want just under %d", len(enc), proxyconfig.DefaultAuditMaxDataSize)
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		t.Errorf("the cut split a character: %q", s[len(s)-8:])
	}
}

// FuzzRequestData: whatever the message (even with bytes that are not
// UTF-8) and the cap, the data is valid JSON and its request string fits
// the cap.
func FuzzRequestData(f *testing.F) {
	f.Add(`{"a":"b"}`, 10)
	f.Add(`{"q":"\"\"\"\"\"\"\\\\\\"}`, 7)
	f.Add(`{"e":"éééé€€€𝄞𝄞"}`, 30)
	f.Add(`{"c":"\u0001\u0002<>&"}`, 5)
	f.Fuzz(func(t *testing.T, params string, limit int) {
		if limit <= 0 || limit > 1<<16 || !json.Valid([]byte(params)) {
			t.Skip()
		}
		m := parse(t, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":`+params+`}`)[0]
		data := requestData(m, limit)
		if data == nil {
			return
		}
		var got map[string]any
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("data is not JSON: %v\n%s", err, data)
		}
		if s, ok := got["request"].(string); ok {
			// Even an empty string takes its two quotes.
			if enc, _ := wire.Marshal(s); len(enc) > max(limit, 2) {
				t.Errorf("request string is %d bytes encoded, cap %d", len(enc), limit)
			}
		}
	})
}
