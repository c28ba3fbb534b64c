package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store maps a session to the backend pod that owns it. With Redis every
// proxy replica sees the same table, so a session's requests reach its pod
// whichever proxy pod they land on.
type Store interface {
	Get(ctx context.Context, key string) (addr string, ok bool, err error)
	Set(ctx context.Context, key, addr string) error
	Del(ctx context.Context, key string) error
	// Degraded reports a shared store that does not answer now (the local
	// table serves meanwhile).
	Degraded() bool
	// Shared reports a table other proxy replicas read too.
	Shared() bool
}

// memoryStore is the table of one proxy replica. Entries idle for ttl are
// dropped (clients that vanish never send DELETE), as Redis expires them.
type memoryStore struct {
	ttl time.Duration

	mu        sync.Mutex
	m         map[string]memoryEntry
	lastSweep time.Time
}

type memoryEntry struct {
	addr string
	used time.Time
}

// NewMemoryStore is the table of one proxy replica, entries idle for ttl
// dropped.
func NewMemoryStore(ttl time.Duration) Store { return newMemoryStore(ttl) }

func newMemoryStore(ttl time.Duration) *memoryStore {
	return &memoryStore{ttl: ttl, m: map[string]memoryEntry{}, lastSweep: time.Now()}
}

func (s *memoryStore) Get(_ context.Context, key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || s.expired(e, time.Now()) {
		delete(s.m, key)
		return "", false, nil
	}
	e.used = time.Now()
	s.m[key] = e
	return e.addr, true, nil
}

func (s *memoryStore) Set(_ context.Context, key, addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.m[key] = memoryEntry{addr: addr, used: now}
	if s.ttl > 0 && now.Sub(s.lastSweep) > s.ttl/2 {
		s.lastSweep = now
		for k, e := range s.m {
			if s.expired(e, now) {
				delete(s.m, k)
			}
		}
	}
	return nil
}

func (s *memoryStore) Del(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// snapshot is every live entry, key → address.
// Degraded is never true of a local table.
func (s *memoryStore) Degraded() bool { return false }

// Shared is false: the table is this replica's own.
func (s *memoryStore) Shared() bool { return false }

func (s *memoryStore) snapshot() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	out := make(map[string]string, len(s.m))
	for k, e := range s.m {
		if !s.expired(e, now) {
			out[k] = e.addr
		}
	}
	return out
}

func (s *memoryStore) expired(e memoryEntry, now time.Time) bool {
	return s.ttl > 0 && now.Sub(e.used) > s.ttl
}

// redisStore shares the table through Redis, each entry expiring ttl after
// its last use, and keeps a local copy: when Redis is unreachable the proxy
// reports degraded and goes on routing the sessions it knows, and when Redis
// comes back empty (restarted without persistence) the copy refills it.
type redisStore struct {
	client   *redis.Client
	prefix   string
	ttl      time.Duration
	local    *memoryStore
	log      *slog.Logger
	degraded atomic.Bool
}

// NewRedisStore shares the table through client's Redis (redisconn.New).
func NewRedisStore(client *redis.Client, prefix string, ttl time.Duration, log *slog.Logger) Store {
	return &redisStore{client: client, prefix: prefix, ttl: ttl, local: newMemoryStore(ttl), log: log}
}

// Degraded reports Redis unreachable.
func (s *redisStore) Degraded() bool { return s.degraded.Load() }

// Shared is true: every replica reads the same Redis.
func (s *redisStore) Shared() bool { return true }

func (s *redisStore) key(k string) string { return s.prefix + "session:" + k }

// note records the outcome of a Redis call. The first failure turns the
// store degraded: requests then use the local table only (no Redis timeout
// added to each), and a watcher pings Redis every second until it answers.
func (s *redisStore) note(err error) {
	if err == nil || errors.Is(err, redis.Nil) {
		return
	}
	if s.degraded.CompareAndSwap(false, true) {
		s.log.Warn("redis session storage unreachable: routing from this replica's own table", "error", err)
		go s.awaitRecovery()
	}
}

func (s *redisStore) awaitRecovery() {
	for {
		time.Sleep(time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := s.client.Ping(ctx).Err()
		cancel()
		if err == nil {
			s.degraded.Store(false)
			s.log.Info("redis session storage reachable again; wrote back this replica's sessions", "sessions", s.refill())
			return
		}
	}
}

// refill writes the sessions this replica knows back to Redis after an
// outage (it may have restarted empty), leaving entries others wrote alone.
func (s *redisStore) refill() int {
	entries := s.local.snapshot()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pipe := s.client.Pipeline()
	for key, addr := range entries {
		pipe.SetNX(ctx, s.key(key), addr, s.ttl)
	}
	if _, err := pipe.Exec(ctx); err != nil && len(entries) > 0 {
		s.log.Warn("writing sessions back to redis", "error", err)
	}
	return len(entries)
}

func (s *redisStore) Get(ctx context.Context, key string) (string, bool, error) {
	if s.degraded.Load() {
		return s.local.Get(ctx, key)
	}
	addr, err := s.client.GetEx(ctx, s.key(key), s.ttl).Result()
	s.note(err)
	switch {
	case err == nil:
		_ = s.local.Set(ctx, key, addr)
		return addr, true, nil
	case errors.Is(err, redis.Nil):
		addr, ok, _ := s.local.Get(ctx, key)
		if ok {
			s.note(s.client.Set(ctx, s.key(key), addr, s.ttl).Err())
		}
		return addr, ok, nil
	}
	return s.local.Get(ctx, key)
}

func (s *redisStore) Set(ctx context.Context, key, addr string) error {
	_ = s.local.Set(ctx, key, addr)
	if s.degraded.Load() {
		return nil // written back on recovery
	}
	err := s.client.Set(ctx, s.key(key), addr, s.ttl).Err()
	s.note(err)
	if err != nil {
		return fmt.Errorf("store session in redis: %w", err)
	}
	return nil
}

func (s *redisStore) Del(ctx context.Context, key string) error {
	_ = s.local.Del(ctx, key)
	if s.degraded.Load() {
		return nil // the entry expires in Redis by its TTL
	}
	err := s.client.Del(ctx, s.key(key)).Err()
	s.note(err)
	return err
}
