// Package jsonobj reads and rewrites JSON objects member by member, so that
// a proxy can change one member of a message and forward every other byte
// as the server sent it. It also refuses the spellings that make one object
// mean different things to different decoders: a member given twice, or
// under a case-folded alias that encoding/json binds to the same struct
// field.
//
// It serves the authorization filter and tool curation alike; it belongs
// with the wire format and lives here until it moves there.
package jsonobj

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Member is one name/value pair of a JSON object; Value keeps its bytes.
type Member struct {
	Name  string
	Value json.RawMessage
}

// Members are an object's members in the order they were written.
type Members []Member

// Decode returns the members of the JSON object data in order. Anything
// but one object (null, an array, trailing data) is an error.
func Decode(data []byte) (Members, error) {
	data, err := one(data, '{', "object")
	if err != nil {
		return nil, err
	}
	return members(data)
}

// Object is one object of an array: its bytes and its members.
type Object struct {
	Raw     json.RawMessage
	Members Members
}

// Objects returns the elements of a JSON array of objects, reading the
// array once. null, anything but an array and an element that is not an
// object are errors.
func Objects(data json.RawMessage) ([]Object, error) {
	items, err := Array(data)
	if err != nil {
		return nil, err
	}
	objects := make([]Object, len(items))
	for i, item := range items {
		if item[0] != '{' {
			return nil, fmt.Errorf("element %d: not a JSON object", i)
		}
		if objects[i].Members, err = members(item); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		objects[i].Raw = item
	}
	return objects, nil
}

// members splits an object json.Valid has accepted.
func members(data []byte) (Members, error) {
	var ms Members
	for i := skipSpace(data, 1); data[i] != '}'; {
		end := stringEnd(data, i)
		name, err := unquote(data[i : end+1])
		if err != nil {
			return nil, err
		}
		start := skipSpace(data, skipSpace(data, end+1)+1) // past the ':'
		stop := valueEnd(data, start)
		ms = append(ms, Member{Name: name, Value: json.RawMessage(data[start:stop])})
		if i = skipSpace(data, stop); data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return ms, nil
}

// Array returns the elements of a JSON array. null and anything else that
// is not an array is an error.
func Array(data json.RawMessage) ([]json.RawMessage, error) {
	data, err := one(data, '[', "array")
	if err != nil {
		return nil, err
	}
	items := []json.RawMessage{}
	for i := skipSpace(data, 1); data[i] != ']'; {
		stop := valueEnd(data, i)
		items = append(items, data[i:stop])
		if i = skipSpace(data, stop); data[i] == ',' {
			i = skipSpace(data, i+1)
		}
	}
	return items, nil
}

// one is data, trimmed, when it is one JSON value that opens with open.
func one(data []byte, open byte, kind string) ([]byte, error) {
	if !json.Valid(data) {
		var v any
		return nil, fmt.Errorf("not a JSON %s: %w", kind, json.Unmarshal(data, &v))
	}
	data = bytes.TrimSpace(data)
	if data[0] != open {
		return nil, fmt.Errorf("not a JSON %s", kind)
	}
	return data, nil
}

// The scanners below read JSON that json.Valid has accepted.

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// valueEnd is the index just past the value that starts at i.
func valueEnd(data []byte, i int) int {
	switch data[i] {
	case '"':
		return stringEnd(data, i) + 1
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				i = stringEnd(data, i)
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default: // a number, true, false or null
		for i < len(data) && !strings.ContainsRune(",}] \t\n\r", rune(data[i])) {
			i++
		}
		return i
	}
}

// unquote is the string the JSON literal lit spells.
func unquote(lit []byte) (string, error) {
	if bytes.IndexByte(lit, '\\') < 0 {
		return string(lit[1 : len(lit)-1]), nil
	}
	var s string
	err := json.Unmarshal(lit, &s)
	return s, err
}

// Get returns the value of name when the object has it exactly once. A
// second member of that name, or one whose name folds to it ("Tools",
// "TOOLS"), is an error: decoders disagree on which of them counts.
func (ms Members) Get(name string) (json.RawMessage, bool, error) {
	var value json.RawMessage
	found := false
	for _, m := range ms {
		if !strings.EqualFold(m.Name, name) {
			continue
		}
		if m.Name != name {
			return nil, false, fmt.Errorf("member %q is also spelled %q", name, m.Name)
		}
		if found {
			return nil, false, fmt.Errorf("member %q occurs more than once", name)
		}
		value, found = m.Value, true
	}
	return value, found, nil
}

// Set replaces the value of every member named name, or appends the
// member when there is none.
func (ms Members) Set(name string, value json.RawMessage) Members {
	found := false
	for i := range ms {
		if ms[i].Name == name {
			ms[i].Value, found = value, true
		}
	}
	if !found {
		ms = append(ms, Member{Name: name, Value: value})
	}
	return ms
}

// Replace is Set for members the object already has: a name it lacks is
// left out rather than added.
func (ms Members) Replace(name string, value json.RawMessage) {
	for i := range ms {
		if ms[i].Name == name {
			ms[i].Value = value
		}
	}
}

// Encode is the object of ms, values as they are.
func (ms Members) Encode() json.RawMessage {
	size := 2
	for _, m := range ms {
		size += len(m.Name) + len(m.Value) + 4
	}
	out := make([]byte, 0, size)
	out = append(out, '{')
	for i, m := range ms {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendString(out, m.Name)
		out = append(out, ':')
		out = append(out, m.Value...)
	}
	return append(out, '}')
}

// EncodeArray is the JSON array of items.
func EncodeArray(items []json.RawMessage) json.RawMessage {
	size := 2
	for _, it := range items {
		size += len(it) + 1
	}
	out := make([]byte, 0, size)
	out = append(out, '[')
	for i, it := range items {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, it...)
	}
	return append(out, ']')
}

