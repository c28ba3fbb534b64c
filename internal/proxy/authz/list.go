package authz

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchboard-mcp/switchboard/internal/proxy/authz/jsonobj"
	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// list is how a list method's result is filtered: the member holding the
// entries, the entry member naming each, and the decision using it needs.
type list struct {
	member  string
	id      string
	feature *feature
}

var lists = map[string]list{
	"tools/list":               {"tools", "name", toolFeature},
	"prompts/list":             {"prompts", "name", promptFeature},
	"resources/list":           {"resources", "uri", resourceFeature},
	"resources/templates/list": {"resourceTemplates", "uriTemplate", resourceFeature},
	"skills/list":              {"skills", "uri", skillFeature},
}

// annotationHints are the members of a tool's annotations that decode into
// ToolAnnotations, each of which must be spelled one way only.
var annotationHints = []string{"title", "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"}

// FilterList keeps, in the result of a list method, only the entries the
// caller may use: a tool it may call (judged with the annotations the entry
// carries), a prompt it may get, a resource or resource template it may
// read, a skill it may get. The entries kept and every other member stay
// as the server wrote them, except that cacheScope and ttlMs, when
// present, become "private" and 0: the list is now the caller's own.
// A result of another method is returned as it is.
//
// A result that cannot be read unambiguously (not an object, the list
// member missing, given twice or also spelled differently, an entry
// without its name) is an error: the caller must answer with an error
// rather than pass on a list nobody filtered.
func (p *Policy) FilterList(c *pipeline.Caller, method string, result json.RawMessage) (json.RawMessage, error) {
	l, ok := lists[method]
	if !ok {
		return result, nil
	}
	members, entries, err := readList(method, l, result)
	if err != nil {
		return nil, err
	}
	kept := make([]json.RawMessage, 0, len(entries))
	if pr, ok := p.principal(c); ok {
		for _, e := range entries {
			if p.allowed(pr, l.feature, e.id, nil, e.annotations) {
				kept = append(kept, e.raw)
			}
		}
	}
	members.Replace(l.member, jsonobj.EncodeArray(kept))
	members.Replace("cacheScope", json.RawMessage(`"private"`))
	members.Replace("ttlMs", json.RawMessage(`0`))
	return members.Encode(), nil
}

// ToolAnnotations reads a tools/list result's annotations by tool name,
// leaving out tools without a hint: what Check's annotations function
// answers, as ToolHive remembers them from the server's last tools/list.
func ToolAnnotations(result json.RawMessage) (map[string]*proxyconfig.ToolAnnotations, error) {
	_, entries, err := readList("tools/list", lists["tools/list"], result)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*proxyconfig.ToolAnnotations, len(entries))
	for _, e := range entries {
		if a := e.annotations; a != nil && (a.ReadOnlyHint != nil || a.DestructiveHint != nil || a.IdempotentHint != nil || a.OpenWorldHint != nil) {
			byName[e.id] = a
		}
	}
	return byName, nil
}

// entry is one list entry: its bytes, its name and a tool's annotations.
type entry struct {
	raw         json.RawMessage
	id          string
	annotations *proxyconfig.ToolAnnotations
}

// readList reads every entry before any decision, so that a malformed one
// fails the whole list.
func readList(method string, l list, result json.RawMessage) (jsonobj.Members, []entry, error) {
	members, err := jsonobj.Decode(result)
	if err != nil {
		return nil, nil, fmt.Errorf("%s result: %w", method, err)
	}
	for _, hint := range []string{"cacheScope", "ttlMs"} {
		if _, _, err := members.Get(hint); err != nil {
			return nil, nil, fmt.Errorf("%s result: %w", method, err)
		}
	}
	raw, found, err := members.Get(l.member)
	if err == nil && !found {
		err = fmt.Errorf("no %q member", l.member)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s result: %w", method, err)
	}
	items, err := jsonobj.Objects(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%s result: %s: %w", method, l.member, err)
	}
	entries := make([]entry, len(items))
	for i, item := range items {
		e, err := readEntry(l, item)
		if err != nil {
			return nil, nil, fmt.Errorf("%s result: %s[%d]: %w", method, l.member, i, err)
		}
		entries[i] = e
	}
	return members, entries, nil
}

func readEntry(l list, item jsonobj.Object) (entry, error) {
	members := item.Members
	raw, found, err := members.Get(l.id)
	if err != nil {
		return entry{}, err
	}
	var id *string
	if !found || json.Unmarshal(raw, &id) != nil || id == nil {
		return entry{}, fmt.Errorf("no string %q", l.id)
	}
	e := entry{raw: item.Raw, id: *id}
	if l.feature != toolFeature {
		return e, nil
	}
	e.annotations, err = readAnnotations(members)
	return e, err
}

// readAnnotations decodes a tool's annotations, refusing a hint spelled
// twice: a policy must judge the hint the client will read.
func readAnnotations(tool jsonobj.Members) (*proxyconfig.ToolAnnotations, error) {
	raw, found, err := tool.Get("annotations")
	if err != nil || !found || string(raw) == "null" {
		return nil, err
	}
	members, err := jsonobj.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("annotations: %w", err)
	}
	for _, hint := range annotationHints {
		if _, _, err := members.Get(hint); err != nil {
			return nil, fmt.Errorf("annotations: %w", err)
		}
	}
	var a proxyconfig.ToolAnnotations
	if err := json.Unmarshal(raw, &a); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, fmt.Errorf("annotations: %s is not a %s", typ.Field, typ.Type)
		}
		return nil, fmt.Errorf("annotations: %w", err)
	}
	return &a, nil
}
