package operator

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// MCPServersMetric is the gauge of MCPServers by namespace and phase.
const MCPServersMetric = "switchboard_mcpservers"

// phases are every status.phase an MCPServer can have, in the order a
// server goes through them. Each is reported, 0 included, so that a
// dashboard or an alert sees the same series whether or not a server is in
// that phase right now.
var phases = []v1beta1.MCPServerPhase{
	v1beta1.PhasePending, v1beta1.PhaseReady, v1beta1.PhaseFailed, v1beta1.PhaseStopped, v1beta1.PhaseTerminating,
}

// listTimeout bounds a scrape's wait for the cache, which blocks a List
// until it has synced.
const listTimeout = 5 * time.Second

// phaseCollector counts MCPServers by namespace and phase when Prometheus
// scrapes, from the manager's cache: a scrape lists what the informer holds
// and never calls the API server.
//
// The labels are namespace and phase, so that a team can alert on its own
// namespace. That stays bounded: five series for each namespace that holds
// an MCPServer (and for each watched namespace, which is a short list),
// however many servers there are. A non-leader replica's cache is as good
// as the leader's, so every replica reports the same counts: take max, not
// sum, across pods.
type phaseCollector struct {
	cache client.Reader
	// watched are the namespaces of --watch-namespaces, reported even while
	// they hold no MCPServer; empty in cluster scope.
	watched []string
	desc    *prometheus.Desc
	log     logr.Logger
}

func newPhaseCollector(cache client.Reader, watched []string, log logr.Logger) *phaseCollector {
	return &phaseCollector{
		cache:   cache,
		watched: watched,
		desc: prometheus.NewDesc(MCPServersMetric,
			"MCPServers by namespace and status.phase (a server without a status yet counts as Pending).",
			[]string{"namespace", "phase"}, nil),
		log: log,
	}
}

// Describe implements prometheus.Collector.
func (c *phaseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. A cache that cannot answer yet
// (the operator is starting) reports nothing rather than an error, which
// would fail the whole scrape, controller-runtime's metrics included.
func (c *phaseCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	var list v1beta1.MCPServerList
	if err := c.cache.List(ctx, &list); err != nil {
		c.log.V(1).Info("MCPServers not counted for this scrape", "metric", MCPServersMetric, "error", err.Error())
		return
	}
	counts := map[string]map[v1beta1.MCPServerPhase]int{}
	for _, ns := range c.watched {
		counts[ns] = map[v1beta1.MCPServerPhase]int{}
	}
	for _, s := range list.Items {
		if counts[s.Namespace] == nil {
			counts[s.Namespace] = map[v1beta1.MCPServerPhase]int{}
		}
		phase := s.Status.Phase
		if phase == "" {
			phase = v1beta1.PhasePending // not reconciled yet
		}
		counts[s.Namespace][phase]++
	}
	for ns, byPhase := range counts {
		for _, p := range phases {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(byPhase[p]), ns, string(p))
		}
	}
}
