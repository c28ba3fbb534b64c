package proxy

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

// sessionStore maps a session to the backend pod that owns it. With Redis
// every proxy replica sees the same table, so a session's requests reach
// its pod whichever proxy pod they land on.
type sessionStore interface {
	get(ctx context.Context, key string) (addr string, ok bool, err error)
	set(ctx context.Context, key, addr string) error
	del(ctx context.Context, key string) error
}

// memoryStore is the table of one proxy replica.
type memoryStore struct {
	mu sync.Mutex
	m  map[string]string
}

func newMemoryStore() *memoryStore { return &memoryStore{m: map[string]string{}} }

func (s *memoryStore) get(_ context.Context, key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.m[key]
	return a, ok, nil
}

func (s *memoryStore) set(_ context.Context, key, addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = addr
	return nil
}

func (s *memoryStore) del(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// redisStore shares the table through Redis, each entry expiring ttl after
// its last use, and keeps a local copy: when Redis is unreachable the proxy
// reports degraded and goes on routing the sessions it knows.
type redisStore struct {
	client   *redis.Client
	prefix   string
	ttl      time.Duration
	local    *memoryStore
	log      *slog.Logger
	degraded atomic.Bool
}

// redisLog sends go-redis's own messages to the proxy's log at debug level:
// the store reports outages itself, once per change.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

func newRedisStore(addr, password string, db int, prefix string, ttl time.Duration, log *slog.Logger) *redisStore {
	redis.SetLogger(redisLog{log})
	return &redisStore{
		client: redis.NewClient(&redis.Options{Addr: addr, Password: password, DB: db,
			DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: 1}),
		prefix: prefix, ttl: ttl, local: newMemoryStore(), log: log,
	}
}

func (s *redisStore) key(k string) string { return s.prefix + "session:" + k }

// note records the outcome of a Redis call, logging each change of state.
func (s *redisStore) note(err error) {
	down := err != nil && !errors.Is(err, redis.Nil)
	if was := s.degraded.Swap(down); was != down {
		if down {
			s.log.Warn("redis session storage unreachable: routing from this replica's own table", "error", err)
		} else {
			s.log.Info("redis session storage reachable again")
		}
	}
}

func (s *redisStore) get(ctx context.Context, key string) (string, bool, error) {
	addr, err := s.client.GetEx(ctx, s.key(key), s.ttl).Result()
	s.note(err)
	switch {
	case err == nil:
		_ = s.local.set(ctx, key, addr)
		return addr, true, nil
	case errors.Is(err, redis.Nil):
		return "", false, nil
	}
	return s.local.get(ctx, key)
}

func (s *redisStore) set(ctx context.Context, key, addr string) error {
	_ = s.local.set(ctx, key, addr)
	err := s.client.Set(ctx, s.key(key), addr, s.ttl).Err()
	s.note(err)
	if err != nil {
		return fmt.Errorf("store session in redis: %w", err)
	}
	return nil
}

func (s *redisStore) del(ctx context.Context, key string) error {
	_ = s.local.del(ctx, key)
	err := s.client.Del(ctx, s.key(key)).Err()
	s.note(err)
	return err
}
