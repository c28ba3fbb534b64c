package authz

// Two methods reach a prompt or a resource without naming it the way
// prompts/get and resources/read do; ToolHive once allowed them always and
// so let a caller denied a prompt complete its arguments. They need the
// decision of what they reach instead.

// maxSubscriptions bounds the URIs one subscriptions/listen may name, each
// costing a decision; a longer list is refused, not cut short.
const maxSubscriptions = 50

// listenMembers are the members of subscriptions/listen's notifications.
// Only resourceSubscriptions names resources; a member not known here is
// refused, so that a new one naming resources cannot slip past.
var listenMembers = map[string]bool{
	"toolsListChanged":      true,
	"promptsListChanged":    true,
	"resourcesListChanged":  true,
	"resourceSubscriptions": true,
}

// completionTargets: completion/complete needs get_prompt on a prompt ref's
// name, or read_resource on a resource ref's URI template.
func completionTargets(params map[string]any) ([]target, bool) {
	ref, ok := params["ref"].(map[string]any)
	if !ok {
		return nil, false
	}
	name, hasName, okName := optionalString(ref, "name")
	uri, hasURI, okURI := optionalString(ref, "uri")
	// No ref carries both; one that does leaves open which the server uses.
	if !okName || !okURI || hasName && hasURI {
		return nil, false
	}
	switch ref["type"] {
	case "ref/prompt":
		if name == "" {
			return nil, false
		}
		return []target{{feature: promptFeature, id: name}}, true
	case "ref/resource":
		// A template, matched by exact string: only bytes no URL parser
		// reads literally are refused.
		if uri == "" || hasControlOrSpace(uri) {
			return nil, false
		}
		return []target{{feature: resourceFeature, id: uri}}, true
	default:
		return nil, false
	}
}

// optionalString reads m[key]: absent and null are not present; any other
// non-string is malformed (ok false).
func optionalString(m map[string]any, key string) (s string, present, ok bool) {
	switch v := m[key].(type) {
	case nil:
		return "", false, true
	case string:
		return v, true, true
	default:
		return "", false, false
	}
}

// listenTargets: subscriptions/listen needs read_resource on every URI in
// notifications.resourceSubscriptions; a denied one refuses the whole
// request. Without notifications it names nothing and needs nothing.
func listenTargets(params map[string]any) ([]target, bool) {
	raw, present := params["notifications"]
	if !present {
		return nil, true
	}
	notifications, ok := raw.(map[string]any)
	if !ok {
		return nil, false
	}
	for member := range notifications {
		if !listenMembers[member] {
			return nil, false
		}
	}
	subs, present := notifications["resourceSubscriptions"]
	if !present {
		return nil, true
	}
	uris, ok := subs.([]any)
	if !ok || len(uris) > maxSubscriptions {
		return nil, false
	}
	targets := make([]target, 0, len(uris))
	seen := make(map[string]bool, len(uris))
	for _, u := range uris {
		uri, _ := u.(string)
		if uri == "" || nonCanonicalURI(uri) != "" {
			return nil, false
		}
		if !seen[uri] {
			seen[uri] = true
			targets = append(targets, target{feature: resourceFeature, id: uri})
		}
	}
	return targets, true
}

func hasControlOrSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}
