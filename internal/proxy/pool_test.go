package proxy

import (
	"context"
	"testing"
	"time"
)

func TestPoolSpreadsSessionsAndForgetsThemWithTheirPod(t *testing.T) {
	ctx := context.Background()
	p := newPool(newMemoryStore(time.Minute), "a:1", "b:1", "c:1")
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

func TestPoolAvoidsAPodThatRefusedAConnection(t *testing.T) {
	ctx := context.Background()
	p := newPool(newMemoryStore(time.Minute), "a:1", "b:1")
	p.bind(ctx, "s", "a:1")
	p.bind(ctx, "t", "b:1")
	p.unreachable(ctx, "a:1", "s")
	if _, ok := p.lookup(ctx, "s"); ok {
		t.Error("the session of the unreachable pod is still routed")
	}
	if a, _ := p.lookup(ctx, "t"); a != "b:1" {
		t.Errorf("the other pod's session went to %q", a)
	}
	// a:1 now holds fewer sessions, but refused a connection just now.
	if a, _ := p.pick(); a != "b:1" {
		t.Errorf("picked %s for a new session, want b:1", a)
	}
	p.unreachable(ctx, "b:1", "")
	if a, ok := p.pick(); !ok || a != "a:1" {
		t.Errorf("with every pod suspect, picked %q %v; want the least loaded a:1 still", a, ok)
	}
}

func TestMemoryStoreForgetsIdleSessions(t *testing.T) {
	ctx := context.Background()
	s := newMemoryStore(50 * time.Millisecond)
	_ = s.set(ctx, "idle", "a:1")
	_ = s.set(ctx, "never-read", "a:1")
	_ = s.set(ctx, "used", "a:1")
	for range 4 {
		time.Sleep(20 * time.Millisecond)
		if _, ok, _ := s.get(ctx, "used"); !ok {
			t.Fatal("a session in use expired")
		}
	}
	if _, ok, _ := s.get(ctx, "idle"); ok {
		t.Error("a session idle past the timeout is still known")
	}
	_ = s.set(ctx, "new", "b:1") // sweeps
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m["never-read"]; ok {
		t.Error("the sweep kept an expired entry")
	}
}
