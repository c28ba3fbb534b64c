package authn

import (
	"container/list"
	"sync"
	"time"
)

// maxCachedTokens bounds the token cache: enough for every client of a busy
// server, few enough (a few MiB) that a flood of valid tokens cannot grow
// the proxy without end.
const maxCachedTokens = 10_000

// tokenCache remembers the identities of checked tokens, by the token's
// SHA-256, until they expire. When full it forgets the oldest entry, which
// is also about the first to expire.
type tokenCache struct {
	mu      sync.Mutex
	max     int
	entries map[[32]byte]*list.Element
	order   *list.List // of *cacheEntry, oldest first
}

type cacheEntry struct {
	key   [32]byte
	id    *Identity
	until time.Time
}

func newTokenCache(maxEntries int) *tokenCache {
	return &tokenCache{max: maxEntries, entries: make(map[[32]byte]*list.Element), order: list.New()}
}

// get is the identity cached for key, or nil.
func (c *tokenCache) get(key [32]byte, now time.Time) *Identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.until) {
		c.remove(el)
		return nil
	}
	return e.id
}

// put caches id for key until the given time (if that is still ahead),
// dropping the expired entries at the front on the way.
func (c *tokenCache) put(key [32]byte, id *Identity, until, now time.Time) {
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
	for front := c.order.Front(); front != nil && !now.Before(front.Value.(*cacheEntry).until); front = c.order.Front() {
		c.remove(front)
	}
	for c.order.Len() >= c.max {
		c.remove(c.order.Front())
	}
	c.entries[key] = c.order.PushBack(&cacheEntry{key: key, id: id, until: until})
}

func (c *tokenCache) remove(el *list.Element) {
	delete(c.entries, c.order.Remove(el).(*cacheEntry).key)
}

func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
