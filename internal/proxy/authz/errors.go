package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	cedar "github.com/cedar-policy/cedar-go"
)

// cedarPosition matches cedar-go's parse errors, which come in two forms:
//
//	parse error at <input>:1:69 "\"calculator\"": unexpected token
//	<input>:1:44: literal not terminated
var cedarPosition = regexp.MustCompile(`(?s)^(?:parser error: )?(?:parse error at )?<input>:(\d+):(\d+)(?: ("(?:[^"\\]|\\.)*"))?: (.*)$`)

// cedarExpected matches the parser's "exact got ; want )" and "got x want ,".
var cedarExpected = regexp.MustCompile(`^(?:exact )?got .* want (.+)$`)

// describeParseError says where in the policy text Cedar stopped and why,
// in words a user who wrote the policy can act on:
//
//	line 1, column 69: unexpected token "\"calculator\""
func describeParseError(err error) string {
	msg := err.Error()
	m := cedarPosition.FindStringSubmatch(msg)
	if m == nil {
		return strings.TrimPrefix(msg, "parser error: ")
	}
	line, col, quoted, why := m[1], m[2], m[3], m[4]
	token, uerr := strconv.Unquote(quoted)
	if uerr != nil {
		token = ""
	}
	if effect, ok := strings.CutPrefix(why, "unexpected effect: "); ok {
		// Cedar has moved past the word already: name it, not the token.
		return fmt.Sprintf("line %s, column %s: a policy starts with permit or forbid, not %q", line, col, effect)
	}
	if e := cedarExpected.FindStringSubmatch(why); e != nil {
		why = "expected " + strconv.Quote(e[1])
	}
	where := fmt.Sprintf("line %s, column %s: %s", line, col, why)
	switch {
	case quoted == "":
		return where
	case token == "":
		return where + " at the end of the text"
	default:
		return where + ", found " + strconv.Quote(token)
	}
}

// parseEntities reads entitiesJson: a JSON array of Cedar entities, each
// {"uid": {"type": ..., "id": ...}, "attrs": {...}, "parents": [...]}.
// Errors name the entity by its index.
func parseEntities(src string) (cedar.EntityMap, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal([]byte(src), &raws); err != nil {
		return nil, fmt.Errorf("entitiesJson: %s", describeJSONError(src, err))
	}
	entities := make(cedar.EntityMap, len(raws))
	first := make(map[cedar.EntityUID]int, len(raws))
	for i, raw := range raws {
		var e cedar.Entity
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("entitiesJson[%d]: %s", i, describeEntityError(raw, err))
		}
		if j, dup := first[e.UID]; dup {
			return nil, fmt.Errorf("entitiesJson[%d]: entity %s is also entitiesJson[%d]", i, e.UID, j)
		}
		first[e.UID] = i
		entities[e.UID] = e
	}
	return entities, nil
}

// describeJSONError places a syntax error by line and column.
func describeJSONError(src string, err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		// Offset counts the byte that was wrong.
		before := src[:min(max(int(syn.Offset)-1, 0), len(src))]
		line := strings.Count(before, "\n") + 1
		col := len(before) - strings.LastIndexByte(before, '\n')
		return fmt.Sprintf("line %d, column %d: %v", line, col, err)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return "must be a JSON array of entities, like [{\"uid\": {\"type\": \"Tool\", \"id\": \"weather\"}, \"attrs\": {}, \"parents\": []}]"
	}
	return err.Error()
}

// describeEntityError explains the common mistake of a uid written as
// "Type::id" (ToolHive's own example does it) before cedar-go's message.
func describeEntityError(raw json.RawMessage, err error) string {
	var e struct {
		UID json.RawMessage `json:"uid"`
	}
	if json.Unmarshal(raw, &e) == nil && bytes.HasPrefix(bytes.TrimSpace(e.UID), []byte(`"`)) {
		var uid string
		_ = json.Unmarshal(e.UID, &uid)
		if typ, id, ok := strings.Cut(uid, "::"); ok {
			return fmt.Sprintf("uid must be an object, {\"type\": %q, \"id\": %q}, not the string %q", typ, id, uid)
		}
		return fmt.Sprintf("uid must be an object, {\"type\": \"<entity type>\", \"id\": %q}, not the string %q", uid, uid)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
