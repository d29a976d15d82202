package remotewrite

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/storage"
)

// refCacheShards spreads the cache over independently locked tables so that
// concurrent writers rarely wait for each other (readers take no lock).
const refCacheShards = 64

const (
	// refBits is the width of a cached series ref; larger refs are not
	// cached (the head's refs are a counter: they never get there).
	refBits = 40
	refMask = 1<<refBits - 1
	// maxLoadNum/maxLoadDen is the fill at which a table grows by half.
	maxLoadNum, maxLoadDen = 17, 20
	minTableSlots          = 64
)

// seriesHash is a 128-bit hash of a series' label pairs as the sender wrote
// them (see hashSymbols and hashKey128): two independently seeded 64-bit lanes.
type seriesHash struct{ a, b uint64 }

// refCache maps the seriesHash of a series to the ref the storage returned for
// it. A hit lets a repeat series skip resolving and building its labels and
// the storage skip its label lookup. One cache serves one tenant.
//
// It keeps no labels, so a hit cannot be verified against them: an entry is
// keyed by 88 of the 128 hash bits (lane a in full, the top 24 bits of lane
// b), and a false hit needs two different series to agree on all 88. With a
// million cached series that chance is about 2^-68 per lookup of a new series.
// Keying by the pair sequence (not the sorted labels) is sound because the
// labels built from a sequence are a function of it, and only sequences whose
// labels passed validation and were appended are cached.
//
// Each shard is an open-addressing table (linear probing) of 16-byte slots
// {key a, tag<<40 | ref}, pointer-free so that the GC never scans it. Reads
// are lock-free: a slot's words are written key first, then the tag/ref word
// (which is never zero once used), and a slot is never reused for another key
// within a table; growing and clearing publish a new table. A reader of an
// outdated table sees a miss or a stale ref, which the storage refuses and
// the receiver retries with labels.
type refCache struct {
	maxPerShard int
	shards      [refCacheShards]refShard
}

type refShard struct {
	mu  sync.Mutex // serializes writers
	tab atomic.Pointer[refTable]
	_   [48]byte // keep shards on separate cache lines
}

type refTable struct {
	slots []atomic.Uint64 // 2 words per slot: key a, then tag<<refBits | ref (0: empty)
	used  int             // guarded by refShard.mu
}

func newRefTable(slots int) *refTable {
	return &refTable{slots: make([]atomic.Uint64, 2*slots)}
}

// newRefCache returns a cache bounded to about size entries. A shard that
// fills up is emptied (cheap, and the storage still knows every series).
func newRefCache(size int) *refCache {
	return &refCache{maxPerShard: max(1, size/refCacheShards)}
}

func (h seriesHash) shard() int  { return int(h.a % refCacheShards) }
func (h seriesHash) tag() uint64 { return h.b &^ refMask }

// home is the first slot probed for h in a table of n slots.
func (h seriesHash) home(n int) int {
	hi, _ := bits.Mul64(h.a, uint64(n))
	return int(hi)
}

func (c *refCache) get(h seriesHash) (storage.SeriesRef, bool) {
	t := c.shards[h.shard()].tab.Load()
	if t == nil {
		return 0, false
	}
	n := len(t.slots) / 2
	tag := h.tag()
	for i := h.home(n); ; {
		w := t.slots[2*i+1].Load()
		if w == 0 {
			return 0, false
		}
		if w&^refMask == tag && t.slots[2*i].Load() == h.a {
			return storage.SeriesRef(w & refMask), true
		}
		if i++; i == n {
			i = 0
		}
	}
}

// getAll sets the ref of every hashed entry (0 on a miss). Looking up a
// whole request in a loop of its own, apart from hashing and appending, lets
// the CPU keep many of these cache misses in flight at once.
func (c *refCache) getAll(es []cacheEntry) {
	for i := range es {
		e := &es[i]
		e.ref = 0
		if e.hashed {
			e.ref, _ = c.get(e.hash)
		}
	}
}

