package remotewrite

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"
)

// TestRefCacheModel compares the table with a Go map (the reference model)
// under random puts, updates and gets, across growth and the clear-when-full
// bound. Hashes are drawn from a small range of lane a with varying tags, so
// that probing, same-slot different-tag entries and wrap-around all occur.
func TestRefCacheModel(t *testing.T) {
	for _, size := range []int{64, 1000, 1 << 14} {
		rng := rand.New(rand.NewPCG(uint64(size), 7))
		c := newRefCache(size)
		model := map[seriesHash]storage.SeriesRef{}
		randHash := func() seriesHash {
			return seriesHash{a: rng.Uint64N(uint64(size) * 4), b: rng.Uint64N(4) << 60}
		}
		for range 200_000 {
			h := randHash()
			if rng.IntN(3) == 0 {
				ref := storage.SeriesRef(1 + rng.Uint64N(refMask))
				if c.len() >= size/refCacheShards*refCacheShards {
					model = map[seriesHash]storage.SeriesRef{} // cleared shards are not modelled: restart
					c = newRefCache(size)
				}
				c.put(h, ref)
				model[h] = ref
				continue
			}
			ref, ok := c.get(h)
			want, wok := model[h]
			if wok && ok {
				require.Equal(t, want, ref)
			}
			if !wok {
				require.False(t, ok, "hit on an absent key %v", h)
			}
		}
		require.LessOrEqual(t, c.len(), size)
	}
}

// TestRefCacheExact checks the cases the model test may leave out: a shard
// filling up is emptied, entries are updated in place, refs too wide are
// not cached, and keys differing only in lane b's tag bits are told apart.
func TestRefCacheExact(t *testing.T) {
	c := newRefCache(128)
	for i := range uint64(10000) {
		c.put(seriesHash{a: i, b: i << 50}, 1)
	}
	require.LessOrEqual(t, c.len(), 128)
	h := seriesHash{a: 7 << 32, b: 1 << 63}
	c.put(h, 9)
	ref, ok := c.get(h)
	require.True(t, ok)
	require.EqualValues(t, 9, ref)
	c.put(h, 10)
	ref, _ = c.get(h)
	require.EqualValues(t, 10, ref)
	_, ok = c.get(seriesHash{a: h.a, b: 1 << 62})
	require.False(t, ok, "same lane a, other tag")
	_, ok = c.get(seriesHash{a: h.a, b: 1<<63 | 1<<39})
	require.True(t, ok, "bits of lane b below the tag are not part of the key")
	c.put(seriesHash{a: 1}, refMask+1)
	_, ok = c.get(seriesHash{a: 1})
	require.False(t, ok)
	c.put(seriesHash{a: 2}, 0)
	_, ok = c.get(seriesHash{a: 2})
	require.False(t, ok)
}

// TestRefCacheConcurrent runs lock-free readers against writers (for the race
// detector) and checks a reader never sees a ref that was not put for its key.
func TestRefCacheConcurrent(t *testing.T) {
	c := newRefCache(1 << 12)
	refOf := func(a uint64) storage.SeriesRef { return storage.SeriesRef(a*3 + 1) }
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range uint64(20000) {
				a := i*2 + uint64(w)
				c.put(seriesHash{a: a * 0x9e3779b97f4a7c15, b: a << 40}, refOf(a))
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for i := range uint64(40000) {
				if ref, ok := c.get(seriesHash{a: i * 0x9e3779b97f4a7c15, b: i << 40}); ok && ref != refOf(i) {
					t.Errorf("key %d: ref %d", i, ref)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestSeriesHashes checks that the hashes tell apart what must be told apart
// (order, pair boundaries, lengths) and agree on what is the same.
func TestSeriesHashes(t *testing.T) {
	seeds := newHashSeeds()
	syms := []string{"", "a", "b", "ab", "__name__", strings.Repeat("y", 255), strings.Repeat("y", 256)}
	sh := make([]seriesHash, len(syms))
	for i, s := range syms {
		sh[i] = symbolHash(seeds, s)
	}
	seen := map[seriesHash][]uint32{}
	var walk func(refs []uint32)
	walk = func(refs []uint32) {
		if len(refs)%2 == 0 {
			h, ok := hashSymbols(refs, sh)
			require.True(t, ok)
			prev, dup := seen[h]
			require.False(t, dup, "%v and %v", prev, refs)
			seen[h] = append([]uint32(nil), refs...)
			h2, _ := hashSymbols(append([]uint32(nil), refs...), sh)
			require.Equal(t, h, h2)
		}
		if len(refs) == 4 {
			return
		}
		for i := range syms {
			walk(append(refs, uint32(i)))
		}
	}
	walk(nil)
	_, ok := hashSymbols([]uint32{1}, sh)
	require.False(t, ok)
	_, ok = hashSymbols([]uint32{1, uint32(len(sh))}, sh)
	require.False(t, ok)

	// 1.0 keys: the length prefixes keep pair boundaries apart.
	k1 := seriesKey(nil, []bytesLabel{{"a", "bc"}})
	k2 := seriesKey(nil, []bytesLabel{{"ab", "c"}})
	require.NotEqual(t, hashKey128(seeds, k1), hashKey128(seeds, k2))
	require.Equal(t, hashKey128(seeds, k1), hashKey128(seeds, seriesKey(nil, []bytesLabel{{"a", "bc"}})))
}

// TestMetadataEmpty checks the fast emptiness test against toMetadata.
func TestMetadataEmpty(t *testing.T) {
	syms := []string{"", "s"}
	for typ := int32(-1); typ <= 9; typ++ {
		for unit := range uint32(2) {
			for help := range uint32(2) {
				m := v2Metadata{typ: typ, unitRef: unit, helpRef: help}
				md, err := toMetadata(m, syms, false)
				require.NoError(t, err)
				require.NoError(t, checkMetadata(m, syms))
				require.Equal(t, md.IsEmpty(), metadataEmpty(m, syms), "%+v", m)
			}
		}
	}
	m := v2Metadata{unitRef: 2}
	_, want := toMetadata(m, syms, false)
	require.EqualError(t, checkMetadata(m, syms), want.Error())
}
