package v1beta1

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/json"
)

// DecodePodTemplate decodes spec.podTemplateSpec strictly: an unknown or
// duplicated field is an error, not silently dropped, because a typo there
// (contaners, volumeMount) would otherwise vanish without a trace. It
// returns nil, nil when the field is unset.
func (s *MCPServerSpec) DecodePodTemplate() (*corev1.PodTemplateSpec, error) {
	path := field.NewPath("spec", "podTemplateSpec")
	if s.PodTemplateSpec == nil || len(s.PodTemplateSpec.Raw) == 0 {
		return nil, nil
	}
	var t corev1.PodTemplateSpec
	strict, err := json.UnmarshalStrict(s.PodTemplateSpec.Raw, &t, json.DisallowDuplicateFields, json.DisallowUnknownFields)
	if err != nil {
		return nil, field.Invalid(path, "<object>", fmt.Sprintf("is not a PodTemplateSpec: %v", err))
	}
	if len(strict) > 0 {
		return nil, field.Invalid(path, "<object>", fmt.Sprintf("is not a PodTemplateSpec: %v", strict[0]))
	}
	return &t, nil
}
