package authz

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// benchPolicy is a realistic policy set: a few permits by name and group,
// an argument condition, an annotation rule and a forbid.
func benchPolicy(b *testing.B) *Policy {
	return compile(b, proxyconfig.Authz{
		GroupClaimName: "groups",
		RoleClaimName:  "roles",
		Policies: []string{
			`permit(principal, action == Action::"call_tool", resource == Tool::"weather");`,
			`permit(principal in THVGroup::"eng", action == Action::"call_tool", resource in MCP::"github");`,
			`permit(principal, action == Action::"call_tool", resource == Tool::"search") when { context.arg_limit.lessThanOrEqual(decimal("50.0")) };`,
			`permit(principal, action == Action::"call_tool", resource) when { resource has readOnlyHint && resource.readOnlyHint };`,
			`permit(principal, action == Action::"get_prompt", resource) when { principal.claim_email like "*@example.com" };`,
			`forbid(principal, action == Action::"call_tool", resource == Tool::"delete_repo") unless { principal in THVGroup::"admins" };`,
		},
	})
}

// A caller with a token of the size identity providers issue.
const benchClaims = `{"sub":"alice","iss":"https://idp.example.com","aud":["switchboard"],"exp":1893456000,"iat":1700000000,"email":"alice@example.com","email_verified":true,"name":"Alice Example","groups":["eng","oncall","github-users"],"roles":["writer"],"scope":"openid email profile","realm_access":{"roles":["default","offline_access"]}}`

func BenchmarkCheck(b *testing.B) {
	p := benchPolicy(b)
	c := caller(b, benchClaims)
	msg := request("tools/call", `{"name":"search","arguments":{"query":"cedar policies","limit":20,"filters":{"lang":"go"}}}`)
	annotations := func(string) *proxyconfig.ToolAnnotations {
		return &proxyconfig.ToolAnnotations{ReadOnlyHint: ptr(true)}
	}
	if !p.Check(c, msg, annotations) {
		b.Fatal("the benchmark's call is denied")
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Check(c, msg, annotations)
	}
}

// BenchmarkCheckNewToken is Check for a caller whose claims were never
// seen: the principal is built for the decision.
func BenchmarkCheckNewToken(b *testing.B) {
	p := benchPolicy(b)
	c := caller(b, benchClaims)
	msg := request("tools/call", `{"name":"search","arguments":{"query":"cedar policies","limit":20,"filters":{"lang":"go"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		fresh := *c
		fresh.Claims = maps.Clone(c.Claims)
		p.Check(&fresh, msg, nil)
	}
}

func BenchmarkFilterList(b *testing.B) {
	p := benchPolicy(b)
	c := caller(b, benchClaims)
	var tools []string
	for i := range 50 {
		tools = append(tools, fmt.Sprintf(`{"name":"tool_%d","description":"Does thing %d.","inputSchema":{"type":"object","properties":{"q":{"type":"string"}}},"annotations":{"readOnlyHint":%v}}`, i, i, i%2 == 0))
	}
	result := json.RawMessage(`{"tools":[` + strings.Join(tools, ",") + `],"nextCursor":"abc"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.FilterList(c, "tools/list", result); err != nil {
			b.Fatal(err)
		}
	}
}
