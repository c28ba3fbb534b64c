package main

import (
	"math"
	"testing"
)

func TestHistogramQuantilesInterpolateWithinBuckets(t *testing.T) {
	inf := math.Inf(1)
	before := histogram{le: []float64{0.005, 0.025, 0.1, inf}, cum: []float64{10, 10, 10, 10}}
	// Since before: 90 at most 5 ms, 8 in (5, 25] ms, 2 in (25, 100] ms.
	after := histogram{le: before.le, cum: []float64{100, 108, 110, 110}}
	h := after.minus(before)
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"count", h.count(), 100},
		{"share at most 5 ms", h.share(0.005), 0.9},
		{"share at a bound it has not", h.share(0.01), math.NaN()},
		{"p50, in the first bucket", h.quantile(0.5), 0.005 * 50 / 90},
		{"p95, in the second", h.quantile(0.95), 0.005 + 0.020*5/8},
		{"p99, in the third", h.quantile(0.99), 0.025 + 0.075*1/2},
		{"in +Inf: the highest finite bound", histogram{le: before.le, cum: []float64{0, 0, 0, 4}}.quantile(0.5), 0.1},
		{"no observations", histogram{le: before.le, cum: []float64{0, 0, 0, 0}}.quantile(0.5), math.NaN()},
		{"two label sets summed", before.plus(after).count(), 120},
	} {
		if !(math.Abs(tc.got-tc.want) < 1e-12 || math.IsNaN(tc.got) && math.IsNaN(tc.want)) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
