package head

import (
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"mytsdb/storage/wal"
)

// stripeCount is the number of lock stripes of the series maps (a power of two).
const stripeCount = 4096

// seriesStripes maps refs (a lock-free table) and label hashes (lock
// striping) to series.
type seriesStripes struct {
	byID   *refTable
	byHash [stripeCount]hashStripe
}

type hashStripe struct {
	mu struct {
		sync.RWMutex
		unique    map[uint64]*memSeries
		conflicts map[uint64][]*memSeries // rare: two label sets with one hash
	}
}

func newSeriesStripes() *seriesStripes {
	return &seriesStripes{byID: newRefTable()}
}

func (ss *seriesStripes) getByID(ref wal.SeriesRef) *memSeries { return ss.byID.get(ref) }

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
func (ss *seriesStripes) getOrCreate(hash uint64, lset labels.Labels, newRef func() wal.SeriesRef, onCreate func(*memSeries)) (s *memSeries, created bool) {
	if s := ss.getByHash(hash, lset); s != nil {
		return s, false
	}
	st := &ss.byHash[hash&(stripeCount-1)]
	st.mu.Lock()
	if s := st.getLocked(hash, lset); s != nil {
		st.mu.Unlock()
		return s, false
	}
	s = newMemSeries(newRef(), lset)
	st.setLocked(s, hash)
	ss.setID(s)
	onCreate(s)
	st.mu.Unlock()
	return s, true
}

func (hs *hashStripe) setLocked(s *memSeries, hash uint64) {
	if hs.mu.unique == nil {
		hs.mu.unique = map[uint64]*memSeries{}
	}
	if prev := hs.mu.unique[hash]; prev == nil {
		hs.mu.unique[hash] = s
		return
	}
	if hs.mu.conflicts == nil {
		hs.mu.conflicts = map[uint64][]*memSeries{}
	}
	hs.mu.conflicts[hash] = append(hs.mu.conflicts[hash], s)
}

// deleteLocked removes s; its hash is computed again (series keep no copy:
// garbage collection is rare, memory per series is not).
func (hs *hashStripe) deleteLocked(s *memSeries) {
	hash := s.lset.Hash()
	if hs.mu.unique[hash] == s {
		delete(hs.mu.unique, hash)
		if c := hs.mu.conflicts[hash]; len(c) > 0 {
			hs.mu.unique[hash] = c[0]
			if len(c) == 1 {
				delete(hs.mu.conflicts, hash)
			} else {
				hs.mu.conflicts[hash] = c[1:]
			}
		}
		return
	}
	c := hs.mu.conflicts[hash]
	for i, x := range c {
		if x == s {
			c = append(c[:i:i], c[i+1:]...)
			break
		}
	}
	if len(c) == 0 {
		delete(hs.mu.conflicts, hash)
	} else {
		hs.mu.conflicts[hash] = c
	}
}

func (ss *seriesStripes) setID(s *memSeries) { ss.byID.set(s) }

func (ss *seriesStripes) deleteID(s *memSeries) { ss.byID.delete(s) }

// forEach calls fn for every series, in ref order; fn must not take stripe locks.
func (ss *seriesStripes) forEach(fn func(s *memSeries)) { ss.byID.forEach(fn) }
