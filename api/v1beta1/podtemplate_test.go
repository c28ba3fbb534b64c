package v1beta1

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

func TestDecodePodTemplateIsStrict(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []string // the field errors, in order
	}{
		{"a valid template decodes", `{"spec":{"containers":[{"name":"mcp"}]}}`, nil},
		{"an unknown field is named at its own path", `{"spec":{"containers":[{"name":"mcp"},{"name":"b","volumeMount":[]}]}}`, []string{
			"spec.podTemplateSpec.spec.containers[1].volumeMount: Invalid value: " +
				"unknown field \"volumeMount\" in a PodTemplateSpec: check its spelling and indentation (`kubectl explain pod.spec.containers` lists the valid fields)",
		}},
		{"every unknown field is reported", `{"metadata":{"labelz":{}},"spec":{"contaners":[]}}`, []string{
			"spec.podTemplateSpec.metadata.labelz: Invalid value: " +
				"unknown field \"labelz\" in a PodTemplateSpec: check its spelling and indentation (`kubectl explain pod.metadata` lists the valid fields)",
			"spec.podTemplateSpec.spec.contaners: Invalid value: " +
				"unknown field \"contaners\" in a PodTemplateSpec: check its spelling and indentation (`kubectl explain pod.spec` lists the valid fields)",
		}},
		{"an unknown top-level field points at pod", `{"kind":"Pod"}`, []string{
			"spec.podTemplateSpec.kind: Invalid value: " +
				"unknown field \"kind\" in a PodTemplateSpec: check its spelling and indentation (`kubectl explain pod` lists the valid fields)",
		}},
		{"a duplicate field is named", `{"spec":{"hostname":"a","hostname":"b"}}`, []string{
			`spec.podTemplateSpec.spec.hostname: Invalid value: field "hostname" is given twice: keep one`,
		}},
		{"a string where an integer belongs", `{"spec":{"terminationGracePeriodSeconds":"sixty"}}`, []string{
			"spec.podTemplateSpec.spec.terminationGracePeriodSeconds: Invalid value: must be an integer, not a string",
		}},
		{"a fraction where an integer belongs", `{"spec":{"containers":[{"name":"mcp","ports":[{"containerPort":80.5}]}]}}`, []string{
			"spec.podTemplateSpec.spec.containers.ports.containerPort: Invalid value: must be an integer, not 80.5",
		}},
		{"an object where a list belongs", `{"spec":{"containers":{"name":"mcp"}}}`, []string{
			"spec.podTemplateSpec.spec.containers: Invalid value: must be a list, not an object",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MCPServerSpec{PodTemplateSpec: &runtime.RawExtension{Raw: []byte(tt.raw)}}
			tmpl, err := s.DecodePodTemplate()
			var got []string
			var agg utilerrors.Aggregate
			if errors.As(err, &agg) {
				for _, e := range agg.Errors() {
					got = append(got, e.Error())
				}
			} else if err != nil {
				t.Fatalf("error %T is not an aggregate of field errors: %v", err, err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("field errors (-want +got):\n%s", d)
			}
			if (err == nil) != (tmpl != nil) {
				t.Errorf("template %v with error %v: want exactly one", tmpl, err)
			}
		})
	}
}

func TestDecodePodTemplateUnsetIsNil(t *testing.T) {
	for _, s := range []MCPServerSpec{{}, {PodTemplateSpec: &runtime.RawExtension{}}} {
		if tmpl, err := s.DecodePodTemplate(); tmpl != nil || err != nil {
			t.Errorf("DecodePodTemplate() = %v, %v; want nil, nil", tmpl, err)
		}
	}
}
