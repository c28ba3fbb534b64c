package proxy

import (
	"context"
	"testing"
)

func TestPoolSpreadsSessionsAndForgetsThemWithTheirPod(t *testing.T) {
	ctx := context.Background()
	p := newPool(newMemoryStore(), "a:1", "b:1", "c:1")
	for i := range 6 {
		addr, ok := p.pick()
		if !ok {
			t.Fatal("no endpoint")
		}
		p.bind(ctx, string(rune('0'+i)), addr)
	}
	counts := map[string]int{}
	for i := range 6 {
		a, _ := p.lookup(ctx, string(rune('0'+i)))
		counts[a]++
	}
	if counts["a:1"] != 2 || counts["b:1"] != 2 || counts["c:1"] != 2 {
		t.Errorf("sessions per pod %v, want 2 each", counts)
	}
	done := p.busy("a:1")
	p.unbind(ctx, "1") // b:1 now has one session
	if a, _ := p.pick(); a != "b:1" {
		t.Errorf("picked %s, want the least loaded b:1", a)
	}
	done()
	if gone := p.set([]string{"a:1", "c:1"}); len(gone) != 1 || gone[0] != "b:1" {
		t.Errorf("gone = %v", gone)
	}
	if _, ok := p.lookup(ctx, "4"); ok {
		t.Error("a session of the departed pod is still routed")
	}
}
