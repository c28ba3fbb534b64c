package operator

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

func server(ns, name string, phase v1beta1.MCPServerPhase) *v1beta1.MCPServer {
	return &v1beta1.MCPServer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Status:     v1beta1.MCPServerStatus{Phase: phase},
	}
}

func cacheWith(t *testing.T, objs ...client.Object) client.Reader {
	t.Helper()
	s, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()
}

const phasesHelp = `# HELP switchboard_mcpservers MCPServers by namespace and status.phase (a server without a status yet counts as Pending).
# TYPE switchboard_mcpservers gauge
`

func TestPhaseCollectorCountsEveryPhaseOfEveryNamespace(t *testing.T) {
	tests := []struct {
		name    string
		watched []string
		servers []client.Object
		want    string
	}{
		{
			name: "a cluster without MCPServers has no series",
			want: "",
		},
		{
			name: "each namespace with a server reports all five phases, 0 included",
			servers: []client.Object{
				server("team-a", "osv", v1beta1.PhaseReady),
				server("team-a", "fetch", v1beta1.PhaseReady),
				server("team-a", "broken", v1beta1.PhaseFailed),
				server("team-b", "idle", v1beta1.PhaseStopped),
				server("team-b", "leaving", v1beta1.PhaseTerminating),
			},
			want: phasesHelp + `
switchboard_mcpservers{namespace="team-a",phase="Failed"} 1
switchboard_mcpservers{namespace="team-a",phase="Pending"} 0
switchboard_mcpservers{namespace="team-a",phase="Ready"} 2
switchboard_mcpservers{namespace="team-a",phase="Stopped"} 0
switchboard_mcpservers{namespace="team-a",phase="Terminating"} 0
switchboard_mcpservers{namespace="team-b",phase="Failed"} 0
switchboard_mcpservers{namespace="team-b",phase="Pending"} 0
switchboard_mcpservers{namespace="team-b",phase="Ready"} 0
switchboard_mcpservers{namespace="team-b",phase="Stopped"} 1
switchboard_mcpservers{namespace="team-b",phase="Terminating"} 1
`,
		},
		{
			name:    "a server the operator has not reconciled yet counts as Pending",
			servers: []client.Object{server("team-a", "new", "")},
			want: phasesHelp + `
switchboard_mcpservers{namespace="team-a",phase="Failed"} 0
switchboard_mcpservers{namespace="team-a",phase="Pending"} 1
switchboard_mcpservers{namespace="team-a",phase="Ready"} 0
switchboard_mcpservers{namespace="team-a",phase="Stopped"} 0
switchboard_mcpservers{namespace="team-a",phase="Terminating"} 0
`,
		},
		{
			name:    "in namespace scope a watched namespace without servers reports zeros",
			watched: []string{"team-a"},
			want: phasesHelp + `
switchboard_mcpservers{namespace="team-a",phase="Failed"} 0
switchboard_mcpservers{namespace="team-a",phase="Pending"} 0
switchboard_mcpservers{namespace="team-a",phase="Ready"} 0
switchboard_mcpservers{namespace="team-a",phase="Stopped"} 0
switchboard_mcpservers{namespace="team-a",phase="Terminating"} 0
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newPhaseCollector(cacheWith(t, tt.servers...), tt.watched, logr.Discard())
			if err := testutil.CollectAndCompare(c, strings.NewReader(tt.want)); err != nil {
				t.Error(err)
			}
		})
	}
}

// The exposition follows Prometheus's naming and help conventions.
func TestPhaseCollectorLints(t *testing.T) {
	c := newPhaseCollector(cacheWith(t, server("team-a", "osv", v1beta1.PhaseReady)), nil, logr.Discard())
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// A cache that cannot answer (the operator is starting) costs the scrape
// this gauge only: an invalid metric would make controller-runtime's
// handler fail the whole scrape.
func TestPhaseCollectorReportsNothingWhileTheCacheCannotAnswer(t *testing.T) {
	s, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	failing := fake.NewClientBuilder().WithScheme(s).WithInterceptorFuncs(interceptor.Funcs{
		List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
			return errors.New("the cache is not started")
		},
	}).Build()
	c := newPhaseCollector(failing, []string{"team-a"}, logr.Discard())
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("collected %d metrics from a cache that cannot answer, want 0", n)
	}
}
