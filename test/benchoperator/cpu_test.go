package main

import (
	"os"
	"testing"
	"time"
)

func TestReadCPUSeesThisProcessWork(t *testing.T) {
	before, err := readCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
		// spin: CPU time the reading must show
	}
	after, err := readCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d := after.minus(before); d.cpu < 100*time.Millisecond || d.throttled < 0 || d.periods < 0 {
		t.Errorf("after 200 ms of spinning: %+v, want at least 100 ms of CPU and no negative counts", d)
	}
}
