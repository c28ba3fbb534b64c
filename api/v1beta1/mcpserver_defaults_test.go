package v1beta1

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestDefault(t *testing.T) {
	tests := []struct {
		name string
		spec MCPServerSpec
		old  *MCPServerSpec
		want MCPServerSpec
	}{
		{
			name: "an empty spec gets the documented defaults",
			spec: MCPServerSpec{Image: "i"},
			want: MCPServerSpec{Image: "i", Transport: "stdio", ProxyMode: "streamable-http", ProxyPort: 8080, MCPPort: 8080, SessionAffinity: "ClientIP"},
		},
		{
			name: "an sse server is offered as sse",
			spec: MCPServerSpec{Image: "i", Transport: "sse"},
			want: MCPServerSpec{Image: "i", Transport: "sse", ProxyMode: "sse", ProxyPort: 8080, MCPPort: 8080, SessionAffinity: "ClientIP"},
		},
		{
			name: "the deprecated port and targetPort fill proxyPort and mcpPort",
			spec: MCPServerSpec{Image: "i", Port: 9090, TargetPort: 3000},
			want: MCPServerSpec{Image: "i", Transport: "stdio", ProxyMode: "streamable-http", Port: 9090, TargetPort: 3000,
				ProxyPort: 9090, MCPPort: 3000, SessionAffinity: "ClientIP"},
		},
		{
			name: "a proxyPort copied from port follows a change of port alone",
			spec: MCPServerSpec{Image: "i", Port: 9091, ProxyPort: 9090},
			old:  &MCPServerSpec{Image: "i", Port: 9090, ProxyPort: 9090},
			want: MCPServerSpec{Image: "i", Transport: "stdio", ProxyMode: "streamable-http", Port: 9091, ProxyPort: 9091,
				MCPPort: 8080, SessionAffinity: "ClientIP"},
		},
		{
			name: "an explicit change of proxyPort is kept (CEL then reports the conflict with port)",
			spec: MCPServerSpec{Image: "i", Port: 9091, ProxyPort: 7000},
			old:  &MCPServerSpec{Image: "i", Port: 9090, ProxyPort: 9090},
			want: MCPServerSpec{Image: "i", Transport: "stdio", ProxyMode: "streamable-http", Port: 9091, ProxyPort: 7000,
				MCPPort: 8080, SessionAffinity: "ClientIP"},
		},
		{
			name: "a secret's env name defaults to its key and the provider to memory",
			spec: MCPServerSpec{Image: "i", Secrets: []SecretRef{{Name: "s", Key: "TOKEN"}}, SessionStorage: &SessionStorage{}},
			want: MCPServerSpec{Image: "i", Transport: "stdio", ProxyMode: "streamable-http", ProxyPort: 8080, MCPPort: 8080,
				SessionAffinity: "ClientIP", Secrets: []SecretRef{{Name: "s", Key: "TOKEN", TargetEnvName: "TOKEN"}},
				SessionStorage: &SessionStorage{Provider: "memory"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &MCPServer{Spec: tt.spec}
			var old *MCPServer
			if tt.old != nil {
				old = &MCPServer{Spec: *tt.old}
			}
			m.Default(old)
			if d := cmp.Diff(tt.want, m.Spec); d != "" {
				t.Errorf("spec after Default (-want +got):\n%s", d)
			}
			before := m.DeepCopy()
			m.Default(old)
			if d := cmp.Diff(before.Spec, m.Spec); d != "" {
				t.Errorf("Default is not idempotent (-first +second):\n%s", d)
			}
		})
	}
}

func TestDecodePodTemplateIsStrict(t *testing.T) {
	tests := []struct {
		name, raw, wantErr string
	}{
		{"a valid template decodes", `{"spec":{"containers":[{"name":"mcp"}]}}`, ""},
		{"an unknown field is named", `{"spec":{"contaners":[]}}`, `unknown field "spec.contaners"`},
		{"a wrong type is named", `{"spec":{"terminationGracePeriodSeconds":"sixty"}}`, "terminationGracePeriodSeconds"},
		{"a duplicate field is named", `{"spec":{"hostname":"a","hostname":"b"}}`, `duplicate field "spec.hostname"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MCPServerSpec{PodTemplateSpec: &runtime.RawExtension{Raw: []byte(tt.raw)}}
			_, err := s.DecodePodTemplate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "spec.podTemplateSpec")):
				t.Fatalf("error %v, want one naming spec.podTemplateSpec and %q", err, tt.wantErr)
			}
		})
	}
}
