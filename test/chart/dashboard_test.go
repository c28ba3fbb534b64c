package chart

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-mcp/switchboard/internal/testenv"
)

// toolhiveMetrics are the series the proxy exports under ToolHive's names
// (ToolHive's pkg/telemetry/middleware.go, as its OpenTelemetry Prometheus
// exporter names them), so that ToolHive users' queries keep working.
var toolhiveMetrics = []string{
	"toolhive_mcp_requests_total",
	"toolhive_mcp_active_connections",
	"toolhive_mcp_tool_calls_total",
}

// toolhiveHistograms are the histograms among them, with the OpenTelemetry
// MCP semantic conventions' mcp.server.operation.duration.
var toolhiveHistograms = []string{
	"toolhive_mcp_request_duration_seconds",
	"mcp_server_operation_duration_seconds",
}

// controllerRuntimeMetrics are the series controller-runtime (v0.23) serves
// for every controller of the operator: reconciles and work queues.
var controllerRuntimeMetrics = []string{
	"controller_runtime_reconcile_total",
	"controller_runtime_reconcile_errors_total",
	"controller_runtime_terminal_reconcile_errors_total",
	"controller_runtime_reconcile_panics_total",
	"controller_runtime_max_concurrent_reconciles",
	"controller_runtime_active_workers",
	"workqueue_depth",
	"workqueue_adds_total",
	"workqueue_retries_total",
	"workqueue_unfinished_work_seconds",
	"workqueue_longest_running_processor_seconds",
}

var controllerRuntimeHistograms = []string{
	"controller_runtime_reconcile_time_seconds",
	"workqueue_queue_duration_seconds",
	"workqueue_work_duration_seconds",
}

// exported is every metric name a query may use: the lists above, and the
// switchboard_* names that are string literals in internal/ (the proxy's
// and the operator's own series), read from the source so that renaming one
// there fails this test until the dashboard follows.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	for _, n := range slices.Concat(toolhiveMetrics, controllerRuntimeMetrics) {
		names[n] = true
	}
	for _, h := range slices.Concat(toolhiveHistograms, controllerRuntimeHistograms) {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			names[h+suffix] = true
		}
	}
	own := regexp.MustCompile(`^switchboard_[a-z0-9_]+$`)
	fset := token.NewFileSet()
	err := filepath.WalkDir(filepath.Join(testenv.Root(), "internal"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && own.MatchString(s) {
					names[s] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"switchboard_proxy_active_sessions", "switchboard_mcpservers"} {
		if !names[n] {
			t.Fatalf("no string literal %q in internal/: this test no longer finds the project's own metric names", n)
		}
	}
	return names
}

// Every metric a dashboard of the chart queries, in a panel or a variable,
// is one the proxy or the operator exports: a renamed or invented series
// fails here, not silently in Grafana.
func TestDashboardsQueryOnlyExportedMetrics(t *testing.T) {
	allowed := exported(t)
	files, err := filepath.Glob(filepath.Join(testenv.Root(), "deploy", "charts", "toolhive-operator", "dashboards", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in the chart: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			queries, err := dashboardQueries(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(queries) == 0 {
				t.Fatal("the dashboard has no queries")
			}
			for where, q := range queries {
				names := metricNames(q)
				if len(names) == 0 {
					t.Errorf("%s: no metric in %q", where, q)
				}
				for _, n := range names {
					if !allowed[n] {
						t.Errorf("%s: %s is not a metric the proxy or the operator exports (%q)", where, n, q)
					}
				}
			}
		})
	}
}

// dashboardQueries are the PromQL expressions of a Grafana dashboard: every
// panel target's expr (rows and their panels included) and the metric
// query of every label_values variable, by where they are.
func dashboardQueries(b []byte) (map[string]string, error) {
	type target struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	}
	type panel struct {
		Title   string   `json:"title"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"`
	}
	var d struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				out["panel "+strconv.Quote(p.Title)+" target "+tg.RefID] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		// Grafana stores a variable's query as a string, or as an object
		// with the string in "query".
		var q string
		if err := json.Unmarshal(v.Query, &q); err != nil {
			var obj struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &obj); err != nil {
				return nil, err
			}
			q = obj.Query
		}
		if m := labelValues.FindStringSubmatch(q); m != nil {
			q = m[1]
		}
		out["variable $"+v.Name] = q
	}
	return out, nil
}

// labelValues is Grafana's label_values(<series selector>, <label>).
var labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)

var (
	// What cannot hold a metric name: quoted strings, label matchers,
	// range and subquery durations, and the label lists of by, without,
	// on, ignoring, group_left and group_right.
	promqlStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promqlLabels   = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	// A word: an identifier, a number, a duration or a $variable.
	promqlWord = regexp.MustCompile(`[$a-zA-Z0-9_:.]+`)
	promqlName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	promqlKeys = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true}
)

// metricNames are the metric names a PromQL expression selects: the words
// left once strings, matchers, durations and label lists are gone that are
// neither a function or aggregation (a word before "("), a number, a
// $variable nor a keyword. It is a reader for the dashboards' own
// expressions, not a PromQL parser.
func metricNames(expr string) []string {
	expr = promqlStrings.ReplaceAllString(expr, `""`)
	expr = promqlMatchers.ReplaceAllString(expr, " ")
	expr = promqlLabels.ReplaceAllString(expr, " ")
	var names []string
	for _, loc := range promqlWord.FindAllStringIndex(expr, -1) {
		w := expr[loc[0]:loc[1]]
		if !promqlName.MatchString(w) || promqlKeys[strings.ToLower(w)] {
			continue
		}
		if rest := strings.TrimLeft(expr[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue
		}
		if !slices.Contains(names, w) {
			names = append(names, w)
		}
	}
	return names
}

func TestMetricNamesReadsTheNamesOfAnExpression(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`sum by (mcp_method) (rate(toolhive_mcp_requests_total{job=~"$job", mcp_method!="tools/call"}[$__rate_interval]))`,
			[]string{"toolhive_mcp_requests_total"}},
		{`histogram_quantile(0.95, sum by (le, gen_ai_tool_name) (rate(mcp_server_operation_duration_seconds_bucket{a="b(c)"}[5m])))`,
			[]string{"mcp_server_operation_duration_seconds_bucket"}},
		{`sum(rate(a_total[5m] offset 1h)) / on(job) group_left(instance) sum(b) by (job) > bool 0.5 or vector(0)`,
			[]string{"a_total", "b"}},
		{`sum by (phase) (max by (namespace, phase) (switchboard_mcpservers{namespace=~"$namespace"}))`,
			[]string{"switchboard_mcpservers"}},
	} {
		if diff := cmp.Diff(tc.want, metricNames(tc.expr)); diff != "" {
			t.Errorf("metricNames(%q) (-want +got):\n%s", tc.expr, diff)
		}
	}
}