// String is the JSON string s, without encoding/json's HTML escapes.
func String(s string) json.RawMessage { return appendString(nil, s) }

func appendString(dst []byte, s string) []byte {
	plain := utf8.ValidString(s)
	for i := 0; plain && i < len(s); i++ {
		plain = s[i] >= ' ' && s[i] != '"' && s[i] != '\\' && s[i] != 0x7f
	}
	if plain {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// Ambiguous reports whether some object in the JSON value data has two
// members whose names are equal under Unicode case folding, the way
// encoding/json matches names to fields. It reads only as far as the first
// such pair, and does not validate: what it says of data that is not JSON
// does not matter, as the parser refuses that data anyway.
func Ambiguous(data []byte) bool {
	var open []names // one per open container; an array's is never used
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{':
			open = append(open, names{object: true, key: true})
		case '[':
			open = append(open, names{})
		case '}', ']':
			if len(open) == 0 {
				return false
			}
			open = open[:len(open)-1]
		case ',':
			if len(open) > 0 && open[len(open)-1].object {
				open[len(open)-1].key = true
			}
		case '"':
			end := stringEnd(data, i)
			if end < 0 {
				return false
			}
			if n := len(open) - 1; n >= 0 && open[n].key {
				if !open[n].add(foldedName(data[i : end+1])) {
					return true
				}
				open[n].key = false
			}
			i = end
		}
	}
	return false
}

// names are the folded member names an object has shown so far.
type names struct {
	object bool // an object, not an array
	key    bool // its next string is a member name
	list   []string
	set    map[string]bool // past a few names, instead of list
}

// add records name, reporting false when the object had it already.
func (ns *names) add(name string) bool {
	if ns.set != nil {
		if ns.set[name] {
			return false
		}
		ns.set[name] = true
		return true
	}
	if slices.Contains(ns.list, name) {
		return false
	}
	ns.list = append(ns.list, name)
	if len(ns.list) > 16 {
		ns.set = make(map[string]bool, 2*len(ns.list))
		for _, n := range ns.list {
			ns.set[n] = true
		}
		ns.list = nil
	}
	return true
}

// stringEnd is the index of the quote closing the string that opens at
// start, or -1.
func stringEnd(data []byte, start int) int {
	for i := start + 1; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// foldedName is the member name in the JSON string literal lit, folded.
func foldedName(lit []byte) string {
	plain := true
	for _, c := range lit {
		if c == '\\' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		// For ASCII the least rune of a letter's orbit is its upper case.
		return strings.ToUpper(string(lit[1 : len(lit)-1]))
	}
	var name string
	if json.Unmarshal(lit, &name) != nil {
		return string(lit)
	}
	return fold(name)
}

// fold maps every rune to the least rune of its simple case-folding orbit,
// so that two names fold alike exactly when strings.EqualFold holds.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}
