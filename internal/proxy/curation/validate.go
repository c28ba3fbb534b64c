package curation

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// Validate reports every problem of cfg that makes it unusable, each
// naming its field, for the admission webhook: an empty name, and two
// tools clients would see under one name.
func Validate(cfg *proxyconfig.Tools) error {
	if cfg == nil {
		return nil
	}
	var errs []error
	for i, name := range cfg.Filter {
		if name == "" {
			errs = append(errs, fmt.Errorf("toolsFilter[%d]: a tool name cannot be empty", i))
		}
	}
	renamedTo, overrideErrs := renames(cfg.Overrides)
	errs = append(errs, overrideErrs...)
	errs = append(errs, clashes(cfg, renamedTo)...)
	return errors.Join(errs...)
}

// Warnings are what in cfg does nothing, though it applies (ToolHive
// accepts it, and its own example does it): an override that changes
// nothing, and a filter entry that names a tool by the server's name
// although it is renamed (the filter names tools as clients see them, so
// that entry matches nothing and the tool is not listed).
func Warnings(cfg *proxyconfig.Tools) []string {
	if cfg == nil {
		return nil
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(cfg.Overrides)) {
		if o := cfg.Overrides[name]; name != "" && o.Name == "" && o.Description == "" && o.Annotations == nil {
			out = append(out, fmt.Sprintf("spec.toolsOverride[%q] overrides nothing: set name, description or annotations", name))
		}
	}
	renamedTo, _ := renames(cfg.Overrides)
	for i, name := range cfg.Filter {
		o, ok := cfg.Overrides[name]
		if ok && o.Name != "" && o.Name != name && len(renamedTo[name]) == 0 {
			out = append(out, fmt.Sprintf("spec.toolsFilter[%d]: %q is renamed to %q by toolsOverride, and the filter names tools as clients see them, so this entry matches nothing and the tool is not listed: write %q", i, name, o.Name, o.Name))
		}
	}
	return out
}

// renames lists, for each name clients would see instead of a server's,
// the tools renamed to it (sorted, for stable messages), and what is wrong
// with single overrides.
func renames(overrides map[string]proxyconfig.ToolOverride) (map[string][]string, []error) {
	renamedTo := map[string][]string{}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		o := overrides[name]
		switch {
		case name == "":
			errs = append(errs, errors.New("toolsOverride: a tool name cannot be empty"))
		case o.Name != "" && o.Name != name:
			renamedTo[o.Name] = append(renamedTo[o.Name], name)
		}
	}
	return renamedTo, errs
}

// clashes are the names two listed tools would share: several renamed to
// one name, or one renamed to the name of a tool an override keeps (an
// override says the tool exists) while the filter lists that name.
func clashes(cfg *proxyconfig.Tools, renamedTo map[string][]string) []error {
	var errs []error
	for _, visible := range slices.Sorted(maps.Keys(renamedTo)) {
		tools := renamedTo[visible]
		if len(tools) > 1 {
			all := "all"
			if len(tools) == 2 {
				all = "both"
			}
			errs = append(errs, fmt.Errorf("toolsOverride: tools %s are %s renamed to %q", quoted(tools), all, visible))
			continue
		}
		o, kept := cfg.Overrides[visible]
		kept = kept && (o.Name == "" || o.Name == visible)
		if kept && (len(cfg.Filter) == 0 || slices.Contains(cfg.Filter, visible)) {
			errs = append(errs, fmt.Errorf("toolsOverride: tool %q is renamed to %q, the name tool %q is still listed under", tools[0], visible, visible))
		}
	}
	return errs
}

// quoted is "a" and "b", or "a", "b" and "c".
func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q[:len(q)-1], ", ") + " and " + q[len(q)-1]
}
