package authz

import (
	"encoding/json"
	"maps"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/switchboard-mcp/switchboard/internal/proxy/authz/jsonobj"
	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
	"github.com/switchboard-mcp/switchboard/internal/proxy/wire"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// feature is one kind of thing a policy speaks of: the action on it, the
// entity type that names it and the attributes that describe the request.
type feature struct {
	action    cedar.Entity
	typ       cedar.EntityType
	operation string // the resource's operation attribute
	name      string // its feature attribute
	uri       bool   // the id is a URI: also the uri attribute
}

func newFeature(action string, typ cedar.EntityType, operation, name string, uri bool) *feature {
	return &feature{
		action: cedar.Entity{
			UID:        cedar.NewEntityUID("Action", cedar.String(action)),
			Attributes: cedar.NewRecord(cedar.RecordMap{"operation": cedar.String(action)}),
		},
		typ: typ, operation: operation, name: name, uri: uri,
	}
}

var (
	toolFeature     = newFeature("call_tool", "Tool", "call", "tool", false)
	promptFeature   = newFeature("get_prompt", "Prompt", "get", "prompt", false)
	resourceFeature = newFeature("read_resource", "Resource", "read", "resource", true)
	skillFeature    = newFeature("get_skill", "Skill", "get", "skill", true)
)

// target is one decision a request needs.
type target struct {
	feature *feature
	id      string
	args    map[string]any
}

// alwaysAllowed are the methods no policy decides: the protocol's own, the
// lists (filtered instead) and the notifications ToolHive knows.
var alwaysAllowed = map[string]bool{
	"initialize":                           true,
	"ping":                                 true,
	"tools/list":                           true,
	"prompts/list":                         true,
	"resources/list":                       true,
	"resources/templates/list":             true,
	"skills/list":                          true,
	"features/list":                        true,
	"roots/list":                           true,
	"server/discover":                      true,
	"logging/setLevel":                     true,
	"notifications/message":                true,
	"notifications/initialized":            true,
	"notifications/progress":               true,
	"notifications/cancelled":              true,
	"notifications/roots/list_changed":     true,
	"notifications/tools/list_changed":     true,
	"notifications/prompts/list_changed":   true,
	"notifications/resources/list_changed": true,
	"notifications/resources/updated":      true,
	"notifications/tasks/status":           true,
}

// targetsOf reads the decisions a method needs from its params; false
// means the request cannot be authorized at all (a missing or malformed
// target), which denies it.
var targetsOf = map[string]func(params map[string]any) ([]target, bool){
	"tools/call":            named(toolFeature),
	"prompts/get":           named(promptFeature),
	"resources/read":        resourceURI(resourceFeature, true),
	"resources/subscribe":   resourceURI(resourceFeature, true),
	"resources/unsubscribe": resourceURI(resourceFeature, true),
	"skills/get":            resourceURI(skillFeature, false),
	"completion/complete":   completionTargets,
	"subscriptions/listen":  listenTargets,
}

// Check decides whether the caller may send m. A response (the client's
// answer to a server request) is allowed; a request or notification is
// allowed when its method is always allowed or when the policies permit
// every decision it needs. annotations (may be nil) gives a tool's
// annotations as its server last listed them, by the tool's name in m.
func (p *Policy) Check(c *pipeline.Caller, m *wire.Message, annotations func(tool string) *proxyconfig.ToolAnnotations) bool {
	if m == nil {
		return false
	}
	if m.Method == "" || alwaysAllowed[m.Method] {
		return m.Method != "" || len(m.ID) > 0
	}
	targetsFor, ok := targetsOf[m.Method]
	if !ok {
		return false
	}
	// A member given twice, or as "Name" beside "name", reads differently
	// to different decoders: the one the server uses might not be the one
	// authorized.
	if len(m.Params) == 0 || jsonobj.Ambiguous(m.Params) {
		return false
	}
	var params map[string]any
	if err := json.Unmarshal(m.Params, &params); err != nil {
		return false
	}
	targets, ok := targetsFor(params)
	if !ok {
		return false
	}
	if len(targets) == 0 {
		return true
	}
	pr, ok := p.principal(c)
	if !ok {
		return false
	}
	for _, t := range targets {
		var ann *proxyconfig.ToolAnnotations
		if t.feature == toolFeature && annotations != nil {
			ann = annotations(t.id)
		}
		if !p.allowed(pr, t.feature, t.id, argAttributes(t.args), ann) {
			return false
		}
	}
	return true
}

// named reads params.name and params.arguments (tools/call, prompts/get).
func named(f *feature) func(map[string]any) ([]target, bool) {
	return func(params map[string]any) ([]target, bool) {
		name, _ := params["name"].(string)
		if name == "" {
			return nil, false
		}
		args, _ := params["arguments"].(map[string]any)
		return []target{{feature: f, id: name, args: args}}, true
	}
}

// resourceURI reads params.uri, which for resources must be canonical: a
// server that normalizes URIs would otherwise serve what a forbid on the
// canonical spelling names.
func resourceURI(f *feature, canonical bool) func(map[string]any) ([]target, bool) {
	return func(params map[string]any) ([]target, bool) {
		uri, _ := params["uri"].(string)
		if uri == "" || canonical && nonCanonicalURI(uri) != "" {
			return nil, false
		}
		return []target{{feature: f, id: uri}}, true
	}
}

// allowed is one Cedar decision. Any evaluation error denies, as in
// ToolHive, even when another policy permits.
func (p *Policy) allowed(pr *principal, f *feature, id string, args cedar.RecordMap, ann *proxyconfig.ToolAnnotations) bool {
	attrs := make(cedar.RecordMap, len(args)+8)
	annotationAttributes(attrs, ann)
	maps.Copy(attrs, args)
	attrs["name"] = cedar.String(id)
	if f.uri {
		attrs["uri"] = cedar.String(id)
	}
	attrs["operation"] = cedar.String(f.operation)
	attrs["feature"] = cedar.String(f.name)
	resource := cedar.Entity{
		UID:        cedar.NewEntityUID(f.typ, cedar.String(id)),
		Parents:    p.parents,
		Attributes: cedar.NewRecord(attrs),
	}
	req := cedar.Request{Principal: pr.entity.UID, Action: f.action.UID, Resource: resource.UID}
	if p.usesContext {
		req.Context = pr.requestContext(args)
	}
	store := requestEntities{static: p.entities, principal: &pr.entity, action: &f.action, resource: &resource}
	decision, diag := cedar.Authorize(p.set, store, req)
	return decision == cedar.Allow && len(diag.Errors) == 0
}

// requestEntities is the entity store of one decision: the request's own
// principal, action and resource over the entities of entitiesJson.
type requestEntities struct {
	static                      cedar.EntityMap
	principal, action, resource *cedar.Entity
}

func (r requestEntities) Get(uid cedar.EntityUID) (cedar.Entity, bool) {
	switch uid {
	case r.principal.UID:
		return *r.principal, true
	case r.action.UID:
		return *r.action, true
	case r.resource.UID:
		return *r.resource, true
	}
	return r.static.Get(uid)
}

// argAttributes are a request's arguments as arg_<key>: scalars as values,
// anything else (array, object, null) only as arg_<key>_present, so that a
// permit gated on has or != cannot match a value it never saw. The flag
// wins over a scalar argument literally named <key>_present.
func argAttributes(args map[string]any) cedar.RecordMap {
	if len(args) == 0 {
		return nil
	}
	attrs := make(cedar.RecordMap, len(args))
	for k, v := range args {
		switch v.(type) {
		case string, bool, float64:
			attrs[cedar.String("arg_"+k)] = cedarValue(v, 0)
		}
	}
	for k, v := range args {
		switch v.(type) {
		case string, bool, float64:
		default:
			attrs[cedar.String("arg_"+k+"_present")] = cedar.True
		}
	}
	return attrs
}

// annotationAttributes adds a tool's hints under their MCP names; the
// title is no hint and is left out, as in ToolHive.
func annotationAttributes(attrs cedar.RecordMap, ann *proxyconfig.ToolAnnotations) {
	if ann == nil {
		return
	}
	set := func(name cedar.String, hint *bool) {
		if hint != nil {
			attrs[name] = cedar.Boolean(*hint)
		}
	}
	set("readOnlyHint", ann.ReadOnlyHint)
	set("destructiveHint", ann.DestructiveHint)
	set("idempotentHint", ann.IdempotentHint)
	set("openWorldHint", ann.OpenWorldHint)
}
