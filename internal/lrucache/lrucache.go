// Package lrucache is a bounded least-recently-used cache of values that
// hold resources: a value is made once per key however many callers miss at
// once, and a value pushed out is released outside the cache's lock, so a
// slow release never stalls other lookups.
//
// It is golang-lru's cache with the one pattern both of the endpoint's
// caches need around it: look up, lock, look up again, make, add, release
// what the addition evicted after unlocking.
package lrucache

import (
	"fmt"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cache holds at most a fixed number of values, least recently used first
// out. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	lru     *lru.Cache[K, V]
	release func(V)

	// mu serialises insertions, so that a key missed twice at once makes
	// one value. evicted collects, under mu, the values an insertion pushed
	// out; they are released once mu is unlocked.
	mu      sync.Mutex
	evicted []V
}

// New returns a cache of at most size values; release, which may be nil,
// is called with each value the cache pushes out.
func New[K comparable, V any](size int, release func(V)) (*Cache[K, V], error) {
	c := &Cache[K, V]{release: release}
	// The callback runs in the goroutine that called Add, after golang-lru
	// has released its own lock, and only Add (under mu) evicts: it only
	// appends.
	l, err := lru.NewWithEvict(size, func(_ K, v V) { c.evicted = append(c.evicted, v) })
	if err != nil {
		return nil, fmt.Errorf("lrucache: %w", err)
	}
	c.lru = l
	return c, nil
}

// Get returns the value of key and marks it recently used.
func (c *Cache[K, V]) Get(key K) (V, bool) { return c.lru.Get(key) }

// GetOrMake returns the value of key, calling build on a miss and keeping
// what it returns. Callers that miss the same key at once get the one value
// the first of them built; build runs under the cache's insertion lock, so it
// should be quick: build anything slow before the call. An error from build
// is returned and nothing is kept.
func (c *Cache[K, V]) GetOrMake(key K, build func() (V, error)) (V, error) {
	if v, ok := c.lru.Get(key); ok {
		return v, nil
	}
	c.mu.Lock()
	if v, ok := c.lru.Get(key); ok { // made meanwhile
		c.mu.Unlock()
		return v, nil
	}
	v, err := build()
	if err != nil {
		c.mu.Unlock()
		return v, err
	}
	c.lru.Add(key, v)
	evicted := c.evicted
	c.evicted = nil
	c.mu.Unlock()
	if c.release != nil {
		for _, old := range evicted {
			c.release(old)
		}
	}
	return v, nil
}

// Len returns how many values the cache holds.
func (c *Cache[K, V]) Len() int { return c.lru.Len() }

// Contains reports whether the cache holds a value for key, without marking
// it recently used.
func (c *Cache[K, V]) Contains(key K) bool { return c.lru.Contains(key) }
