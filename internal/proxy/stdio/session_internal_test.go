package stdio

import "testing"

func closedNow(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// A session's end reaches every stream waiting on it, also one that starts
// waiting after it; a session nothing waits on holds no channel.
func TestASessionsEndReachesItsStreams(t *testing.T) {
	s := &httpSession{}
	first, unwatchFirst := s.watch()
	_, unwatchSecond := s.watch()
	unwatchSecond()
	if closedNow(first) {
		t.Fatal("the channel was closed before the session ended")
	}
	unwatchFirst()
	if s.closed != nil {
		t.Error("a session no stream waits on still holds its channel")
	}
	again, unwatch := s.watch()
	defer unwatch()
	s.finish()
	if !closedNow(again) {
		t.Error("the end of the session did not reach a waiting stream")
	}
	late, unwatchLate := s.watch()
	defer unwatchLate()
	if !closedNow(late) {
		t.Error("a stream that waits after the end is not told it")
	}
}
