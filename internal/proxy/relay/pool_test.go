package relay

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/internal/proxy/pipeline"
)

func TestPoolSpreadsSessionsAndForgetsThemWithTheirPod(t *testing.T) {
	ctx := context.Background()
	p := newPool(newMemoryStore(time.Minute), pipeline.NewSessions(10), "a:1", "b:1", "c:1")
	for i := range 6 {
		addr, ok := p.pick()
		if !ok {
			t.Fatal("no endpoint")
		}
		p.bind(ctx, string(rune('0'+i)), addr, false)
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
	p := newPool(newMemoryStore(time.Minute), pipeline.NewSessions(10), "a:1", "b:1")
	p.bind(ctx, "s", "a:1", false)
	p.bind(ctx, "t", "b:1", false)
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
	_ = s.Set(ctx, "idle", "a:1")
	_ = s.Set(ctx, "never-read", "a:1")
	_ = s.Set(ctx, "used", "a:1")
	for range 4 {
		time.Sleep(20 * time.Millisecond)
		if _, ok, _ := s.Get(ctx, "used"); !ok {
			t.Fatal("a session in use expired")
		}
	}
	if _, ok, _ := s.Get(ctx, "idle"); ok {
		t.Error("a session idle past the timeout is still known")
	}
	_ = s.Set(ctx, "new", "b:1") // sweeps
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m["never-read"]; ok {
		t.Error("the sweep kept an expired entry")
	}
}

func TestPoolGivesBackTheSessionPlaceWhenASessionEnds(t *testing.T) {
	ctx := context.Background()
	places := pipeline.NewSessions(2)
	p := newPool(newMemoryStore(time.Minute), places, "a:1", "b:1")
	for _, key := range []string{"s", "t"} {
		if !places.Acquire() {
			t.Fatal("no place")
		}
		p.bind(ctx, key, "a:1", true)
	}
	if places.Acquire() {
		t.Fatal("a third session got a place under a cap of 2")
	}
	p.unbind(ctx, "s")
	if places.Count() != 1 {
		t.Fatalf("after DELETE: %d places taken, want 1", places.Count())
	}
	p.set([]string{"b:1"}) // a:1 leaves with t
	if places.Count() != 0 {
		t.Fatalf("after the pod left: %d places taken, want 0", places.Count())
	}
}

func TestPoolForgetsSessionsIdleForTheTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	places := pipeline.NewSessions(10)
	p := newPool(newMemoryStore(time.Hour), places, "a:1")
	places.Acquire()
	p.bind(ctx, "idle", "a:1", true)
	go p.expire(ctx, 100*time.Millisecond, 0)
	for deadline := time.Now().Add(5 * time.Second); places.Count() != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("an idle session was never forgotten: its place is still taken")
		}
	}
}

func TestPoolGivesBackThePlaceOfASessionUnusedAfterItsInitialize(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	places := pipeline.NewSessions(10)
	p := newPool(newMemoryStore(time.Hour), places, "a:1")
	for _, key := range []string{"used", "only-initialized"} {
		places.Acquire()
		p.bind(ctx, key, "a:1", true)
	}
	go p.expire(ctx, time.Hour, 200*time.Millisecond)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, ok := p.lookup(ctx, "used"); !ok {
			t.Fatal("a session in use lost its route")
		}
	}
	if places.Count() != 1 {
		t.Fatalf("%d places taken; want 1: the session that only initialized gives its place back", places.Count())
	}
	if _, ok := p.lookup(ctx, "only-initialized"); ok {
		t.Error("a session that gave its place back is still routed: the cap would not bound live sessions")
	}
}

// A response that names a session this replica already owns, to a request
// that took no place (servers that echo session ids): one place, never a
// release too many.
func TestBindingAnOwnedSessionAgainKeepsOnePlace(t *testing.T) {
	ctx := context.Background()
	places := pipeline.NewSessions(10)
	p := newPool(newMemoryStore(time.Hour), places, "a:1")
	places.Acquire()
	p.bind(ctx, "s", "a:1", true)
	p.bind(ctx, "s", "a:1", false)
	if places.Count() != 1 {
		t.Fatalf("%d places after binding the session again, want 1", places.Count())
	}
	p.unbind(ctx, "s")
	if places.Count() != 0 {
		t.Fatalf("%d places after the session ended, want 0", places.Count())
	}
}

func TestPoolSendsNoNewSessionToAMutePod(t *testing.T) {
	places := pipeline.NewSessions(10)
	p := newPool(newMemoryStore(time.Hour), places, "a:1", "b:1")
	p.setMute("a:1", true)
	for range 3 {
		if a, _ := p.pick(); a != "b:1" {
			t.Fatalf("picked %s, want b:1 (a:1 does not answer MCP)", a)
		}
	}
	p.setMute("b:1", true)
	if _, ok := p.pick(); ok || p.healthy() != 0 {
		t.Fatal("with every pod mute, a pod was still picked")
	}
}
