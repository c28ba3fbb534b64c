package authz

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  *proxyconfig.Authz
		want string
	}{
		{
			name: "ToolHive's example list-scope is refused with its index, line and column",
			cfg: &proxyconfig.Authz{Policies: []string{
				`permit(principal, action == Action::"call_tool", resource == Tool::"weather");`,
				`permit(principal, action == Action::"call_tool", resource in Tool::["calculator", "translator"]) when { principal.claim_roles.contains("admin") };`,
			}},
			want: `policies[1]: line 1, column 69: unexpected token, found "\"calculator\""`,
		},
		{
			name: "an error on a later line of an entry is placed on that line",
			cfg:  &proxyconfig.Authz{Policies: []string{"permit(principal, action, resource);\nforbid(principal, action, resource) when { context.x == };"}},
			want: `policies[0]: line 2, column 58: invalid primary, found ";"`,
		},
		{
			name: "a missing semicolon is expected at the end of the text",
			cfg:  &proxyconfig.Authz{Policies: []string{`permit(principal, action, resource)`}},
			want: `policies[0]: line 1, column 36: expected ";" at the end of the text`,
		},
		{
			name: "an unterminated string is placed where it starts",
			cfg:  &proxyconfig.Authz{Policies: []string{`permit(principal, action, resource) when { "abc };`}},
			want: `policies[0]: line 1, column 44: literal not terminated`,
		},
		{
			name: "a policy must start with permit or forbid",
			cfg:  &proxyconfig.Authz{Policies: []string{`allow(principal, action, resource);`}},
			want: `policies[0]: line 1, column 6: a policy starts with permit or forbid, not "allow"`,
		},
		{
			name: "every broken entry is reported",
			cfg:  &proxyconfig.Authz{Policies: []string{`permit(principal, action, resource)`, `permit(principal, action, resource);`, `forbid(`}},
			want: "policies[0]: line 1, column 36: expected \";\" at the end of the text\npolicies[2]: line 1, column 8: expected \"principal\" at the end of the text",
		},
		{
			name: "an entry without a policy is refused",
			cfg:  &proxyconfig.Authz{Policies: []string{`permit(principal, action, resource);`, "  // TODO\n"}},
			want: `policies[1]: holds no policy; write one like permit(principal, action == Action::"call_tool", resource == Tool::"weather");`,
		},
		{
			name: "no policies at all is refused",
			cfg:  &proxyconfig.Authz{},
			want: `policies: at least one Cedar policy is required (without one every request is denied)`,
		},
		{
			name: "entitiesJson that is not JSON is placed by line and column",
			cfg:  &proxyconfig.Authz{Policies: []string{`permit(principal, action, resource);`}, EntitiesJSON: "[\n  {\"uid\": }\n]"},
			want: `entitiesJson: line 2, column 11: invalid character '}' looking for beginning of value`,
		},
		{
			name: "entitiesJson must be an array",
			cfg:  &proxyconfig.Authz{Policies: []string{`permit(principal, action, resource);`}, EntitiesJSON: `{"uid": {"type": "Tool", "id": "weather"}}`},
			want: `entitiesJson: must be a JSON array of entities, like [{"uid": {"type": "Tool", "id": "weather"}, "attrs": {}, "parents": []}]`,
		},
		{
			name: "a uid written as Type::id, as in ToolHive's example, is explained",
			cfg:  &proxyconfig.Authz{Policies: []string{`permit(principal, action, resource);`}, EntitiesJSON: `[{"uid":"Tool::weather","attrs":{"owner":"user123"}}]`},
			want: `entitiesJson[0]: uid must be an object, {"type": "Tool", "id": "weather"}, not the string "Tool::weather"`,
		},
		{
			name: "an entity without parents is refused by index",
			cfg:  &proxyconfig.Authz{Policies: []string{`permit(principal, action, resource);`}, EntitiesJSON: `[{"uid":{"type":"Tool","id":"a"},"attrs":{},"parents":[]},{"uid":{"type":"Tool","id":"b"},"attrs":{}}]`},
			want: `entitiesJson[1]: invalid entity: "parents" is missing or null`,
		},
		{
			name: "an entity given twice is refused",
			cfg:  &proxyconfig.Authz{Policies: []string{`permit(principal, action, resource);`}, EntitiesJSON: `[{"uid":{"type":"Tool","id":"a"},"attrs":{},"parents":[]},{"uid":{"type":"Tool","id":"a"},"attrs":{},"parents":[]}]`},
			want: `entitiesJson[1]: entity Tool::"a" is also entitiesJson[0]`,
		},
		{
			name: "a namespaced group entity type is refused",
			cfg:  &proxyconfig.Authz{Policies: []string{`permit(principal, action, resource);`}, GroupEntityType: "Platform::Group"},
			want: `groupEntityType: "Platform::Group" is namespaced; use a plain Cedar identifier such as THVGroup`,
		},
		{
			name: "a group entity type that is no identifier is refused",
			cfg:  &proxyconfig.Authz{Policies: []string{`permit(principal, action, resource);`}, GroupEntityType: "my-group"},
			want: `groupEntityType: "my-group" is not a Cedar identifier (ASCII letters, digits and _, not starting with a digit, not a reserved word)`,
		},
		{
			name: "a reserved word is no group entity type",
			cfg:  &proxyconfig.Authz{Policies: []string{`permit(principal, action, resource);`}, GroupEntityType: "if"},
			want: `groupEntityType: "if" is not a Cedar identifier (ASCII letters, digits and _, not starting with a digit, not a reserved word)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.cfg, "github")
			if err == nil {
				t.Fatal("Compile succeeded")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	tests := []struct {
		name string
		cfg  proxyconfig.Authz
	}{
		{"ToolHive's example policies", policies(toolhiveExample...)},
		{"several policies in one entry", policies("permit(principal, action, resource);\n\n// no deploys\nforbid(principal, action, resource == Tool::\"deploy\");")},
		{"annotated policies", policies(`@id("read-only") permit(principal, action == Action::"call_tool", resource) when { resource has readOnlyHint && resource.readOnlyHint };`)},
		{"null entitiesJson", proxyconfig.Authz{Policies: []string{`permit(principal, action, resource);`}, EntitiesJSON: `null`}},
		{"group entities with a hierarchy", proxyconfig.Authz{Policies: []string{`permit(principal in THVRole::"dev", action, resource);`}, EntitiesJSON: `[{"uid":{"type":"THVGroup","id":"eng"},"attrs":{},"parents":[{"type":"THVRole","id":"dev"}]},{"uid":{"__entity":{"type":"THVRole","id":"dev"}},"attrs":{"level":{"__extn":{"fn":"decimal","arg":"1.5"}}},"parents":[]}]`}},
		{"a custom group entity type", proxyconfig.Authz{Policies: []string{`permit(principal in Team::"eng", action, resource);`}, GroupEntityType: "Team"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Compile(&tt.cfg, ""); err != nil {
				t.Errorf("Compile: %v", err)
			}
		})
	}
}
