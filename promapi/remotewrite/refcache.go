package remotewrite

import (
	"errors"
	"hash/maphash"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// refCacheShards spreads the cache over independently locked maps so that
// concurrent requests rarely wait for each other.
const refCacheShards = 64

// refCache maps the hash of a series' label pairs, as the sender wrote them,
// to the labels built for them and the series ref the storage returned. A hit
// lets a repeat series skip building labels and lets the storage skip its
// label lookup. Entries are verified against the request's pairs, so a hash
// collision only costs a miss. One cache serves one tenant.
type refCache struct {
	maxPerShard int
	shards      [refCacheShards]refCacheShard
}

type refCacheShard struct {
	mu sync.RWMutex
	m  map[uint64]refEntry
	_  [40]byte // keep shards on separate cache lines
}

type refEntry struct {
	ref  storage.SeriesRef
	lset labels.Labels
}

// newRefCache returns a cache bounded to about size entries. A shard that
// fills up is emptied (cheap, and the storage still knows every series).
func newRefCache(size int) *refCache {
	c := &refCache{maxPerShard: max(1, size/refCacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]refEntry)
	}
	return c
}

func (c *refCache) get(h uint64) (refEntry, bool) {
	s := &c.shards[h%refCacheShards]
	s.mu.RLock()
	e, ok := s.m[h]
	s.mu.RUnlock()
	return e, ok
}

func (c *refCache) put(h uint64, e refEntry) {
	s := &c.shards[h%refCacheShards]
	s.mu.Lock()
	if len(s.m) >= c.maxPerShard {
		if _, ok := s.m[h]; !ok {
			clear(s.m)
		}
	}
	s.m[h] = e
	s.mu.Unlock()
}

func (c *refCache) drop(h uint64) {
	s := &c.shards[h%refCacheShards]
	s.mu.Lock()
	delete(s.m, h)
	s.mu.Unlock()
}

func (c *refCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// seriesKey encodes label pairs, in the order given, into buf the way the
// default (stringlabels) labels.Labels lays out its data: each string
// prefixed by its length, one byte below 255, else 0xff and three bytes
// little-endian. Sorted pairs thus give exactly the bytes of their Labels,
// which makes verifying a cache hit one memory comparison.
func seriesKey(buf []byte, pairs []bytesLabel) []byte {
	b := buf[:0]
	for _, p := range pairs {
		b = appendSize(b, len(p.name))
		b = append(b, p.name...)
		b = appendSize(b, len(p.value))
		b = append(b, p.value...)
	}
	return b
}

func appendSize(b []byte, n int) []byte {
	if n < 255 {
		return append(b, byte(n))
	}
	return append(b, 0xff, byte(n), byte(n>>8), byte(n>>16))
}

// hashKey hashes a seriesKey.
func hashKey(seed maphash.Seed, key []byte) uint64 { return maphash.Bytes(seed, key) }

var errMismatch = errors.New("mismatch")

// equalPairs reports whether ls holds exactly pairs, in the same order.
func equalPairs(ls labels.Labels, pairs []bytesLabel) bool {
	k := 0
	err := ls.Validate(func(l labels.Label) error {
		if k >= len(pairs) || pairs[k].name != l.Name || pairs[k].value != l.Value {
			return errMismatch
		}
		k++
		return nil
	})
	return err == nil && k == len(pairs)
}
