package v1beta1

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"
)

// DecodePodTemplate decodes spec.podTemplateSpec strictly: an unknown or
// duplicated field is an error, not silently dropped, because a typo there
// (contaners, volumeMount) would otherwise vanish without a trace. It
// returns nil, nil when the field is unset. Errors are a field.ErrorList
// aggregate whose paths start at spec.podTemplateSpec, so the webhook and
// the PodTemplateValid condition name the offending field exactly.
func (s *MCPServerSpec) DecodePodTemplate() (*corev1.PodTemplateSpec, error) {
	root := field.NewPath("spec", "podTemplateSpec")
	if s.PodTemplateSpec == nil || len(s.PodTemplateSpec.Raw) == 0 {
		return nil, nil
	}
	var t corev1.PodTemplateSpec
	strict, err := kjson.UnmarshalStrict(s.PodTemplateSpec.Raw, &t, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, field.ErrorList{decodeError(root, err)}.ToAggregate()
	}
	var errs field.ErrorList
	for _, e := range strict {
		errs = append(errs, strictError(root, e))
	}
	if len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return &t, nil
}

// strictError turns an unknown or duplicate field into a field error at the
// field's own path.
func strictError(root *field.Path, err error) *field.Error {
	var fe kjson.FieldError
	if !errors.As(err, &fe) {
		return field.Invalid(root, field.OmitValueType{}, err.Error())
	}
	path := subPath(root, fe.FieldPath())
	name := lastSegment(fe.FieldPath())
	if strings.HasPrefix(err.Error(), "duplicate field") {
		return field.Invalid(path, field.OmitValueType{}, fmt.Sprintf("field %q is given twice: keep one", name))
	}
	return field.Invalid(path, field.OmitValueType{}, fmt.Sprintf(
		"unknown field %q in a PodTemplateSpec: check its spelling and indentation (`kubectl explain %s` lists the valid fields)",
		name, explainPath(fe.FieldPath())))
}

// decodeError describes a value of the wrong type; other decoding errors
// cannot happen for JSON the API server has already parsed.
func decodeError(root *field.Path, err error) *field.Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return field.Invalid(subPath(root, te.Field), field.OmitValueType{},
			fmt.Sprintf("must be %s, not %s", kindOf(te.Type), jsonKind(te.Value)))
	}
	return field.Invalid(root, field.OmitValueType{}, fmt.Sprintf("is not a PodTemplateSpec: %v", err))
}

var (
	segment = regexp.MustCompile(`([^.\[\]]+)|\[(\d+)\]`)
	index   = regexp.MustCompile(`\[\d+\]`)
)

// subPath appends a decoder path such as "spec.containers[0].volumeMount"
// to root.
func subPath(root *field.Path, p string) *field.Path {
	for _, m := range segment.FindAllStringSubmatch(p, -1) {
		if m[2] != "" {
			i, _ := strconv.Atoi(m[2])
			root = root.Index(i)
		} else {
			root = root.Child(m[1])
		}
	}
	return root
}

func lastSegment(p string) string {
	return p[strings.LastIndexAny(p, ".]")+1:]
}

// explainPath is the `kubectl explain` argument for the object holding the
// field at p: "spec.containers[0].volumeMount" → "pod.spec.containers".
func explainPath(p string) string {
	parent := ""
	if i := strings.LastIndex(p, "."); i >= 0 {
		parent = p[:i]
	}
	parent = index.ReplaceAllString(parent, "")
	if parent == "" {
		return "pod"
	}
	return "pod." + parent
}

// kindOf names a Go type the way a YAML author thinks of it.
func kindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	default:
		return "an object"
	}
}

// jsonKind names the JSON value the decoder found ("string", "number 1.5").
func jsonKind(v string) string {
	kind, literal, _ := strings.Cut(v, " ")
	if literal != "" {
		return literal
	}
	switch kind {
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "true or false"
	case "array":
		return "a list"
	case "object":
		return "an object"
	default:
		return v
	}
}
