package pipeline

import "sync/atomic"

// Sessions counts every session and stream a proxy holds for its clients
// (streamable HTTP sessions, legacy SSE streams, stateless streams, relayed
// sessions) against one cap, taken atomically.
type Sessions struct {
	max   int64
	count atomic.Int64
}

// NewSessions caps the count at max.
func NewSessions(max int) *Sessions { return &Sessions{max: int64(max)} }

// Acquire takes one place, or reports false when all are taken. Each
// successful Acquire is matched by one Release.
func (s *Sessions) Acquire() bool {
	for {
		n := s.count.Load()
		if n >= s.max {
			return false
		}
		if s.count.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release gives a place back.
func (s *Sessions) Release() { s.count.Add(-1) }

// Count is the number of places taken.
func (s *Sessions) Count() int { return int(s.count.Load()) }

// Max is the cap.
func (s *Sessions) Max() int { return int(s.max) }

// Full reports every place taken.
func (s *Sessions) Full() bool { return s.count.Load() >= s.max }
