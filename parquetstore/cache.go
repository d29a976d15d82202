package parquetstore

import (
	"container/list"
	"sync"
)

// cacheKey names one cached thing of an object: a piece of its bytes
// (kindPiece, n is the piece), its decoded series table or footer, or the
// decoded values of one page (kindPage: row group rg, column col, page n).
type cacheKey struct {
	object  string
	kind    int8
	rg, col int32
	n       int64
}

const (
	kindPiece int8 = iota
	kindSeriesTable
	kindFile
	kindPage
)

// cache is a bounded LRU of object pieces and decoded footers and series
// tables, shared by every block of a Store. Sizes are estimates for the
// decoded structures and exact for pieces.
type cache struct {
	mu struct {
		sync.Mutex
		max, used int64
		lru       *list.List // front is most recent; values are *cacheEntry
		byKey     map[cacheKey]*list.Element
	}
	metrics *metrics
}

type cacheEntry struct {
	key  cacheKey
	val  any
	size int64
}

func newCache(maxBytes int64, m *metrics) *cache {
	c := &cache{metrics: m}
	c.mu.max = maxBytes
	c.mu.lru = list.New()
	c.mu.byKey = map[cacheKey]*list.Element{}
	return c
}

func (c *cache) get(k cacheKey) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.mu.byKey[k]
	if !ok {
		c.metrics.cacheMisses.Inc()
		return nil, false
	}
	c.metrics.cacheHits.Inc()
	c.mu.lru.MoveToFront(e)
	return e.Value.(*cacheEntry).val, true
}

// contains reports whether k is cached, without counting a lookup.
func (c *cache) contains(k cacheKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.mu.byKey[k]
	return ok
}

// put adds v; a value larger than the whole cache is not kept.
func (c *cache) put(k cacheKey, v any, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.mu.byKey[k]; ok {
		ce := e.Value.(*cacheEntry)
		c.mu.used += size - ce.size
		ce.val, ce.size = v, size
		c.mu.lru.MoveToFront(e)
	} else {
		if size > c.mu.max {
			return
		}
		c.mu.byKey[k] = c.mu.lru.PushFront(&cacheEntry{key: k, val: v, size: size})
		c.mu.used += size
	}
	for c.mu.used > c.mu.max && c.mu.lru.Len() > 0 {
		e := c.mu.lru.Back()
		ce := e.Value.(*cacheEntry)
		c.mu.lru.Remove(e)
		delete(c.mu.byKey, ce.key)
		c.mu.used -= ce.size
	}
	c.metrics.cacheBytes.Set(float64(c.mu.used))
}

// dropObject forgets everything cached of the objects under prefix (a
// deleted or replaced block).
func (c *cache) dropPrefix(prefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.mu.byKey {
		if len(k.object) >= len(prefix) && k.object[:len(prefix)] == prefix {
			c.mu.used -= e.Value.(*cacheEntry).size
			c.mu.lru.Remove(e)
			delete(c.mu.byKey, k)
		}
	}
	c.metrics.cacheBytes.Set(float64(c.mu.used))
}
