package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// report is everything a run measured.
type report struct {
	o                     options
	loadBefore, loadAfter string

	floor floorResult

	objectsPerServer int
	applied          time.Duration
	applyLatency     latencies
	applyWebhooks    []webhookLatency
	progress         progress
	healthGETs       int64

	rssBefore, rssReady, rssPeak, rssQuiet float64

	steady steady
	secret secretChange

	reviews []reviewSeries
	steps   []step
}

// reviewSeries is one webhook's latencies for one kind of server at a
// concurrency, how long the series took, and the manager's CPU in it.
type reviewSeries struct {
	webhook, server string
	workers         int
	l               latencies
	took            time.Duration
	use             cpuUse
}

// admission posts reviews to both webhooks, for a server without
// references and one with, at o.workers at once and one at a time, and
// times the validating webhook's round trips one by one.
func admission(ctx context.Context, c client.Client, mgr manager, o options, r *report) error {
	mutating, validating, err := webhooks(ctx, c, mgr.ip, 9443)
	if err != nil {
		return err
	}
	plain, err := server(o.namespace, 0, 0, int32(o.proxyPort)) //nolint:gosec // a port
	if err != nil {
		return err
	}
	// The validating webhook sees the object after the mutating one.
	defaulted := plain.DeepCopy()
	defaulted.Default(nil)
	hc := admissionClient(o.workers)
	for _, workers := range []int{o.workers, 1} {
		n := o.reviews
		if workers == 1 {
			n = min(o.reviews, 300)
		}
		for _, sv := range []struct {
			what string
			w    webhook
			raw  bool
		}{{"no references", mutating, true}, {"no references", validating, false}, {"with references", mutating, true}, {"with references", validating, false}} {
			s := defaulted
			if sv.raw {
				s = plain
			}
			if sv.what == "with references" {
				s = withReferences(s)
			}
			if _, err := review(ctx, hc, sv.w, s, workers, workers); err != nil { // warm the connections
				return err
			}
			logf("%d reviews, %d at once: %s webhook, server %s", n, workers, sv.w.name, sv.what)
			before, err := readCPU(mgr.pid)
			if err != nil {
				return err
			}
			start := time.Now()
			l, err := review(ctx, hc, sv.w, s, n, workers)
			if err != nil {
				return err
			}
			took := time.Since(start)
			after, err := readCPU(mgr.pid)
			if err != nil {
				return err
			}
			r.reviews = append(r.reviews, reviewSeries{sv.w.name, sv.what, workers, l, took, after.minus(before)})
		}
	}
	r.steps, err = validationSteps(ctx, c, withReferences(defaulted), 100)
	return err
}