func (c *refCache) put(h seriesHash, ref storage.SeriesRef) {
	if ref == 0 || uint64(ref) > refMask {
		return
	}
	s := &c.shards[h.shard()]
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tab.Load()
	if t == nil {
		t = newRefTable(min(minTableSlots, c.maxSlots()))
		s.tab.Store(t)
	}
	w := h.tag() | uint64(ref)
	if i, found := t.find(h); found {
		t.slots[2*i+1].Store(w)
		return
	}
	if t.used >= c.maxPerShard {
		t = newRefTable(min(minTableSlots, c.maxSlots()))
		s.tab.Store(t)
	} else if (t.used+1)*maxLoadDen > len(t.slots)/2*maxLoadNum {
		t = t.grown(min(len(t.slots)/2*3/2, c.maxSlots()))
		s.tab.Store(t)
	}
	i, _ := t.find(h)
	t.slots[2*i].Store(h.a)
	t.slots[2*i+1].Store(w)
	t.used++
}

// maxSlots is the table size that holds maxPerShard entries at the maximum
// load.
func (c *refCache) maxSlots() int {
	return c.maxPerShard*maxLoadDen/maxLoadNum + 2
}

// find returns the slot of h, or the empty slot where it belongs.
func (t *refTable) find(h seriesHash) (int, bool) {
	n := len(t.slots) / 2
	tag := h.tag()
	for i := h.home(n); ; {
		w := t.slots[2*i+1].Load()
		if w == 0 {
			return i, false
		}
		if w&^refMask == tag && t.slots[2*i].Load() == h.a {
			return i, true
		}
		if i++; i == n {
			i = 0
		}
	}
}

// grown returns a copy of t with n slots (not yet published, so plain
// placement is safe).
func (t *refTable) grown(n int) *refTable {
	g := newRefTable(n)
	for i := 0; i < len(t.slots); i += 2 {
		w := t.slots[i+1].Load()
		if w == 0 {
			continue
		}
		a := t.slots[i].Load()
		j, _ := g.find(seriesHash{a: a, b: w &^ refMask})
		g.slots[2*j].Store(a)
		g.slots[2*j+1].Store(w)
	}
	g.used = t.used
	return g
}

func (c *refCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		if t := s.tab.Load(); t != nil {
			n += t.used
		}
		s.mu.Unlock()
	}
	return n
}

// seriesKey encodes label pairs, in the order given, into buf: each string
// prefixed by its length, one byte below 255, else 0xff and three bytes
// little-endian (the layout of stringlabels' Labels), so that the encoding
// is unambiguous.
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

// hashSeeds are the two lanes' seeds of a handler.
type hashSeeds struct{ a, b maphash.Seed }

func newHashSeeds() hashSeeds { return hashSeeds{maphash.MakeSeed(), maphash.MakeSeed()} }

// hashKey128 hashes a seriesKey (1.0 requests). Its values live in another
// domain than hashSymbols' (a series sent by both protocols gets two
// entries); a cross-domain false hit is as unlikely as any other.
func hashKey128(s hashSeeds, key []byte) seriesHash {
	return seriesHash{maphash.Bytes(s.a, key), maphash.Bytes(s.b, key)}
}

// symbolHash hashes one 2.0 symbol with both lanes.
func symbolHash(s hashSeeds, sym string) seriesHash {
	return seriesHash{maphash.String(s.a, sym), maphash.String(s.b, sym)}
}

// Multipliers of the lane mixes (splitmix64's and a golden-ratio constant).
const (
	mulA = 0x9e3779b97f4a7c15
	mulB = 0xbf58476d1ce4e5b9
	mulC = 0x94d049bb133111eb
)

// mix is a bijection of 64-bit values.
func mix(v, m uint64) uint64 {
	v *= m
	return v ^ v>>29
}

// hashSymbols hashes a 2.0 series from the hashes of the symbols its label
// refs name, in order: each lane folds the symbols' independently seeded
// lane hashes through a bijective mix, so two different sequences agree on
// a lane only by chance (2^-64), and on both lanes with the product of those
// chances. ok is false when refs are odd in number or name a symbol out of
// range (resolve then gives the error).
func hashSymbols(refs []uint32, syms []seriesHash) (h seriesHash, ok bool) {
	if len(refs)%2 != 0 {
		return h, false
	}
	a, b := uint64(len(refs))*mulC, ^uint64(len(refs))*mulA
	for _, r := range refs {
		if int(r) >= len(syms) {
			return h, false
		}
		x := &syms[r]
		a = mix(a^x.a, mulA)
		b = mix(b^x.b, mulB)
	}
	return seriesHash{mix(a, mulC), mix(b, mulC)}, true
}
