package authz

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func TestFilterList(t *testing.T) {
	p := compile(t, policies(
		`permit(principal, action == Action::"call_tool", resource == Tool::"weather");`,
		`permit(principal, action == Action::"call_tool", resource) when { resource has readOnlyHint && resource.readOnlyHint };`,
		`permit(principal, action == Action::"get_prompt", resource == Prompt::"greeting");`,
		`permit(principal, action == Action::"read_resource", resource) when { resource.uri like "file:///public/*" };`,
		`permit(principal, action == Action::"get_skill", resource == Skill::"mcp://s/ok");`,
	))
	tests := []struct {
		name, method, result, want string
		anonymous                  bool
	}{
		{
			name:   "tools the caller may call are kept as the server wrote them, other members too",
			method: "tools/list",
			result: `{"tools":[{"name":"weather", "inputSchema":{"type":"object"}},{"name":"deploy"},{"name":"list_issues","annotations":{"readOnlyHint":true,"title":"List"}}],"nextCursor":"c2","_meta":{"x":1},"vendorExtension":[1,2]}`,
			want:   `{"tools":[{"name":"weather", "inputSchema":{"type":"object"}},{"name":"list_issues","annotations":{"readOnlyHint":true,"title":"List"}}],"nextCursor":"c2","_meta":{"x":1},"vendorExtension":[1,2]}`,
		},
		{
			name:   "caching hints become private and immediately stale",
			method: "tools/list",
			result: `{"ttlMs":60000,"tools":[{"name":"deploy"}],"cacheScope":"public"}`,
			want:   `{"ttlMs":0,"tools":[],"cacheScope":"private"}`,
		},
		{
			name:   "prompts are kept by get_prompt",
			method: "prompts/list",
			result: `{"prompts":[{"name":"greeting"},{"name":"secret","description":"x"}]}`,
			want:   `{"prompts":[{"name":"greeting"}]}`,
		},
		{
			name:   "resources are kept by read_resource on their uri",
			method: "resources/list",
			result: `{"resources":[{"uri":"file:///public/a","name":"a"},{"uri":"file:///private/b","name":"b"}]}`,
			want:   `{"resources":[{"uri":"file:///public/a","name":"a"}]}`,
		},
		{
			name:   "resource templates are kept by read_resource on their template",
			method: "resources/templates/list",
			result: `{"resourceTemplates":[{"uriTemplate":"file:///public/{name}"},{"uriTemplate":"file:///private/{name}"}],"nextCursor":"n"}`,
			want:   `{"resourceTemplates":[{"uriTemplate":"file:///public/{name}"}],"nextCursor":"n"}`,
		},
		{
			name:   "skills are kept by get_skill",
			method: "skills/list",
			result: `{"skills":[{"uri":"mcp://s/ok"},{"uri":"mcp://s/no"}]}`,
			want:   `{"skills":[{"uri":"mcp://s/ok"}]}`,
		},
		{
			name:      "a caller without a token sees nothing",
			method:    "tools/list",
			result:    `{"tools":[{"name":"weather"}]}`,
			want:      `{"tools":[]}`,
			anonymous: true,
		},
		{
			name:   "the result of another method is left alone",
			method: "features/list",
			result: `{"anything": [1, 2]}`,
			want:   `{"anything": [1, 2]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := caller(t, alice)
			if tt.anonymous {
				c = nil
			}
			got, err := p.FilterList(c, tt.method, json.RawMessage(tt.result))
			if err != nil {
				t.Fatalf("FilterList: %v", err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFilterListRefusesWhatItCannotReadOneWay(t *testing.T) {
	p := compile(t, policies(`permit(principal, action, resource);`))
	tests := []struct{ name, method, result, want string }{
		{"a result that is not an object", "tools/list", `[]`, `tools/list result: not a JSON object`},
		{"a result without its list", "tools/list", `{"nextCursor":"x"}`, `tools/list result: no "tools" member`},
		{"a list that is null", "prompts/list", `{"prompts":null}`, `prompts/list result: prompts: not a JSON array`},
		{"a list given twice", "tools/list", `{"tools":[],"tools":[{"name":"x"}]}`, `tools/list result: member "tools" occurs more than once`},
		{"a list also spelled Tools", "tools/list", `{"tools":[],"Tools":[{"name":"x"}]}`, `tools/list result: member "tools" is also spelled "Tools"`},
		{"a caching hint spelled twice", "tools/list", `{"tools":[],"ttlMs":5,"TTLMS":5}`, `tools/list result: member "ttlMs" is also spelled "TTLMS"`},
		{"an entry without a name", "tools/list", `{"tools":[{"title":"x"}]}`, `tools/list result: tools[0]: no string "name"`},
		{"an entry whose uri is not a string", "resources/list", `{"resources":[{"uri":"a:b"},{"uri":5}]}`, `resources/list result: resources[1]: no string "uri"`},
		{"an annotation hint spelled twice", "tools/list", `{"tools":[{"name":"x","annotations":{"readOnlyHint":false,"readonlyhint":true}}]}`, `tools/list result: tools[0]: annotations: member "readOnlyHint" is also spelled "readonlyhint"`},
		{"an annotation hint that is not a boolean", "tools/list", `{"tools":[{"name":"x","annotations":{"readOnlyHint":"yes"}}]}`, `tools/list result: tools[0]: annotations: readOnlyHint is not a bool`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.FilterList(caller(t, alice), tt.method, json.RawMessage(tt.result))
			if err == nil {
				t.Fatal("FilterList succeeded")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestToolAnnotations(t *testing.T) {
	got, err := ToolAnnotations(json.RawMessage(`{"tools":[{"name":"a","annotations":{"readOnlyHint":true,"title":"A"}},{"name":"b","annotations":{"title":"only a title"}},{"name":"c"},{"name":"d","annotations":{"destructiveHint":false,"openWorldHint":true}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*proxyconfig.ToolAnnotations{
		"a": {ReadOnlyHint: ptr(true), Title: ptr("A")},
		"d": {DestructiveHint: ptr(false), OpenWorldHint: ptr(true)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
}
