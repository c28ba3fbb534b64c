package curation

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// FuzzList feeds List any result a server could answer. It must never
// panic, and a list it returns holds only tools clients may see, each under
// the name clients call it by.
func FuzzList(f *testing.F) {
	for _, s := range []string{
		`{"tools":[{"name":"search_code","annotations":{"readOnlyHint":false}},{"name":"delete_repo"},{"name":"find"}],"nextCursor":"x"}`,
		`{"tools":[{"name":"a","description":"d"},{"name":"b","annotations":null}]}`,
		`{"tools":[{"name":"a","NAME":"b"}]}`,
		`{"tools":null}`,
	} {
		f.Add(s)
	}
	c := curator(f, &proxyconfig.Tools{
		Filter: []string{"find", "a", "b"},
		Overrides: map[string]proxyconfig.ToolOverride{
			"search_code": {Name: "find", Annotations: &proxyconfig.ToolAnnotations{ReadOnlyHint: ptr(true)}},
			"a":           {Description: "A"},
		},
	})
	f.Fuzz(func(t *testing.T, result string) {
		got, err := c.List(json.RawMessage(result))
		if err != nil {
			return
		}
		var list struct {
			Tools []struct {
				Name string `json:"name"`
			} `json:"tools"`
		}
		if err := json.Unmarshal(got, &list); err != nil {
			t.Fatalf("List(%s) = %s: %v", result, got, err)
		}
		for _, tool := range list.Tools {
			if _, ok := c.Call(tool.Name); !ok {
				t.Errorf("List(%s) lists %q, which cannot be called", result, tool.Name)
			}
		}
	})
}
