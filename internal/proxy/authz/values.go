package authz

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// maxDepth is how deep maps and arrays in a claim may nest (0 is the claim
// value itself) before they become a marker, as in ToolHive: a claim may
// come from a token nobody bounded.
const maxDepth = 10

// Marker kinds. A value with no faithful Cedar form becomes a record that
// every typed operation fails on (so a policy that uses it errs, and an
// error denies), rather than being left out (which would let a
// has-guarded forbid be skipped).
const (
	markerNumber      = "number"
	markerUnsupported = "unsupported"
	markerTooDeep     = "too_deep"
)

// numberNonce makes every number marker unequal to every other: two
// integers that round to the same float64 must not compare equal.
var numberNonce atomic.Int64

// cedarValue converts a decoded JSON value (or a Go value a token verifier
// produced) the way ToolHive does. It returns nil only for nil, which a
// record or set then leaves out.
func cedarValue(v any, depth int) cedar.Value {
	switch v := v.(type) {
	case nil:
		return nil
	case bool:
		return cedar.Boolean(v)
	case string:
		return cedar.String(v)
	case int:
		return cedar.Long(v)
	case int64:
		return cedar.Long(v)
	case float64:
		return number(v)
	case json.Number:
		// ToolHive reads every JSON number as a float64 first.
		f, err := strconv.ParseFloat(v.String(), 64)
		if err != nil {
			return numberMarker(v.String())
		}
		return number(f)
	case []string:
		vals := make([]cedar.Value, len(v))
		for i, s := range v {
			vals[i] = cedar.String(s)
		}
		return cedar.NewSet(vals...)
	case []any:
		if depth > maxDepth {
			return marker(markerTooDeep, v)
		}
		vals := make([]cedar.Value, 0, len(v))
		for _, e := range v {
			if cv := cedarValue(e, depth+1); cv != nil {
				vals = append(vals, cv)
			}
		}
		return cedar.NewSet(vals...)
	case map[string]any:
		if depth > maxDepth {
			return marker(markerTooDeep, v)
		}
		return cedarRecord(v, depth+1)
	default:
		return marker(markerUnsupported, v)
	}
}

// cedarRecord converts a map whose values sit at depth.
func cedarRecord(m map[string]any, depth int) cedar.Record {
	rm := make(cedar.RecordMap, len(m))
	for k, v := range m {
		if cv := cedarValue(v, depth); cv != nil {
			rm[cedar.String(k)] = cv
		}
	}
	return cedar.NewRecord(rm)
}

// number is a Cedar decimal when one holds f exactly (at most four
// fractional digits, within range), from the shortest text that round-trips
// f; any other number is a marker.
func number(f float64) cedar.Value {
	text := strconv.FormatFloat(f, 'f', -1, 64)
	dec := text
	if !strings.Contains(dec, ".") {
		dec += ".0"
	}
	if d, err := types.ParseDecimal(dec); err == nil {
		return d
	}
	return numberMarker(text)
}

func numberMarker(text string) cedar.Value {
	return cedar.NewRecord(cedar.RecordMap{
		"thv_unrepresentable": cedar.String(markerNumber),
		"text":                cedar.String(text),
		"nonce":               cedar.Long(numberNonce.Add(1)),
	})
}

// marker stands for a value Cedar cannot hold: equal only to the marker of
// an identical value, through a digest of its JSON form.
func marker(kind string, v any) cedar.Value {
	raw, err := json.Marshal(v)
	if err != nil {
		raw = fmt.Appendf(nil, "%T:%#v", v, v)
	}
	sum := sha256.Sum256(raw)
	return cedar.NewRecord(cedar.RecordMap{
		"thv_unrepresentable": cedar.String(kind),
		"digest":              cedar.String(hex.EncodeToString(sum[:])),
	})
}
