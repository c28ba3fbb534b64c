package v1beta1

import (
	"testing"

	"github.com/google/go-cmp/cmp"
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
