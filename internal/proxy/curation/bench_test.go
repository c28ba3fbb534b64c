package curation

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func benchCurator(b *testing.B) *Curator {
	overrides := map[string]proxyconfig.ToolOverride{}
	var filter []string
	for i := range 50 {
		name := fmt.Sprintf("tool_%d", i)
		if i%3 == 0 {
			overrides[name] = proxyconfig.ToolOverride{Name: "renamed_" + name, Description: "Curated.", Annotations: &proxyconfig.ToolAnnotations{ReadOnlyHint: ptr(true)}}
			name = "renamed_" + name
		}
		if i%2 == 0 {
			filter = append(filter, name)
		}
	}
	return curator(b, &proxyconfig.Tools{Filter: filter, Overrides: overrides})
}

func BenchmarkList(b *testing.B) {
	c := benchCurator(b)
	var tools []string
	for i := range 50 {
		tools = append(tools, fmt.Sprintf(`{"name":"tool_%d","description":"Does thing %d.","inputSchema":{"type":"object","properties":{"q":{"type":"string"}}},"annotations":{"readOnlyHint":false,"title":"T"}}`, i, i))
	}
	result := json.RawMessage(`{"tools":[` + strings.Join(tools, ",") + `],"nextCursor":"abc"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.List(result); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCall(b *testing.B) {
	c := benchCurator(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Call("renamed_tool_0"); !ok {
			b.Fatal("not callable")
		}
	}
}
