package authz

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// FuzzCheck feeds Check any message a client could send. It must never
// panic, and what it allows under a policy that forbids everything must be
// what needs no decision.
func FuzzCheck(f *testing.F) {
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"weather","arguments":{"city":"Oslo","n":1.5,"deep":{"a":[1,{"b":null}]}}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","Name":"b"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p","arguments":{"x":1e400}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a/../b"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"file:///{x}"}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["a:b",null]}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":"x","result":{}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":null}`,
	} {
		f.Add([]byte(body))
	}
	permit := compile(f, policies(`permit(principal, action, resource) when { context has arg_city || !(context has arg_city) };`))
	deny := compile(f, policies(`permit(principal, action, resource);`, `forbid(principal, action, resource);`))
	c := caller(f, `{"sub":"alice","groups":["eng"],"n":3,"nested":{"a":[1,"x",true]}}`)
	annotations := func(string) *proxyconfig.ToolAnnotations {
		return &proxyconfig.ToolAnnotations{ReadOnlyHint: ptr(true)}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := wire.ParseOne(body)
		if err != nil {
			return
		}
		permit.Check(c, m, annotations)
		permit.Check(nil, m, nil)
		if deny.Check(c, m, annotations) && m.Method != "" && !alwaysAllowed[m.Method] && m.Method != "subscriptions/listen" {
			t.Errorf("a forbid on everything allowed %s %s", m.Method, m.Params)
		}
	})
}

// FuzzFilterList feeds FilterList any result a server could answer. It
// must never panic, and a list it returns is JSON holding only entries of
// the one it was given.
func FuzzFilterList(f *testing.F) {
	for _, result := range []string{
		`{"tools":[{"name":"weather","annotations":{"readOnlyHint":true}},{"name":"deploy"}],"nextCursor":"x","ttlMs":5}`,
		`{"resources":[{"uri":"file:///a"}],"resourceTemplates":[{"uriTemplate":"file:///{x}"}],"prompts":[{"name":"p"}],"skills":[{"uri":"s:x"}]}`,
		`{"tools":[],"Tools":[]}`,
		`{"tools":null}`,
	} {
		f.Add(result)
	}
	p := compile(f, policies(`permit(principal, action, resource) when { resource has readOnlyHint || resource.name like "*a*" };`))
	c := caller(f, alice)
	f.Fuzz(func(t *testing.T, result string) {
		for method, l := range lists {
			got, err := p.FilterList(c, method, json.RawMessage(result))
			if err != nil {
				continue
			}
			if !json.Valid(got) {
				t.Fatalf("%s: FilterList(%s) = %s, not JSON", method, result, got)
			}
			var before, after map[string]json.RawMessage
			_ = json.Unmarshal([]byte(result), &before)
			if err := json.Unmarshal(got, &after); err != nil {
				t.Fatalf("%s: FilterList(%s) = %s: %v", method, result, got, err)
			}
			var in, out []json.RawMessage
			_ = json.Unmarshal(before[l.member], &in)
			_ = json.Unmarshal(after[l.member], &out)
			if len(out) > len(in) {
				t.Errorf("%s: FilterList(%s) = %s: more entries than given", method, result, got)
			}
		}
	})
}
