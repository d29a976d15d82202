package head

import (
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"mytsdb/storage/wal"
)

// stripeCount is the number of lock stripes of the series maps (a power of two).
const stripeCount = 4096

// seriesStripes maps refs and label hashes to series, with lock striping.
type seriesStripes struct {
	byID   [stripeCount]idStripe
	byHash [stripeCount]hashStripe
}

type idStripe struct {
	mu struct {
		sync.RWMutex
		m map[wal.SeriesRef]*memSeries
	}
}

type hashStripe struct {
	mu struct {
		sync.RWMutex
		unique    map[uint64]*memSeries
		conflicts map[uint64][]*memSeries // rare: two label sets with one hash
	}
}

func newSeriesStripes() *seriesStripes {
	return &seriesStripes{}
}

func (ss *seriesStripes) getByID(ref wal.SeriesRef) *memSeries {
	st := &ss.byID[uint64(ref)&(stripeCount-1)]
	st.mu.RLock()
	s := st.mu.m[ref]
	st.mu.RUnlock()
	return s
}

func (hs *hashStripe) getLocked(hash uint64, lset labels.Labels) *memSeries {
	if s := hs.mu.unique[hash]; s != nil && labels.Equal(s.lset, lset) {
		return s
	}
	for _, s := range hs.mu.conflicts[hash] {
		if labels.Equal(s.lset, lset) {
			return s
		}
	}
	return nil
}

func (ss *seriesStripes) getByHash(hash uint64, lset labels.Labels) *memSeries {
	st := &ss.byHash[hash&(stripeCount-1)]
	st.mu.RLock()
	s := st.getLocked(hash, lset)
	st.mu.RUnlock()
	return s
}

// getOrCreate returns the series of lset, creating it with newRef() if absent;
// onCreate runs under the stripe lock, so that garbage collection (which
// takes it) cannot see the series before onCreate indexed it.
func (ss *seriesStripes) getOrCreate(hash uint64, lset labels.Labels, chunkRange int64, newRef func() wal.SeriesRef, onCreate func(*memSeries)) (s *memSeries, created bool) {
	if s := ss.getByHash(hash, lset); s != nil {
		return s, false
	}
	st := &ss.byHash[hash&(stripeCount-1)]
	st.mu.Lock()
	if s := st.getLocked(hash, lset); s != nil {
		st.mu.Unlock()
		return s, false
	}
	s = newMemSeries(newRef(), lset, hash, chunkRange)
	st.setLocked(s)
	ss.setID(s)
	onCreate(s)
	st.mu.Unlock()
	return s, true
}

func (hs *hashStripe) setLocked(s *memSeries) {
	if hs.mu.unique == nil {
		hs.mu.unique = map[uint64]*memSeries{}
	}
	if prev := hs.mu.unique[s.hash]; prev == nil {
		hs.mu.unique[s.hash] = s
		return
	}
	if hs.mu.conflicts == nil {
		hs.mu.conflicts = map[uint64][]*memSeries{}
	}
	hs.mu.conflicts[s.hash] = append(hs.mu.conflicts[s.hash], s)
}

func (hs *hashStripe) deleteLocked(s *memSeries) {
	if hs.mu.unique[s.hash] == s {
		delete(hs.mu.unique, s.hash)
		if c := hs.mu.conflicts[s.hash]; len(c) > 0 {
			hs.mu.unique[s.hash] = c[0]
			if len(c) == 1 {
				delete(hs.mu.conflicts, s.hash)
			} else {
				hs.mu.conflicts[s.hash] = c[1:]
			}
		}
		return
	}
	c := hs.mu.conflicts[s.hash]
	for i, x := range c {
		if x == s {
			c = append(c[:i:i], c[i+1:]...)
			break
		}
	}
	if len(c) == 0 {
		delete(hs.mu.conflicts, s.hash)
	} else {
		hs.mu.conflicts[s.hash] = c
	}
}

func (ss *seriesStripes) setID(s *memSeries) {
	st := &ss.byID[uint64(s.ref)&(stripeCount-1)]
	st.mu.Lock()
	if st.mu.m == nil {
		st.mu.m = map[wal.SeriesRef]*memSeries{}
	}
	st.mu.m[s.ref] = s
	st.mu.Unlock()
}

func (ss *seriesStripes) deleteID(s *memSeries) {
	st := &ss.byID[uint64(s.ref)&(stripeCount-1)]
	st.mu.Lock()
	if st.mu.m[s.ref] == s {
		delete(st.mu.m, s.ref)
	}
	st.mu.Unlock()
}

// forEach calls fn for every series; fn must not take stripe locks.
func (ss *seriesStripes) forEach(fn func(s *memSeries)) {
	var buf []*memSeries
	for i := range ss.byID {
		st := &ss.byID[i]
		st.mu.RLock()
		buf = buf[:0]
		for _, s := range st.mu.m {
			buf = append(buf, s)
		}
		st.mu.RUnlock()
		for _, s := range buf {
			fn(s)
		}
	}
}
