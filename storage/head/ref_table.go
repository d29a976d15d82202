package head

import (
	"sync"
	"sync/atomic"

	"mytsdb/storage/wal"
)

// refTable maps series refs to series. Refs are handed out densely (one
// counter), so it is a two-level array rather than a hash map: a lookup is
// two atomic loads and no lock, which matters on the append path (one lookup
// per sample with cached refs). Pages are allocated on first use and freed
// once every series in them is gone. Refs too large for the array (only a
// damaged or foreign WAL could bring them) live in a map.
type refTable struct {
	dir atomic.Pointer[[]atomic.Pointer[refPage]] // grown by copying, under mu

	mu struct {
		sync.Mutex
		big map[wal.SeriesRef]*memSeries // refs ≥ maxTableRef
	}
	bigN atomic.Int64 // len(mu.big), to skip the lock when 0
}

const (
	refPageBits = 12
	refPageSize = 1 << refPageBits
	// maxTableRef bounds the array (its directory then takes 8 MiB).
	maxTableRef = 1 << 32
)

type refPage struct {
	slots [refPageSize]atomic.Pointer[memSeries]
	live  int // non-nil slots; guarded by refTable.mu
}

func newRefTable() *refTable {
	t := &refTable{}
	dir := make([]atomic.Pointer[refPage], 0)
	t.dir.Store(&dir)
	return t
}

// get returns the series of ref, nil if there is none.
func (t *refTable) get(ref wal.SeriesRef) *memSeries {
	if ref >= maxTableRef {
		if t.bigN.Load() == 0 {
			return nil
		}
		t.mu.Lock()
		s := t.mu.big[ref]
		t.mu.Unlock()
		return s
	}
	dir := *t.dir.Load()
	i := uint64(ref) >> refPageBits
	if i >= uint64(len(dir)) {
		return nil
	}
	p := dir[i].Load()
	if p == nil {
		return nil
	}
	return p.slots[ref&(refPageSize-1)].Load()
}

// set stores s under s.ref (replacing any series there).
func (t *refTable) set(s *memSeries) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ref := s.ref
	if ref >= maxTableRef {
		if t.mu.big == nil {
			t.mu.big = map[wal.SeriesRef]*memSeries{}
		}
		t.mu.big[ref] = s
		t.bigN.Store(int64(len(t.mu.big)))
		return
	}
	i := uint64(ref) >> refPageBits
	dir := *t.dir.Load()
	if i >= uint64(len(dir)) {
		nd := make([]atomic.Pointer[refPage], max(2*len(dir), int(i)+1, 16))
		for j := range dir {
			nd[j].Store(dir[j].Load())
		}
		t.dir.Store(&nd)
		dir = nd
	}
	p := dir[i].Load()
	if p == nil {
		p = &refPage{}
		dir[i].Store(p)
	}
	slot := &p.slots[ref&(refPageSize-1)]
	if slot.Load() == nil {
		p.live++
	}
	slot.Store(s)
}

// delete removes s if it is still the series stored under s.ref.
func (t *refTable) delete(s *memSeries) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ref := s.ref
	if ref >= maxTableRef {
		if t.mu.big[ref] == s {
			delete(t.mu.big, ref)
			t.bigN.Store(int64(len(t.mu.big)))
		}
		return
	}
	dir := *t.dir.Load()
	i := uint64(ref) >> refPageBits
	if i >= uint64(len(dir)) {
		return
	}
	p := dir[i].Load()
	if p == nil {
		return
	}
	slot := &p.slots[ref&(refPageSize-1)]
	if slot.Load() != s {
		return
	}
	slot.Store(nil)
	if p.live--; p.live == 0 {
		dir[i].Store(nil)
	}
}

// forEach calls fn for every series, in ref order (the large refs last, in
// no order). Series added or removed meanwhile may or may not be seen.
func (t *refTable) forEach(fn func(s *memSeries)) {
	dir := *t.dir.Load()
	for i := range dir {
		p := dir[i].Load()
		if p == nil {
			continue
		}
		for j := range p.slots {
			if s := p.slots[j].Load(); s != nil {
				fn(s)
			}
		}
	}
	if t.bigN.Load() == 0 {
		return
	}
	t.mu.Lock()
	big := make([]*memSeries, 0, len(t.mu.big))
	for _, s := range t.mu.big {
		big = append(big, s)
	}
	t.mu.Unlock()
	for _, s := range big {
		fn(s)
	}
}
