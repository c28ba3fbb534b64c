package authz

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
)

// claimSource is thv_claim_source: which trust root asserted the claims.
// This proxy evaluates the request token's own claims, ToolHive's "request".
const claimSource = "request"

// principal is what one caller is to Cedar.
type principal struct {
	entity cedar.Entity
	// context is the claims part of every request's context: the same
	// attributes as the entity's, converted apart when they hold a number
	// marker (which must not equal itself across the two).
	context       cedar.RecordMap
	contextRecord cedar.Record
}

// principal is the caller's entity, or reports that it has none (no
// subject): such a caller is denied whatever the policies say. Converting
// a token's claims costs more than a decision, so the principal of a
// subject is kept while its claims are the same map (a verifier that
// reuses the map of a token it has seen saves that cost on every request).
func (p *Policy) principal(c *pipeline.Caller) (*principal, bool) {
	if c == nil {
		return nil, false
	}
	sub := c.Subject
	if sub == "" {
		sub, _ = c.Claims["sub"].(string)
	}
	if sub == "" {
		return nil, false
	}
	if pr := p.principals.get(sub, c.Claims); pr != nil {
		return pr, true
	}
	pr := p.newPrincipal(sub, c.Claims)
	p.principals.put(sub, c.Claims, pr)
	return pr, true
}

func (p *Policy) newPrincipal(sub string, claims map[string]any) *principal {
	before := numberNonce.Load()
	attrs := claimAttributes(claims)
	record := cedar.NewRecord(attrs)
	pr := &principal{context: attrs, contextRecord: record}
	if numberNonce.Load() != before {
		pr.context = claimAttributes(claims)
		pr.contextRecord = cedar.NewRecord(pr.context)
	}
	groups := p.groups(claims)
	parents := make([]cedar.EntityUID, len(groups))
	for i, g := range groups {
		parents[i] = cedar.NewEntityUID(p.groupType, cedar.String(g))
	}
	pr.entity = cedar.Entity{
		UID:        cedar.NewEntityUID("Client", cedar.String(sub)),
		Parents:    cedar.NewEntityUIDSet(parents...),
		Attributes: record,
	}
	return pr
}

// maxPrincipals bounds the principals kept; past it the cache starts over.
const maxPrincipals = 4096

// principals keeps built principals by subject, each valid for the very
// claims map it was built from. An entry holds that map, so no other map
// can take its address while the entry lives.
type principals struct {
	mu      sync.Mutex
	entries map[string]principalEntry
}

type principalEntry struct {
	claims    map[string]any
	principal *principal
}

func (ps *principals) get(sub string, claims map[string]any) *principal {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	e, ok := ps.entries[sub]
	if !ok || !sameMap(e.claims, claims) {
		return nil
	}
	return e.principal
}

func (ps *principals) put(sub string, claims map[string]any, pr *principal) {
	if claims == nil {
		return
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.entries == nil || len(ps.entries) >= maxPrincipals {
		ps.entries = make(map[string]principalEntry)
	}
	ps.entries[sub] = principalEntry{claims: claims, principal: pr}
}

// sameMap reports whether a and b are one map (not merely equal ones).
func sameMap(a, b map[string]any) bool {
	return a != nil && reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// claimAttributes are the claims as claim_<name>, plus thv_claim_source.
func claimAttributes(claims map[string]any) cedar.RecordMap {
	attrs := make(cedar.RecordMap, len(claims)+1)
	for k, v := range claims {
		if cv := cedarValue(v, 0); cv != nil {
			attrs[cedar.String("claim_"+k)] = cv
		}
	}
	attrs["thv_claim_source"] = cedar.String(claimSource)
	return attrs
}

// groups are the names of the principal's parents: the group claim (the
// configured one, else the first default present) and the role claim,
// without repeats, in order.
func (p *Policy) groups(claims map[string]any) []string {
	groups, found := stringsClaim(claims, p.groupClaim)
	for _, name := range defaultGroupClaims {
		if found {
			break
		}
		groups, found = stringsClaim(claims, name)
	}
	roles, _ := stringsClaim(claims, p.roleClaim)
	all := append(groups, roles...)
	seen := make(map[string]bool, len(all))
	return slices.DeleteFunc(all, func(g string) bool {
		dup := seen[g]
		seen[g] = true
		return dup
	})
}

// stringsClaim reads a claim that is an array, keeping its strings. found
// is false when the claim is absent or not an array, so the next claim name
// is tried; a present array without strings stops the search.
func stringsClaim(claims map[string]any, name string) (values []string, found bool) {
	switch v := nestedClaim(claims, name).(type) {
	case []string:
		return slices.Clone(v), v != nil
	case []any:
		values = make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				values = append(values, s)
			}
		}
		return values, true
	default:
		return nil, false
	}
}

// nestedClaim is claims[name], else, for a dotted name, the value the path
// leads to through nested objects (Keycloak's "realm_access.roles"). The
// whole name is tried first: URL-shaped claim names hold dots too.
func nestedClaim(claims map[string]any, name string) any {
	if name == "" {
		return nil
	}
	if v, ok := claims[name]; ok {
		return v
	}
	if !strings.Contains(name, ".") {
		return nil
	}
	var cur any = claims
	for seg := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[seg]; !ok {
			return nil
		}
	}
	return cur
}

// requestContext is the context of one decision: the claims and the
// arguments.
func (pr *principal) requestContext(args cedar.RecordMap) cedar.Record {
	if len(args) == 0 {
		return pr.contextRecord
	}
	ctx := make(cedar.RecordMap, len(pr.context)+len(args))
	maps.Copy(ctx, pr.context)
	maps.Copy(ctx, args)
	return cedar.NewRecord(ctx)
}
