package wire

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		name, result string
		want         Description
		wantErr      bool
	}{
		{"an initialize result", `{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"osv","version":"0.3.1"}}`,
			Description{Name: "osv", Version: "0.3.1", ProtocolVersion: "2025-06-18"}, false},
		{"a server/discover result: the newest version it speaks",
			`{"supportedVersions":["2025-06-18","2026-07-28","2025-11-25"],"capabilities":{},"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s","version":"2"}}}`,
			Description{Name: "s", Version: "2", ProtocolVersion: "2026-07-28"}, false},
		{"a result that describes nothing", `{"pad":"p"}`, Description{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Describe(json.RawMessage(tt.result))
			if diff := cmp.Diff(tt.want, got); diff != "" || (err != nil) != tt.wantErr {
				t.Errorf("Describe: error %v (-want +got):\n%s", err, diff)
			}
		})
	}
}

func TestToolNames(t *testing.T) {
	names, next, err := ToolNames(json.RawMessage(`{"tools":[{"name":"echo","inputSchema":{}},{"name":"add"}],"nextCursor":"p2"}`))
	if diff := cmp.Diff([]string{"echo", "add"}, names); diff != "" || next != "p2" || err != nil {
		t.Errorf("ToolNames: next %q, error %v (-want +got):\n%s", next, err, diff)
	}
}