func sorted(l []time.Duration) latencies {
	slices.Sort(l)
	return l
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

// print writes the run as markdown for docs/benchmarks.md.
func (r report) print(w io.Writer) {
	o := r.o
	fmt.Fprintf(w, "## Operator at scale — %s\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(w, "```sh\nmake bench-operator   # = go run ./test/benchoperator -servers %d -workers %d\n```\n\n", o.servers, o.workers)
	fmt.Fprintf(w, "Load average before / after: %s / %s.\n\n", r.loadBefore, r.loadAfter)
	if !o.admissionOnly {
		r.printScale(w)
		r.printWebhooks(w)
	}
	if !o.scaleOnly {
		r.printAdmission(w)
	}
}

// printScale writes the thousand servers' way to Ready, the memory, and
// what a quiet period and a Secret's change cost.
func (r report) printScale(w io.Writer) {
	o, p := r.o, r.progress
	fmt.Fprintln(w, "| measure | figure | target |")
	fmt.Fprintln(w, "|---|---|---|")
	fmt.Fprintf(w, "| %d MCPServers applied, %d at once | %s (apply p50 %s, p99 %s) | |\n", o.servers, o.workers, secs(r.applied), ms(r.applyLatency.quantile(0.5)), ms(r.applyLatency.quantile(0.99)))
	fmt.Fprintf(w, "| every server has its %d objects | %s | |\n", r.objectsPerServer, secs(p.objects))
	fmt.Fprintf(w, "| every pod Ready (%d on KWOK nodes) | %s | |\n", 2*o.servers, secs(p.podsReady))
	fmt.Fprintf(w, "| every server Ready | **%s** (per server p50 %s, p99 %s) | ≤ 60 s: %s |\n", secs(p.ready), secs(quantile(p.untilReady, 0.5)), secs(quantile(p.untilReady, 0.99)), met(p.ready <= time.Minute))
	if r.floor.podsReady > 0 {
		fmt.Fprintf(w, "| floor: the same %d objects per server applied with no operator, %d at once: every pod Ready | %s (applied in %s) | |\n", r.floor.objects, o.workers, secs(r.floor.podsReady), secs(r.floor.applied))
		fmt.Fprintf(w, "| every server Ready, as a ratio of the floor | **%.2f×** | |\n", p.ready.Seconds()/r.floor.podsReady.Seconds())
	}
	fmt.Fprintf(w, "| a server Ready after both its pods are (the operator's share) | p50 %s, p99 %s, max %s | |\n", secs(quantile(p.afterPods, 0.5)), secs(quantile(p.afterPods, 0.99)), secs(quantile(p.afterPods, 1)))
	fmt.Fprintf(w, "| Ready reasons | %s; %d /health GETs answered | Ready = a proxy's /health said MCP answered |\n", reasons(p.reasons), r.healthGETs)
	if o.scaleOnly {
		fmt.Fprintf(w, "| manager RSS: before / all Ready | %.1f / **%.1f** MiB (peak %.1f) | ≤ 150 MiB: %s |\n\n", r.rssBefore, r.rssReady, r.rssPeak, met(r.rssReady <= 150))
		return
	}
	fmt.Fprintf(w, "| manager RSS: before / all Ready / after the quiet period | %.1f / **%.1f** / %.1f MiB (peak %.1f) | ≤ 150 MiB: %s |\n", r.rssBefore, r.rssReady, r.rssQuiet, r.rssPeak, met(max(r.rssReady, r.rssQuiet) <= 150))
	st := r.steady
	fmt.Fprintf(w, "| quiet %s: reconciles; requests (lease renewals %d) | %.0f; %s | |\n", secs(st.window), st.leaseRenewals, st.reconciles, st.String())
	fmt.Fprintf(w, "| writes per reconcile (lease renewals left out) | **%.4f** | 0: %s |\n", st.writesPerReconcile(), met(st.writesPerReconcile() == 0))
	fmt.Fprintf(w, "| reads per reconcile | %.2f | |\n", st.readsPerReconcile())
	sc := r.secret
	fmt.Fprintf(w, "| a Secret %d servers reference changes: StatefulSets changed | %d (%s) in %s, none more in the next %s; proxy Deployments changed %d; reconciles %.0f | only those %d: %s |\n",
		sc.referencing, len(sc.statefulSets), abbreviate(sc.statefulSets), secs(sc.took), secs(sc.watchedAfter), len(sc.deployments), sc.reconciles, sc.referencing, met(sc.onlyReferencing))
	fmt.Fprintln(w)
}

// printWebhooks writes what the webhooks took during the thousand applies.
func (r report) printWebhooks(w io.Writer) {
	fmt.Fprintf(w, "The webhooks during the %d applies, %d at once (histograms' deltas; quantiles interpolated within buckets):\n\n", r.o.servers, r.o.workers)
	fmt.Fprintln(w, "| seen by | webhook | calls | buckets | share ≤ 5 ms | p50 | p99 | target p99 ≤ 5 ms |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, wl := range r.applyWebhooks {
		share, target := "", ""
		if v := wl.h.share(0.005); !math.IsNaN(v) {
			share = fmt.Sprintf("%.1f %%", 100*v)
			target = met(wl.h.quantile(0.99) <= 0.005)
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %s | %s | %s |\n", wl.seenBy, wl.webhook, wl.h.count(), wl.h.bounds(), share,
			seconds(wl.h.quantile(0.5)), seconds(wl.h.quantile(0.99)), target)
	}
	fmt.Fprintln(w)
}

func seconds(s float64) string {
	if math.IsNaN(s) {
		return "—"
	}
	return ms(time.Duration(s * float64(time.Second)))
}

// printAdmission writes the reviews' latencies and the manager's CPU.
func (r report) printAdmission(w io.Writer) {
	o := r.o
	fmt.Fprintln(w, "Admission, AdmissionReviews posted from the host to the webhook server (pod IP, port 9443), each a create of a new server;")
	fmt.Fprintln(w, "the manager's CPU per review and its container's CFS throttling over each series:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| webhook | server | at once | reviews | p50 | p99 | reviews/s | manager CPU per review | throttled (periods) | target p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, rs := range r.reviews {
		target := ""
		if rs.workers == o.workers {
			limit := 5 * time.Millisecond
			if rs.server == "with references" {
				limit = 20 * time.Millisecond
			}
			target = fmt.Sprintf("≤ %s: %s", ms(limit), met(rs.l.quantile(0.99) <= limit))
		}
		n := len(rs.l)
		fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %s | %.0f | %s | %s (%d of %d) | %s |\n", rs.webhook, rs.server, rs.workers, n,
			ms(rs.l.quantile(0.5)), ms(rs.l.quantile(0.99)), float64(n)/rs.took.Seconds(), ms(rs.use.cpu/time.Duration(max(n, 1))),
			ms(rs.use.throttled), rs.use.throttledPeriods, rs.use.periods, target)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The validating webhook's API round trips for a server with references, timed one at a time from the host (p50 of 100):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| step | p50 |")
	fmt.Fprintln(w, "|---|---|")
	var total time.Duration
	for _, st := range r.steps {
		fmt.Fprintf(w, "| %s | %s |\n", st.what, ms(st.p50))
		total += st.p50
	}
	fmt.Fprintf(w, "| **sum** | **%s** |\n", ms(total))
}

func quantile(l []time.Duration, q float64) time.Duration { return latencies(l).quantile(q) }

func reasons(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

func abbreviate(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s … %s", names[0], names[len(names)-1])
}
