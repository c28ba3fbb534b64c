package main

import (
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCPUTimeCountsWhatThisProcessSpends(t *testing.T) {
	before, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; { // spin
	}
	after, err := cpuTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// 100 ms of spinning, read in ticks of 10 ms: at least a few ticks.
	if got := after - before; got < 50*time.Millisecond || got > 2*time.Second {
		t.Errorf("cpuTime grew by %s over 100 ms of spinning", got)
	}
}

func TestCPUTimeOfNoProcessIsZero(t *testing.T) {
	if got, err := cpuTime(0); got != 0 || err != nil {
		t.Errorf("cpuTime(0) = %s, %v; want 0, nil", got, err)
	}
}

func TestParseCounts(t *testing.T) {
	for _, tc := range []struct {
		name, list string
		want       []int
		wantErr    bool
	}{
		{name: "the default list", list: "1,8,32", want: []int{1, 8, 32}},
		{name: "spaces around counts are fine", list: "1, 8", want: []int{1, 8}},
		{name: "zero sessions is refused", list: "0,8", wantErr: true},
		{name: "a word is refused", list: "one", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCounts(tc.list)
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseCounts(%q) error = %v, want error %v", tc.list, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("parseCounts(%q) (-want +got):\n%s", tc.list, diff)
			}
		})
	}
}

func TestSpreadIsMedianLeastAndGreatest(t *testing.T) {
	med, lo, hi := spread([]float64{0.9, 0.5, 0.7, 1.1, 0.6})
	if diff := cmp.Diff([3]float64{0.7, 0.5, 1.1}, [3]float64{med, lo, hi}); diff != "" {
		t.Errorf("spread (-want +got):\n%s", diff)
	}
}
