// Package authz decides, with Cedar policies, which MCP requests a caller may
// make and which list entries it may see. Its semantics are ToolHive's (the
// cedarv1 authorizer and the authorization middleware of ToolHive v0.63), so
// that an MCPServer's policies mean here what they mean there:
//
//   - The principal is Client::"<sub>". Its attributes are the token's claims
//     as claim_<name> (strings, booleans, numbers as decimals, arrays as sets,
//     objects as records) and thv_claim_source "request". Its parents are
//     <groupEntityType>::"<g>" (THVGroup by default) for every string in the
//     group claim (groupClaimName, else the first present of "groups",
//     "roles", "cognito:groups"; a dotted name also walks nested claims) and
//     in roleClaimName when set.
//   - tools/call is Action::"call_tool" on Tool::"<name>", prompts/get
//     Action::"get_prompt" on Prompt::"<name>", resources/read, subscribe and
//     unsubscribe Action::"read_resource" on Resource::"<uri>", skills/get
//     Action::"get_skill" on Skill::"<uri>"; completion/complete is the
//     get_prompt or read_resource decision its ref names, and
//     subscriptions/listen the read_resource decision of every URI it names.
//     Resources have the parent MCP::"<server>", and the attributes name,
//     operation, feature (and uri), the request's scalar arguments as
//     arg_<key> (arg_<key>_present for arrays, objects and null) and, for a
//     tool, the server's annotations readOnlyHint, destructiveHint,
//     idempotentHint and openWorldHint. The context holds the claims and the
//     arguments under the same names.
//   - initialize, ping, the list methods, roots/list, logging/setLevel,
//     server/discover and the known notifications are always allowed; lists
//     are filtered instead (FilterList), each entry by the decision its use
//     would need. Any other method is denied, as is a request without a
//     subject, without a target name, with a resource URI that is not in
//     canonical form, or with a member name given twice (or under a
//     case-folded alias) anywhere in its params.
//   - Forbid overrides permit, nothing permitted is denied, and a policy that
//     fails to evaluate denies the request even when another permits it.
//   - Entities from entitiesJson are the store; the principal, action and
//     resource built for a request replace any entity of the same UID in it.
//
// Where this package departs from ToolHive, it is stricter or states what
// ToolHive leaves undefined: every policy in a policies entry is loaded
// (ToolHive silently keeps only the first), an entry without a policy is an
// error, and a client's answer to a server request (a response) is allowed
// rather than refused.
//
// Tool names are the server's: run tool curation before Check on a call
// (so the message carries the name the server will see) and FilterList
// before curation on a tools/list answer, as ToolHive orders its tool filter
// and authorization middlewares.
package authz

import (
	"errors"
	"fmt"
	"strings"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// DefaultGroupEntityType is the Cedar type of a principal's groups and roles
// when the config names none.
const DefaultGroupEntityType = "THVGroup"

// defaultGroupClaims are tried in order when groupClaimName is unset or
// absent from the token: Entra, Okta, Auth0; Keycloak; Cognito.
var defaultGroupClaims = []string{"groups", "roles", "cognito:groups"}

// Policy is a compiled authz config, safe for concurrent use. A caller's
// claims are read as they were when it was first checked: a Caller's
// Claims map must not change once the Caller is in use.
type Policy struct {
	set      *cedar.PolicySet
	entities cedar.EntityMap
	// parents of every tool, prompt and resource: MCP::"<server>".
	parents    cedar.EntityUIDSet
	groupType  cedar.EntityType
	groupClaim string
	roleClaim  string
	// usesContext is false when no policy names the context, which then
	// need not be built: Cedar reaches it only through that keyword.
	usesContext bool
	principals  principals
}

// Compile parses cfg for the MCP server named server (the parent of every
// tool, prompt and resource, for policies like `resource in MCP::"github"`).
// Its errors name the field, the policy's index and the line and column in
// it, and are all reported at once, for the admission webhook to show.
func Compile(cfg *proxyconfig.Authz, server string) (*Policy, error) {
	if cfg == nil {
		return nil, errors.New("no authz config")
	}
	p := &Policy{
		set:        cedar.NewPolicySet(),
		entities:   cedar.EntityMap{},
		groupType:  DefaultGroupEntityType,
		groupClaim: cfg.GroupClaimName,
		roleClaim:  cfg.RoleClaimName,
	}
	if server != "" {
		p.parents = cedar.NewEntityUIDSet(cedar.NewEntityUID("MCP", cedar.String(server)))
	}
	var errs []error
	if cfg.GroupEntityType != "" {
		if err := checkEntityType(cfg.GroupEntityType); err != nil {
			errs = append(errs, err)
		}
		p.groupType = cedar.EntityType(cfg.GroupEntityType)
	}
	if len(cfg.Policies) == 0 {
		errs = append(errs, errors.New("policies: at least one Cedar policy is required (without one every request is denied)"))
	}
	for i, src := range cfg.Policies {
		if err := p.addPolicies(i, src); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.EntitiesJSON != "" {
		entities, err := parseEntities(cfg.EntitiesJSON)
		if err != nil {
			errs = append(errs, err)
		}
		p.entities = entities
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// addPolicies adds every policy of one policies entry.
func (p *Policy) addPolicies(i int, src string) error {
	p.usesContext = p.usesContext || strings.Contains(src, "context")
	var list cedar.PolicyList
	if err := list.UnmarshalCedar([]byte(src)); err != nil {
		return fmt.Errorf("policies[%d]: %s", i, describeParseError(err))
	}
	switch len(list) {
	case 0:
		return fmt.Errorf("policies[%d]: holds no policy; write one like permit(principal, action == Action::\"call_tool\", resource == Tool::\"weather\");", i)
	case 1:
		p.set.Add(cedar.PolicyID(fmt.Sprintf("policy%d", i)), list[0])
	default:
		for j, pol := range list {
			p.set.Add(cedar.PolicyID(fmt.Sprintf("policy%d.%d", i, j)), pol)
		}
	}
	return nil
}

// checkEntityType refuses a groupEntityType Cedar cannot name, by asking
// Cedar's own parser, and a namespaced one, which ToolHive does not support.
func checkEntityType(typ string) error {
	if strings.Contains(typ, "::") {
		return fmt.Errorf("groupEntityType: %q is namespaced; use a plain Cedar identifier such as THVGroup", typ)
	}
	notIdent := func(r rune) bool {
		return r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9')
	}
	var probe cedar.Policy
	if strings.IndexFunc(typ, notIdent) >= 0 || typ[0] >= '0' && typ[0] <= '9' ||
		probe.UnmarshalCedar([]byte(`permit(principal in `+typ+`::"g", action, resource);`)) != nil {
		return fmt.Errorf("groupEntityType: %q is not a Cedar identifier (ASCII letters, digits and _, not starting with a digit, not a reserved word)", typ)
	}
	return nil
}
