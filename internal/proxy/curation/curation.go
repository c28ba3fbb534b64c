// Package curation applies an MCPToolConfig: which of a server's tools
// clients see and may call (toolsFilter) and under which name, description
// and annotations (toolsOverride). The semantics are ToolHive's:
//
//   - toolsOverride is keyed by the server's own tool name.
//   - toolsFilter names tools as clients see them, after a rename: a tool
//     renamed to "x" is listed when the filter has "x". An empty filter
//     lists every tool.
//   - A renamed tool is called by its new name, which the proxy turns back
//     into the server's name; a filtered tool cannot be called at all.
//   - An override's empty name or description leaves the server's; its
//     annotations replace the server's field by field.
//
// Two choices go past ToolHive. A renamed tool's old name is not callable
// (ToolHive forwards a call by the old name unless the filter stops it),
// since clients never see it listed. And annotations are overridden for
// the MCPServer's own tools, which ToolHive does only for a virtual MCP
// server.
//
// A tools/list answer is curated after authorization has filtered it, and
// a tools/call is curated before authorization decides it, so that policies
// name tools by the server's names, as in ToolHive.
package curation

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/switchboard-mcp/switchboard/internal/proxy/authz/jsonobj"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// Curator applies one tool config; safe for concurrent use.
type Curator struct {
	filter    map[string]bool // visible names; nil lists every tool
	overrides map[string]proxyconfig.ToolOverride
	// renamed maps a renamed tool's server name to the name clients see,
	// and backend the other way.
	renamed map[string]string
	backend map[string]string
}

// New is the Curator of cfg (nil: one that changes nothing), or the
// problems Validate finds in cfg.
func New(cfg *proxyconfig.Tools) (*Curator, error) {
	c := &Curator{renamed: map[string]string{}, backend: map[string]string{}}
	if cfg == nil {
		return c, nil
	}
	if err := Validate(cfg); err != nil {
		return nil, err
	}
	if len(cfg.Filter) > 0 {
		c.filter = make(map[string]bool, len(cfg.Filter))
		for _, name := range cfg.Filter {
			c.filter[name] = true
		}
	}
	c.overrides = cfg.Overrides
	for name, o := range cfg.Overrides {
		if o.Name != "" && o.Name != name {
			c.renamed[name] = o.Name
			c.backend[o.Name] = name
		}
	}
	return c, nil
}

// Call is the server's name of the tool a client calls by visibleName,
// or false when no tool is listed under that name: the name is filtered
// out, or it is the old name of a renamed tool.
func (c *Curator) Call(visibleName string) (backendName string, ok bool) {
	if c.filter != nil && !c.filter[visibleName] {
		return "", false
	}
	if b, ok := c.backend[visibleName]; ok {
		return b, true
	}
	if _, ok := c.renamed[visibleName]; ok {
		return "", false
	}
	return visibleName, true
}

// Visible is the name clients see for the server's tool backendName, or
// false when they do not see it: the filter leaves it out, or another
// tool is renamed to its name (that name calls the renamed tool).
func (c *Curator) Visible(backendName string) (string, bool) {
	visible, renamed := c.renamed[backendName]
	if !renamed {
		visible = backendName
		if _, taken := c.backend[visible]; taken {
			return "", false
		}
	}
	if c.filter != nil && !c.filter[visible] {
		return "", false
	}
	return visible, true
}

// List curates a tools/list result: tools clients may not see are left
// out, the others renamed and re-described as configured, every other
// member and every tool's other members kept as the server wrote them.
// A result it cannot read one way (see jsonobj) is an error: answer the
// client with an error rather than with a list nobody curated.
func (c *Curator) List(result json.RawMessage) (json.RawMessage, error) {
	members, err := jsonobj.Decode(result)
	if err != nil {
		return nil, fmt.Errorf("tools/list result: %w", err)
	}
	raw, found, err := members.Get("tools")
	if err == nil && !found {
		err = fmt.Errorf("no %q member", "tools")
	}
	if err != nil {
		return nil, fmt.Errorf("tools/list result: %w", err)
	}
	tools, err := jsonobj.Objects(raw)
	if err != nil {
		return nil, fmt.Errorf("tools/list result: tools: %w", err)
	}
	kept := make([]json.RawMessage, 0, len(tools))
	for i, tool := range tools {
		curated, ok, err := c.tool(tool)
		if err != nil {
			return nil, fmt.Errorf("tools/list result: tools[%d]: %w", i, err)
		}
		if ok {
			kept = append(kept, curated)
		}
	}
	members.Replace("tools", jsonobj.EncodeArray(kept))
	return members.Encode(), nil
}

// tool is one tool as clients see it, or false when they do not.
func (c *Curator) tool(tool jsonobj.Object) (json.RawMessage, bool, error) {
	members := tool.Members
	nameRaw, found, err := members.Get("name")
	if err != nil {
		return nil, false, err
	}
	var name *string
	if !found || json.Unmarshal(nameRaw, &name) != nil || name == nil {
		return nil, false, fmt.Errorf("no string %q", "name")
	}
	visible, ok := c.Visible(*name)
	if !ok {
		return nil, false, nil
	}
	o, overridden := c.overrides[*name]
	if !overridden {
		return tool.Raw, true, nil
	}
	if visible != *name {
		members = members.Set("name", jsonobj.String(visible))
	}
	if o.Description != "" {
		if _, _, err := members.Get("description"); err != nil {
			return nil, false, err
		}
		members = members.Set("description", jsonobj.String(o.Description))
	}
	if o.Annotations != nil {
		annotations, err := mergeAnnotations(members, o.Annotations)
		if err != nil {
			return nil, false, err
		}
		members = members.Set("annotations", annotations)
	}
	return members.Encode(), true, nil
}

// mergeAnnotations is the tool's annotations with every field the override
// sets replaced, its other members as the server wrote them.
func mergeAnnotations(tool jsonobj.Members, o *proxyconfig.ToolAnnotations) (json.RawMessage, error) {
	raw, found, err := tool.Get("annotations")
	if err != nil {
		return nil, err
	}
	var annotations jsonobj.Members
	if found && string(raw) != "null" {
		if annotations, err = jsonobj.Decode(raw); err != nil {
			return nil, fmt.Errorf("annotations: %w", err)
		}
	}
	for _, field := range []struct {
		name  string
		value json.RawMessage // nil: not overridden
	}{
		{"title", stringValue(o.Title)},
		{"readOnlyHint", boolValue(o.ReadOnlyHint)},
		{"destructiveHint", boolValue(o.DestructiveHint)},
		{"idempotentHint", boolValue(o.IdempotentHint)},
		{"openWorldHint", boolValue(o.OpenWorldHint)},
	} {
		if field.value == nil {
			continue
		}
		if _, _, err := annotations.Get(field.name); err != nil {
			return nil, fmt.Errorf("annotations: %w", err)
		}
		annotations = annotations.Set(field.name, field.value)
	}
	return annotations.Encode(), nil
}

func stringValue(s *string) json.RawMessage {
	if s == nil {
		return nil
	}
	return jsonobj.String(*s)
}

func boolValue(b *bool) json.RawMessage {
	if b == nil {
		return nil
	}
	return json.RawMessage(strconv.FormatBool(*b))
}
