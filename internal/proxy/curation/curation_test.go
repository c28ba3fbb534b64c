package curation

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func ptr[T any](v T) *T { return &v }

// curator is New(cfg), or fails the test.
func curator(t testing.TB, cfg *proxyconfig.Tools) *Curator {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestList(t *testing.T) {
	tests := []struct {
		name   string
		cfg    *proxyconfig.Tools
		result string
		want   string
	}{
		{
			name:   "without a config the list is the server's",
			cfg:    nil,
			result: `{"tools":[{"name":"a"},{"name":"b"}],"nextCursor":"n"}`,
			want:   `{"tools":[{"name":"a"},{"name":"b"}],"nextCursor":"n"}`,
		},
		{
			name:   "the filter keeps only the tools it names, each as the server wrote it",
			cfg:    &proxyconfig.Tools{Filter: []string{"b"}},
			result: `{"tools":[{"name":"a"},{"name":"b", "inputSchema": {"type":"object"}}],"nextCursor":"n","_meta":{"k":1}}`,
			want:   `{"tools":[{"name":"b", "inputSchema": {"type":"object"}}],"nextCursor":"n","_meta":{"k":1}}`,
		},
		{
			name:   "a rename changes the name and keeps the tool's other members in place",
			cfg:    &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"search_code": {Name: "find"}}},
			result: `{"tools":[{"name":"search_code","description":"Searches.","inputSchema":{}}]}`,
			want:   `{"tools":[{"name":"find","description":"Searches.","inputSchema":{}}]}`,
		},
		{
			name:   "the filter names a renamed tool by its new name",
			cfg:    &proxyconfig.Tools{Filter: []string{"find"}, Overrides: map[string]proxyconfig.ToolOverride{"search_code": {Name: "find"}}},
			result: `{"tools":[{"name":"search_code"},{"name":"delete_repo"}]}`,
			want:   `{"tools":[{"name":"find"}]}`,
		},
		{
			name:   "a description override replaces the server's or is added",
			cfg:    &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"a": {Description: "Safe & <sound>"}, "b": {Description: "B"}}},
			result: `{"tools":[{"name":"a","description":"old"},{"name":"b"}]}`,
			want:   `{"tools":[{"name":"a","description":"Safe & <sound>"},{"name":"b","description":"B"}]}`,
		},
		{
			name: "annotation overrides replace the server's field by field",
			cfg: &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{
				"a": {Annotations: &proxyconfig.ToolAnnotations{ReadOnlyHint: ptr(true), Title: ptr("A")}},
				"b": {Annotations: &proxyconfig.ToolAnnotations{DestructiveHint: ptr(false)}},
			}},
			result: `{"tools":[{"name":"a","annotations":{"readOnlyHint":false,"openWorldHint":true,"x-vendor":1}},{"name":"b","annotations":null},{"name":"c","annotations":{"title":"C"}}]}`,
			want:   `{"tools":[{"name":"a","annotations":{"readOnlyHint":true,"openWorldHint":true,"x-vendor":1,"title":"A"}},{"name":"b","annotations":{"destructiveHint":false}},{"name":"c","annotations":{"title":"C"}}]}`,
		},
		{
			name:   "a tool whose name another tool is renamed to is not listed",
			cfg:    &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"search_v2": {Name: "search"}}},
			result: `{"tools":[{"name":"search"},{"name":"search_v2"}]}`,
			want:   `{"tools":[{"name":"search"}]}`,
		},
		{
			name:   "two tools may swap names",
			cfg:    &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"a": {Name: "b", Description: "was a"}, "b": {Name: "a"}}},
			result: `{"tools":[{"name":"a"},{"name":"b"}]}`,
			want:   `{"tools":[{"name":"b","description":"was a"},{"name":"a"}]}`,
		},
		{
			name:   "a filter that names no listed tool leaves an empty list",
			cfg:    &proxyconfig.Tools{Filter: []string{"gone"}},
			result: `{"tools":[{"name":"a"}]}`,
			want:   `{"tools":[]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := curator(t, tt.cfg).List(json.RawMessage(tt.result))
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListRefusesWhatItCannotReadOneWay(t *testing.T) {
	c := curator(t, &proxyconfig.Tools{Filter: []string{"a"}, Overrides: map[string]proxyconfig.ToolOverride{"a": {Description: "A", Annotations: &proxyconfig.ToolAnnotations{ReadOnlyHint: ptr(true)}}}})
	tests := []struct{ name, result, want string }{
		{"a result that is not an object", `"tools"`, `tools/list result: not a JSON object`},
		{"a result without tools", `{}`, `tools/list result: no "tools" member`},
		{"tools given twice", `{"tools":[],"tools":[{"name":"b"}]}`, `tools/list result: member "tools" occurs more than once`},
		{"tools that are not an array", `{"tools":{"name":"b"}}`, `tools/list result: tools: not a JSON array`},
		{"a tool without a name", `{"tools":[{"title":"b"}]}`, `tools/list result: tools[0]: no string "name"`},
		{"a tool's name also spelled NAME", `{"tools":[{"name":"a","NAME":"b"}]}`, `tools/list result: tools[0]: member "name" is also spelled "NAME"`},
		{"an overridden description spelled twice", `{"tools":[{"name":"a","description":"x","Description":"y"}]}`, `tools/list result: tools[0]: member "description" is also spelled "Description"`},
		{"an overridden hint spelled twice", `{"tools":[{"name":"a","annotations":{"readonlyHint":false}}]}`, `tools/list result: tools[0]: annotations: member "readOnlyHint" is also spelled "readonlyHint"`},
		{"annotations that are not an object", `{"tools":[{"name":"a","annotations":[]}]}`, `tools/list result: tools[0]: annotations: not a JSON object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.List(json.RawMessage(tt.result))
			if err == nil {
				t.Fatal("List succeeded")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCallAndVisible(t *testing.T) {
	type name struct {
		Name string
		OK   bool
	}
	tests := []struct {
		name    string
		cfg     *proxyconfig.Tools
		call    map[string]name // visible name -> backend name
		visible map[string]name // backend name -> visible name
	}{
		{
			name:    "without a config every tool is called by its own name",
			cfg:     nil,
			call:    map[string]name{"a": {"a", true}},
			visible: map[string]name{"a": {"a", true}},
		},
		{
			name:    "a filtered tool cannot be called",
			cfg:     &proxyconfig.Tools{Filter: []string{"a"}},
			call:    map[string]name{"a": {"a", true}, "b": {"", false}},
			visible: map[string]name{"a": {"a", true}, "b": {"", false}},
		},
		{
			name:    "a renamed tool is called by its new name only",
			cfg:     &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"search_code": {Name: "find"}}},
			call:    map[string]name{"find": {"search_code", true}, "search_code": {"", false}, "other": {"other", true}},
			visible: map[string]name{"search_code": {"find", true}, "other": {"other", true}},
		},
		{
			name:    "a renamed and filtered tool is called by the name the filter lists",
			cfg:     &proxyconfig.Tools{Filter: []string{"find"}, Overrides: map[string]proxyconfig.ToolOverride{"search_code": {Name: "find"}}},
			call:    map[string]name{"find": {"search_code", true}, "search_code": {"", false}, "other": {"", false}},
			visible: map[string]name{"search_code": {"find", true}, "other": {"", false}},
		},
		{
			name:    "a renamed tool filtered out cannot be called by either name",
			cfg:     &proxyconfig.Tools{Filter: []string{"other"}, Overrides: map[string]proxyconfig.ToolOverride{"search_code": {Name: "find"}}},
			call:    map[string]name{"find": {"", false}, "search_code": {"", false}, "other": {"other", true}},
			visible: map[string]name{"search_code": {"", false}},
		},
		{
			name:    "swapped names call each other's tool",
			cfg:     &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"a": {Name: "b"}, "b": {Name: "a"}}},
			call:    map[string]name{"a": {"b", true}, "b": {"a", true}},
			visible: map[string]name{"a": {"b", true}, "b": {"a", true}},
		},
		{
			name:    "the server's own tool under a name another is renamed to is hidden",
			cfg:     &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"search_v2": {Name: "search"}}},
			call:    map[string]name{"search": {"search_v2", true}, "search_v2": {"", false}},
			visible: map[string]name{"search": {"", false}, "search_v2": {"search", true}},
		},
		{
			name:    "a description-only override keeps the name callable",
			cfg:     &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"a": {Description: "A"}}},
			call:    map[string]name{"a": {"a", true}},
			visible: map[string]name{"a": {"a", true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := curator(t, tt.cfg)
			call := map[string]name{}
			for v := range tt.call {
				b, ok := c.Call(v)
				call[v] = name{b, ok}
			}
			visible := map[string]name{}
			for b := range tt.visible {
				v, ok := c.Visible(b)
				visible[b] = name{v, ok}
			}
			if diff := cmp.Diff(tt.call, call); diff != "" {
				t.Errorf("Call (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.visible, visible); diff != "" {
				t.Errorf("Visible (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name string
		cfg  *proxyconfig.Tools
		want []string
	}{
		{"a config that does what it says warns of nothing", &proxyconfig.Tools{Filter: []string{"find"}, Overrides: map[string]proxyconfig.ToolOverride{"search": {Name: "find"}}}, nil},
		{"an override that changes nothing", &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"a": {}}},
			[]string{`spec.toolsOverride["a"] overrides nothing: set name, description or annotations`}},
		{"a filter naming a renamed tool by its old name matches nothing", &proxyconfig.Tools{Filter: []string{"search"}, Overrides: map[string]proxyconfig.ToolOverride{"search": {Name: "find"}}},
			[]string{`spec.toolsFilter[0]: "search" is renamed to "find" by toolsOverride, and the filter names tools as clients see them, so this entry matches nothing and the tool is not listed: write "find"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Warnings(tt.cfg)); diff != "" {
				t.Errorf("Warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  *proxyconfig.Tools
		want string // "" for valid
	}{
		{"no config is valid", nil, ""},
		{"a filter and renames are valid", &proxyconfig.Tools{Filter: []string{"find", "b"}, Overrides: map[string]proxyconfig.ToolOverride{"search": {Name: "find"}, "b": {Description: "B"}}}, ""},
		{"swapping names is valid", &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"a": {Name: "b"}, "b": {Name: "a"}}}, ""},
		{"renaming a tool to its own name is valid", &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"a": {Name: "a"}}}, ""},
		{"renaming onto a tool's kept name that the filter hides is valid", &proxyconfig.Tools{Filter: []string{"c"}, Overrides: map[string]proxyconfig.ToolOverride{"a": {Name: "b"}, "b": {Description: "B"}}}, ""},
		{"an empty filter entry", &proxyconfig.Tools{Filter: []string{"a", ""}}, `toolsFilter[1]: a tool name cannot be empty`},
		{"an override of no tool", &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"": {Name: "x"}}}, `toolsOverride: a tool name cannot be empty`},
		{"two tools renamed to one name", &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"b": {Name: "x"}, "a": {Name: "x"}}}, `toolsOverride: tools "a" and "b" are both renamed to "x"`},
		{"three tools renamed to one name", &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"c": {Name: "x"}, "b": {Name: "x"}, "a": {Name: "x"}}}, `toolsOverride: tools "a", "b" and "c" are all renamed to "x"`},
		{"a rename onto a tool that keeps its name and is listed", &proxyconfig.Tools{Overrides: map[string]proxyconfig.ToolOverride{"a": {Name: "b"}, "b": {Description: "B"}}}, `toolsOverride: tool "a" is renamed to "b", the name tool "b" is still listed under`},
		{"a filter naming a renamed tool by its old name applies (ToolHive's own example does it): a warning", &proxyconfig.Tools{Filter: []string{"search"}, Overrides: map[string]proxyconfig.ToolOverride{"search": {Name: "find"}}}, ""},
		{"every problem at once", &proxyconfig.Tools{Filter: []string{""}, Overrides: map[string]proxyconfig.ToolOverride{"a": {}, "b": {Name: "x"}, "c": {Name: "x"}}}, "toolsFilter[0]: a tool name cannot be empty\ntoolsOverride: tools \"b\" and \"c\" are both renamed to \"x\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.cfg)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
			if _, err := New(tt.cfg); (err != nil) != (tt.want != "") {
				t.Errorf("New error = %v, Validate = %q", err, tt.want)
			}
		})
	}
}
