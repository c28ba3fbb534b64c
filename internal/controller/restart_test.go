package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

func withAnnotations(kv ...string) func(*v1beta1.MCPServer) {
	return func(s *v1beta1.MCPServer) {
		s.Annotations = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			s.Annotations[kv[i]] = kv[i+1]
		}
	}
}

const (
	restartedAt   = "mcpserver.toolhive.stacklok.dev/restarted-at"
	strategy      = "mcpserver.toolhive.stacklok.dev/restart-strategy"
	lastProcessed = "mcpserver.toolhive.stacklok.dev/last-processed-restart"
	t1, t2        = "2026-01-02T15:04:05Z", "2026-01-02T16:00:00Z"
)

func TestRestartRequested(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
		want restartRequest
	}{
		{name: "no annotation asks for nothing"},
		{name: "a time alone asks for a rolling restart", kv: []string{restartedAt, t1},
			want: restartRequest{at: t1}},
		{name: "immediate asks for the pods to be deleted", kv: []string{restartedAt, t1, strategy, "immediate"},
			want: restartRequest{at: t1, immediate: true}},
		{name: "a time no later than the last processed one is done", kv: []string{restartedAt, t1, strategy, "immediate", lastProcessed, t1},
			want: restartRequest{at: t1, immediate: true, processed: true}},
		{name: "a later time is a new request", kv: []string{restartedAt, t2, strategy, "immediate", lastProcessed, t1},
			want: restartRequest{at: t2, immediate: true}},
		{name: "a time that is not RFC 3339 asks for nothing, and says so", kv: []string{restartedAt, "yesterday"},
			want: restartRequest{problem: `annotation mcpserver.toolhive.stacklok.dev/restarted-at: "yesterday" is not an RFC 3339 time ` +
				`such as 2026-01-02T15:04:05Z; nothing restarts`}},
		{name: "an unknown strategy is taken as rolling, as ToolHive does, and says so", kv: []string{restartedAt, t1, strategy, "Immediate"},
			want: restartRequest{at: t1, problem: `annotation mcpserver.toolhive.stacklok.dev/restart-strategy: "Immediate" is neither ` +
				`rolling nor immediate; restarting rolling, as ToolHive does`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := restartRequested(newServer(withAnnotations(tt.kv...)))
			if d := cmp.Diff(tt.want, got, cmp.AllowUnexported(restartRequest{})); d != "" {
				t.Errorf("request (-want +got):\n%s", d)
			}
		})
	}
}

// A rolling restart is the restarted-at value on both workloads' pod
// templates: the MCP server is what users restart, and the proxy with it.
func TestRollingRestartRollsBothWorkloads(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
		want string
	}{
		{name: "rolling by default", kv: []string{restartedAt, t1}, want: t1},
		{name: "rolling also when processed: applying it again changes nothing", kv: []string{restartedAt, t1, lastProcessed, t1}, want: t1},
		{name: "an unknown strategy rolls", kv: []string{restartedAt, t1, strategy, "soon"}, want: t1},
		{name: "immediate deletes the pods instead", kv: []string{restartedAt, t1, strategy, "immediate"}},
		{name: "a bad time restarts nothing", kv: []string{restartedAt, "now"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(withAnnotations(tt.kv...))
			proxy := buildProxyDeployment(s, nil, "proxy:test", resolvedRefs{}).Spec.Template.Annotations[restartedAt]
			backend := buildBackendStatefulSet(s, nil, "proxy:test", "").Spec.Template.Annotations[restartedAt]
			if d := cmp.Diff([]string{tt.want, tt.want}, []string{proxy, backend}); d != "" {
				t.Errorf("restarted-at on the proxy and backend pod templates (-want +got):\n%s", d)
			}
		})
	}
}
