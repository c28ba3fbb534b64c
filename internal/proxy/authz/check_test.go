package authz

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// ToolHive's examples/authz-config.json. Its fourth policy scopes
// `resource in Tool::["calculator", "translator"]`, which cedar-go (and so
// ToolHive) cannot parse (see TestCompileErrors); here it says the same in
// Cedar that parses. The list comes first so that the roles claim is read
// only for those tools: a caller without the claim would make the policy
// err, and an error denies every request it is evaluated for.
var toolhiveExample = []string{
	`permit(principal, action == Action::"call_tool", resource == Tool::"weather");`,
	`permit(principal, action == Action::"get_prompt", resource == Prompt::"greeting");`,
	`permit(principal, action == Action::"read_resource", resource == Resource::"data");`,
	`permit(principal, action == Action::"call_tool", resource) when { [Tool::"calculator", Tool::"translator"].contains(resource) && principal.claim_roles.contains("admin") };`,
}

const (
	alice = `{"sub": "alice"}`
	admin = `{"sub": "root", "roles": ["admin"]}`
)

func TestCheck(t *testing.T) {
	type tc struct {
		name   string
		cfg    proxyconfig.Authz
		claims string // "" for a caller without a token
		msg    *wire.Message
		want   bool
	}
	example := policies(toolhiveExample...)
	tests := []tc{
		// ToolHive's example policies.
		{"a permitted tool may be called", example, alice, request("tools/call", `{"name":"weather","arguments":{"city":"Oslo"}}`), true},
		{"a tool no policy names is denied", example, alice, request("tools/call", `{"name":"deploy"}`), false},
		{"a permitted prompt may be got", example, alice, request("prompts/get", `{"name":"greeting"}`), true},
		{"a resource URI without a scheme is not canonical and is denied", example, alice, request("resources/read", `{"uri":"data"}`), false},
		{"an admin role claim permits the calculator", example, admin, request("tools/call", `{"name":"calculator"}`), true},
		{"the admin policy does not reach other tools", example, admin, request("tools/call", `{"name":"deploy"}`), false},
		{"a caller without the roles claim makes the admin policy err and is denied", example, alice, request("tools/call", `{"name":"calculator"}`), false},
		{"a policy that errs for everyone denies even a permitted tool", policies(append(toolhiveExample[:1:1], `permit(principal, action == Action::"call_tool", resource) when { principal.claim_roles.contains("admin") };`)...), alice, request("tools/call", `{"name":"weather"}`), false},
		{"the action must match: a tool permit does not permit a prompt", example, alice, request("prompts/get", `{"name":"weather"}`), false},

		// The principal, its claims and groups.
		{"a principal is Client::<sub>", policies(`permit(principal == Client::"alice", action, resource);`), alice, request("tools/call", `{"name":"x"}`), true},
		{"another subject is not that principal", policies(`permit(principal == Client::"alice", action, resource);`), `{"sub":"bob"}`, request("tools/call", `{"name":"x"}`), false},
		{"a caller without a token is denied", policies(`permit(principal, action, resource);`), "", request("tools/call", `{"name":"x"}`), false},
		{"claims are principal attributes", policies(`permit(principal, action, resource) when { principal.claim_email like "*@example.com" };`), `{"sub":"a","email":"a@example.com"}`, request("tools/call", `{"name":"x"}`), true},
		{"claims are in the context too", policies(`permit(principal, action, resource) when { context.claim_email == "a@example.com" };`), `{"sub":"a","email":"a@example.com"}`, request("tools/call", `{"name":"x"}`), true},
		{"nested claims are records", policies(`permit(principal, action, resource) when { principal.claim_realm_access.roles.contains("ops") };`), `{"sub":"a","realm_access":{"roles":["ops"]}}`, request("tools/call", `{"name":"x"}`), true},
		{"numeric claims are decimals", policies(`permit(principal, action, resource) when { principal.claim_level.greaterThanOrEqual(decimal("2.5")) };`), `{"sub":"a","level":3}`, request("tools/call", `{"name":"x"}`), true},
		{"the claim source is the request token", policies(`permit(principal, action, resource) when { principal.thv_claim_source == "request" && context.thv_claim_source == "request" };`), alice, request("tools/call", `{"name":"x"}`), true},
		{"the groups claim makes THVGroup parents", policies(`permit(principal in THVGroup::"eng", action, resource);`), `{"sub":"a","groups":["eng","ops"]}`, request("tools/call", `{"name":"x"}`), true},
		{"a group the caller lacks permits nothing", policies(`permit(principal in THVGroup::"eng", action, resource);`), `{"sub":"a","groups":["ops"]}`, request("tools/call", `{"name":"x"}`), false},
		{"roles is the group claim when groups is absent", policies(`permit(principal in THVGroup::"eng", action, resource);`), `{"sub":"a","roles":["eng"]}`, request("tools/call", `{"name":"x"}`), true},
		{"cognito:groups is the last default", policies(`permit(principal in THVGroup::"eng", action, resource);`), `{"sub":"a","cognito:groups":["eng"]}`, request("tools/call", `{"name":"x"}`), true},
		{"groups present stops the search: roles are not groups then", policies(`permit(principal in THVGroup::"eng", action, resource);`), `{"sub":"a","groups":[],"roles":["eng"]}`, request("tools/call", `{"name":"x"}`), false},
		{"a string groups claim is no group list", policies(`permit(principal in THVGroup::"eng", action, resource);`), `{"sub":"a","groups":"eng"}`, request("tools/call", `{"name":"x"}`), false},
		{"a configured group claim comes first", proxyconfig.Authz{GroupClaimName: "https://example.com/groups", Policies: []string{`permit(principal in THVGroup::"eng", action, resource);`}}, `{"sub":"a","https://example.com/groups":["eng"],"groups":["ops"]}`, request("tools/call", `{"name":"x"}`), true},
		{"a configured group claim absent falls back to the defaults", proxyconfig.Authz{GroupClaimName: "team", Policies: []string{`permit(principal in THVGroup::"eng", action, resource);`}}, `{"sub":"a","groups":["eng"]}`, request("tools/call", `{"name":"x"}`), true},
		{"a dotted group claim walks nested claims", proxyconfig.Authz{GroupClaimName: "realm_access.roles", Policies: []string{`permit(principal in THVGroup::"eng", action, resource);`}}, `{"sub":"a","realm_access":{"roles":["eng"]}}`, request("tools/call", `{"name":"x"}`), true},
		{"the role claim adds parents beside the groups", proxyconfig.Authz{RoleClaimName: "app_roles", Policies: []string{`permit(principal in THVGroup::"writer", action, resource);`}}, `{"sub":"a","groups":["eng"],"app_roles":["writer"]}`, request("tools/call", `{"name":"x"}`), true},
		{"a custom group entity type names the parents", proxyconfig.Authz{GroupEntityType: "Team", Policies: []string{`permit(principal in Team::"eng", action, resource);`}}, `{"sub":"a","groups":["eng"]}`, request("tools/call", `{"name":"x"}`), true},
		{"with a custom type THVGroup policies no longer match", proxyconfig.Authz{GroupEntityType: "Team", Policies: []string{`permit(principal in THVGroup::"eng", action, resource);`}}, `{"sub":"a","groups":["eng"]}`, request("tools/call", `{"name":"x"}`), false},
		{"group hierarchy comes from entitiesJson", proxyconfig.Authz{
			EntitiesJSON: `[{"uid":{"type":"THVGroup","id":"eng"},"attrs":{},"parents":[{"type":"THVRole","id":"dev"}]}]`,
			Policies:     []string{`permit(principal in THVRole::"dev", action, resource);`},
		}, `{"sub":"a","groups":["eng"]}`, request("tools/call", `{"name":"x"}`), true},

		// Resources, their parent and attributes.
		{"a tool's parent is the server", policies(`permit(principal, action, resource in MCP::"github");`), alice, request("tools/call", `{"name":"x"}`), true},
		{"another server's policy does not apply", policies(`permit(principal, action, resource in MCP::"gitlab");`), alice, request("tools/call", `{"name":"x"}`), false},
		{"a tool's attributes name it", policies(`permit(principal, action, resource) when { resource.name == "x" && resource.operation == "call" && resource.feature == "tool" };`), alice, request("tools/call", `{"name":"x"}`), true},
		{"the action's operation attribute is its name", policies(`permit(principal, action, resource) when { action.operation == "get_prompt" };`), alice, request("prompts/get", `{"name":"p"}`), true},
		{"a resource's uri attribute is its URI", policies(`permit(principal, action == Action::"read_resource", resource) when { resource.uri like "file:///docs/*" };`), alice, request("resources/read", `{"uri":"file:///docs/a.md"}`), true},
		{"the request's resource replaces the entitiesJson entity of its UID", proxyconfig.Authz{
			EntitiesJSON: `[{"uid":{"type":"Tool","id":"weather"},"attrs":{"owner":"alice"},"parents":[]}]`,
			Policies:     []string{`permit(principal, action, resource) when { resource has owner };`},
		}, alice, request("tools/call", `{"name":"weather"}`), false},
		{"entitiesJson entities are visible through the principal's parents", proxyconfig.Authz{
			EntitiesJSON: `[{"uid":{"type":"THVGroup","id":"eng"},"attrs":{"tier":"gold"},"parents":[]}]`,
			Policies:     []string{`permit(principal, action, resource) when { THVGroup::"eng".tier == "gold" && principal in THVGroup::"eng" };`},
		}, `{"sub":"a","groups":["eng"]}`, request("tools/call", `{"name":"x"}`), true},

		// Arguments.
		{"a string argument is arg_<key> on the resource", policies(`permit(principal, action, resource == Tool::"weather") when { resource.arg_city == "Oslo" };`), alice, request("tools/call", `{"name":"weather","arguments":{"city":"Oslo"}}`), true},
		{"and in the context", policies(`permit(principal, action, resource == Tool::"weather") when { context.arg_city == "Oslo" };`), alice, request("tools/call", `{"name":"weather","arguments":{"city":"Bergen"}}`), false},
		{"a number argument is a decimal", policies(`permit(principal, action, resource) when { context.arg_n.lessThan(decimal("10.0")) };`), alice, request("tools/call", `{"name":"x","arguments":{"n":3.25}}`), true},
		{"a number with five decimals is a marker that errs", policies(`permit(principal, action, resource) when { context.arg_n.lessThan(decimal("10.0")) };`), alice, request("tools/call", `{"name":"x","arguments":{"n":3.14159}}`), false},
		{"a number marker equals nothing", policies(`permit(principal, action, resource) when { context.arg_n != context.arg_m };`), alice, request("tools/call", `{"name":"x","arguments":{"n":1e20,"m":1e20}}`), true},
		{"a boolean argument is a boolean", policies(`permit(principal, action, resource) when { context.arg_dry };`), alice, request("tools/call", `{"name":"x","arguments":{"dry":true}}`), true},
		{"an array argument is only _present", policies(`forbid(principal, action, resource) when { context has arg_cmd_present };`, `permit(principal, action, resource);`), alice, request("tools/call", `{"name":"x","arguments":{"cmd":["rm"]}}`), false},
		{"an array argument is not arg_<key>", policies(`permit(principal, action, resource) when { context has arg_cmd };`), alice, request("tools/call", `{"name":"x","arguments":{"cmd":["rm"]}}`), false},
		{"a null argument is only _present", policies(`permit(principal, action, resource) when { context has arg_cmd_present && !(context has arg_cmd) };`), alice, request("tools/call", `{"name":"x","arguments":{"cmd":null}}`), true},
		{"prompt arguments are arg_<key> too", policies(`permit(principal, action == Action::"get_prompt", resource) when { context.arg_lang == "en" };`), alice, request("prompts/get", `{"name":"p","arguments":{"lang":"en"}}`), true},
		{"arguments that are not an object are none", policies(`permit(principal, action, resource) unless { context has arg_0 };`), alice, request("tools/call", `{"name":"x","arguments":["a"]}`), true},

		// Combining policies.
		{"forbid overrides permit", policies(`permit(principal, action, resource);`, `forbid(principal, action, resource == Tool::"deploy");`), alice, request("tools/call", `{"name":"deploy"}`), false},
		{"forbid leaves other tools", policies(`permit(principal, action, resource);`, `forbid(principal, action, resource == Tool::"deploy");`), alice, request("tools/call", `{"name":"weather"}`), true},
		{"every policy of one entry counts", policies("permit(principal, action, resource);\nforbid(principal, action, resource == Tool::\"deploy\");"), alice, request("tools/call", `{"name":"deploy"}`), false},
		{"nothing permitted is denied", policies(`forbid(principal, action, resource == Tool::"deploy");`), alice, request("tools/call", `{"name":"weather"}`), false},
		{"a policy that errs denies though another permits", policies(`permit(principal, action, resource);`, `permit(principal, action, resource) when { principal.claim_missing == "x" };`), alice, request("tools/call", `{"name":"x"}`), false},

		// Methods.
		{"initialize is always allowed", policies(`forbid(principal, action, resource);`), "", request("initialize", `{}`), true},
		{"ping is always allowed", policies(`forbid(principal, action, resource);`), "", request("ping", ""), true},
		{"tools/list is allowed and filtered instead", policies(`forbid(principal, action, resource);`), "", request("tools/list", `{}`), true},
		{"resources/templates/list is allowed", policies(`forbid(principal, action, resource);`), "", request("resources/templates/list", ""), true},
		{"logging/setLevel is allowed", policies(`forbid(principal, action, resource);`), "", request("logging/setLevel", `{"level":"debug"}`), true},
		{"notifications/initialized is allowed", policies(`forbid(principal, action, resource);`), "", &wire.Message{JSONRPC: "2.0", Method: "notifications/initialized"}, true},
		{"an unknown notification is denied", policies(`permit(principal, action, resource);`), alice, &wire.Message{JSONRPC: "2.0", Method: "notifications/elicitation/complete"}, false},
		{"sampling/createMessage from a client is denied", policies(`permit(principal, action, resource);`), alice, request("sampling/createMessage", `{}`), false},
		{"tasks/get is denied", policies(`permit(principal, action, resource);`), alice, request("tasks/get", `{"taskId":"1"}`), false},
		{"an unknown method is denied", policies(`permit(principal, action, resource);`), alice, request("tools/frobnicate", `{}`), false},
		{"a client's response to a server request is allowed", policies(`forbid(principal, action, resource);`), "", &wire.Message{JSONRPC: "2.0", ID: json.RawMessage(`"s1"`), Result: json.RawMessage(`{}`)}, true},
		{"resources/subscribe is read_resource", policies(`permit(principal, action == Action::"read_resource", resource == Resource::"file:///a");`), alice, request("resources/subscribe", `{"uri":"file:///a"}`), true},
		{"skills/get is get_skill on Skill", policies(`permit(principal, action == Action::"get_skill", resource == Skill::"mcp://example/skill");`), alice, request("skills/get", `{"uri":"mcp://example/skill"}`), true},
		{"a tools/call without params is denied", policies(`permit(principal, action, resource);`), alice, request("tools/call", ""), false},
		{"a tools/call with an empty name is denied", policies(`permit(principal, action, resource);`), alice, request("tools/call", `{"name":""}`), false},
		{"a tools/call whose name is not a string is denied", policies(`permit(principal, action, resource);`), alice, request("tools/call", `{"name":7}`), false},
		{"params that are not an object are denied", policies(`permit(principal, action, resource);`), alice, request("tools/call", `["x"]`), false},
		{"a name given twice is denied", policies(`permit(principal, action, resource == Tool::"safe");`), alice, request("tools/call", `{"name":"safe","name":"danger"}`), false},
		{"a name also spelled Name is denied", policies(`permit(principal, action, resource == Tool::"safe");`), alice, request("tools/call", `{"name":"safe","Name":"danger"}`), false},
		{"a folded alias deep in the arguments is denied", policies(`permit(principal, action, resource);`), alice, request("tools/call", `{"name":"x","arguments":{"opts":{"mode":"a","MODE":"b"}}}`), false},
		{"a resource URI not in canonical form is denied", policies(`permit(principal, action, resource);`), alice, request("resources/read", `{"uri":"file:///docs/../secret"}`), false},
		{"completion on a prompt needs get_prompt", policies(`permit(principal, action == Action::"get_prompt", resource == Prompt::"greeting");`), alice, request("completion/complete", `{"ref":{"type":"ref/prompt","name":"greeting"},"argument":{"name":"a","value":"b"}}`), true},
		{"completion on another prompt is denied", policies(`permit(principal, action == Action::"get_prompt", resource == Prompt::"greeting");`), alice, request("completion/complete", `{"ref":{"type":"ref/prompt","name":"secret"}}`), false},
		{"completion on a resource template needs read_resource", policies(`permit(principal, action == Action::"read_resource", resource == Resource::"file:///{path}");`), alice, request("completion/complete", `{"ref":{"type":"ref/resource","uri":"file:///{path}"}}`), true},
		{"completion with a ref carrying name and uri is denied", policies(`permit(principal, action, resource);`), alice, request("completion/complete", `{"ref":{"type":"ref/prompt","name":"a","uri":"b"}}`), false},
		{"completion of an unknown ref type is denied", policies(`permit(principal, action, resource);`), alice, request("completion/complete", `{"ref":{"type":"ref/tool","name":"a"}}`), false},
		{"subscriptions/listen needs every URI", policies(`permit(principal, action == Action::"read_resource", resource == Resource::"file:///a");`), alice, request("subscriptions/listen", `{"notifications":{"toolsListChanged":true,"resourceSubscriptions":["file:///a","file:///b"]}}`), false},
		{"subscriptions/listen with permitted URIs is allowed", policies(`permit(principal, action == Action::"read_resource", resource);`), alice, request("subscriptions/listen", `{"notifications":{"resourceSubscriptions":["file:///a","file:///a"]}}`), true},
		{"subscriptions/listen naming no resource needs no decision", policies(`forbid(principal, action, resource);`), "", request("subscriptions/listen", `{"notifications":{"toolsListChanged":true}}`), true},
		{"subscriptions/listen with an unknown member is denied", policies(`permit(principal, action, resource);`), alice, request("subscriptions/listen", `{"notifications":{"resourceUpdates":["file:///a"]}}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := compile(t, tt.cfg)
			var c *pipeline.Caller
			if tt.claims != "" {
				c = caller(t, tt.claims)
			}
			if got := p.Check(c, tt.msg, nil); got != tt.want {
				t.Errorf("Check(%s %s) = %v, want %v", tt.msg.Method, tt.msg.Params, got, tt.want)
			}
		})
	}
}

func TestCheckToolAnnotations(t *testing.T) {
	p := compile(t, policies(
		`permit(principal, action == Action::"call_tool", resource) when { resource has readOnlyHint && resource.readOnlyHint };`,
		`forbid(principal, action, resource) when { resource has destructiveHint && resource.destructiveHint };`,
	))
	annotations := map[string]*proxyconfig.ToolAnnotations{
		"list_issues":  {ReadOnlyHint: ptr(true)},
		"delete_repo":  {ReadOnlyHint: ptr(true), DestructiveHint: ptr(true)},
		"create_issue": {ReadOnlyHint: ptr(false), Title: ptr("readOnlyHint")},
	}
	lookup := func(tool string) *proxyconfig.ToolAnnotations { return annotations[tool] }
	tests := []struct {
		tool        string
		annotations func(string) *proxyconfig.ToolAnnotations
		want        bool
	}{
		{"list_issues", lookup, true},
		{"delete_repo", lookup, false},
		{"create_issue", lookup, false},
		{"unlisted", lookup, false},
		{"list_issues", nil, false},
	}
	for _, tt := range tests {
		msg := request("tools/call", `{"name":"`+tt.tool+`","arguments":{"readOnlyHint":true}}`)
		if got := p.Check(caller(t, alice), msg, tt.annotations); got != tt.want {
			t.Errorf("Check(%s, annotations set %v) = %v, want %v", tt.tool, tt.annotations != nil, got, tt.want)
		}
	}
}
