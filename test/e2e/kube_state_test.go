//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Helpers that read cluster state for the admission, secret, volume,
// owned-object and RBAC tests.

// serverCondition is one status condition of an MCPServer.
type serverCondition struct {
	Type, Status, Reason, Message string
	ObservedGeneration            int64
}

// conditionOf reads condition ctype of MCPServer server; ok is false
// while the operator has not written it.
func (n *ns) conditionOf(server, ctype string) (c serverCondition, ok bool, err error) {
	out, err := n.run("get", "mcpserver/"+server, "-o", "json")
	if err != nil {
		return c, false, fmt.Errorf("get mcpserver/%s: %w: %s", server, err, out)
	}
	var s struct {
		Status struct{ Conditions []serverCondition } `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		return c, false, fmt.Errorf("decode mcpserver/%s: %w", server, err)
	}
	for _, c := range s.Status.Conditions {
		if c.Type == ctype {
			return c, true, nil
		}
	}
	return c, false, nil
}

// field is one jsonpath value of obj ("kind/name") in this namespace.
func (n *ns) field(obj, jsonpath string) (string, error) {
	out, err := n.run("get", obj, "-o", "jsonpath="+jsonpath)
	if err != nil {
		return "", fmt.Errorf("get %s: %w: %s", obj, err, strings.TrimSpace(out))
	}
	return out, nil
}

// uidOf is obj's metadata.uid, or "" while it does not exist.
func (n *ns) uidOf(obj string) string {
	uid, err := n.field(obj, "{.metadata.uid}")
	if err != nil {
		return ""
	}
	return uid
}

// jsonpathKey escapes a label or annotation key for a jsonpath expression.
func jsonpathKey(key string) string {
	return strings.ReplaceAll(key, ".", `\.`)
}

// waitCondition waits until condition ctype of server has status and a
// message containing each of says; reason is checked unless empty.
func (n *ns) waitCondition(server, ctype, status, reason string, says ...string) {
	n.t.Helper()
	eventually(n.t, 3*time.Minute, func() string {
		c, ok, err := n.conditionOf(server, ctype)
		switch {
		case err != nil:
			return err.Error()
		case !ok:
			return fmt.Sprintf("mcpserver/%s has no %s condition yet", server, ctype)
		case c.Status != status || (reason != "" && c.Reason != reason):
			return fmt.Sprintf("mcpserver/%s condition %s is %s (%s: %s); want %s %s", server, ctype, c.Status, c.Reason, c.Message, status, reason)
		}
		for _, s := range says {
			if !strings.Contains(c.Message, s) {
				return fmt.Sprintf("mcpserver/%s condition %s says %q; want it to name %s", server, ctype, c.Message, s)
			}
		}
		return ""
	})
}
