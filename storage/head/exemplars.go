package head

import (
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"mytsdb/storage/wal"
)

const noExemplar = -1

// exemplarStore is a bounded circular buffer of exemplars shared by all
// series, with a per-series linked list (oldest → newest), like Prometheus's
// CircularExemplarStorage. Capacity 0 disables it.
type exemplarStore struct {
	mu struct {
		sync.RWMutex
		ring  []exEntry
		next  int // slot to write next
		count int
		index map[wal.SeriesRef]*exSeries
	}
}

type exEntry struct {
	ref  wal.SeriesRef
	e    exemplar.Exemplar
	next int
}

type exSeries struct {
	lset           labels.Labels
	oldest, newest int
}

func newExemplarStore(capacity int) *exemplarStore {
	es := &exemplarStore{}
	es.mu.ring = make([]exEntry, capacity)
	es.mu.index = map[wal.SeriesRef]*exSeries{}
	return es
}

func (es *exemplarStore) len() int {
	es.mu.RLock()
	defer es.mu.RUnlock()
	return es.mu.count
}

func (es *exemplarStore) capacity() int { return len(es.mu.ring) }

func (es *exemplarStore) enabled() bool { return len(es.mu.ring) > 0 }

// validate checks e against the newest exemplar of the series, with
// Prometheus's rules and errors.
func (es *exemplarStore) validate(ref wal.SeriesRef, e exemplar.Exemplar) error {
	if !es.enabled() {
		return storage.ErrExemplarsDisabled
	}
	n := 0
	var err error
	e.Labels.Range(func(l labels.Label) {
		n += utf8.RuneCountInString(l.Name) + utf8.RuneCountInString(l.Value)
		if n > exemplar.ExemplarMaxLabelSetLength {
			err = storage.ErrExemplarLabelLength
		}
	})
	if err != nil {
		return err
	}
	es.mu.RLock()
	defer es.mu.RUnlock()
	return es.validateRLocked(ref, e)
}

func (es *exemplarStore) validateRLocked(ref wal.SeriesRef, e exemplar.Exemplar) error {
	idx := es.mu.index[ref]
	if idx == nil {
		return nil
	}
	newest := es.mu.ring[idx.newest].e
	if newest.Equals(e) {
		return storage.ErrDuplicateExemplar
	}
	if e.Ts < newest.Ts ||
		(e.Ts == newest.Ts && e.Value < newest.Value) ||
		(e.Ts == newest.Ts && e.Value == newest.Value && e.Labels.Hash() < newest.Labels.Hash()) {
		return storage.ErrOutOfOrderExemplar
	}
	return nil
}

// add stores e for the series (lset are its labels); invalid exemplars are
// ignored and reported.
func (es *exemplarStore) add(ref wal.SeriesRef, lset labels.Labels, e exemplar.Exemplar) error {
	if !es.enabled() {
		return storage.ErrExemplarsDisabled
	}
	es.mu.Lock()
	defer es.mu.Unlock()
	if err := es.validateRLocked(ref, e); err != nil {
		return err
	}
	slot := es.mu.next
	if old := &es.mu.ring[slot]; es.mu.count == len(es.mu.ring) {
		// Evict the oldest exemplar of its series.
		if idx := es.mu.index[old.ref]; idx != nil {
			if old.next == noExemplar {
				delete(es.mu.index, old.ref)
			} else {
				idx.oldest = old.next
			}
		}
	} else {
		es.mu.count++
	}
	es.mu.ring[slot] = exEntry{ref: ref, e: e, next: noExemplar}
	if idx := es.mu.index[ref]; idx != nil {
		es.mu.ring[idx.newest].next = slot
		idx.newest = slot
	} else {
		es.mu.index[ref] = &exSeries{lset: lset, oldest: slot, newest: slot}
	}
	es.mu.next = (slot + 1) % len(es.mu.ring)
	return nil
}

// forSeries calls fn with every exemplar of ref, oldest first.
func (es *exemplarStore) forSeries(ref wal.SeriesRef, fn func(e exemplar.Exemplar)) {
	es.mu.RLock()
	defer es.mu.RUnlock()
	idx := es.mu.index[ref]
	if idx == nil {
		return
	}
	for i := idx.oldest; i != noExemplar; i = es.mu.ring[i].next {
		fn(es.mu.ring[i].e)
	}
}

// selectExemplars implements storage.ExemplarQuerier.Select.
func (es *exemplarStore) selectExemplars(start, end int64, matchers ...[]*labels.Matcher) []exemplar.QueryResult {
	ret := make([]exemplar.QueryResult, 0)
	es.mu.RLock()
	defer es.mu.RUnlock()
	for _, idx := range es.mu.index {
		if es.mu.ring[idx.oldest].e.Ts > end || es.mu.ring[idx.newest].e.Ts < start {
			continue
		}
		if !matchesSomeSet(idx.lset, matchers) {
			continue
		}
		qr := exemplar.QueryResult{SeriesLabels: idx.lset}
		for i := idx.oldest; i != noExemplar; i = es.mu.ring[i].next {
			e := es.mu.ring[i].e
			if e.Ts > end {
				break
			}
			if e.Ts >= start {
				qr.Exemplars = append(qr.Exemplars, e)
			}
		}
		if len(qr.Exemplars) > 0 {
			ret = append(ret, qr)
		}
	}
	slices.SortFunc(ret, func(a, b exemplar.QueryResult) int { return labels.Compare(a.SeriesLabels, b.SeriesLabels) })
	return ret
}

func matchesSomeSet(lset labels.Labels, sets [][]*labels.Matcher) bool {
Sets:
	for _, ms := range sets {
		for _, m := range ms {
			if !m.Matches(lset.Get(m.Name)) {
				continue Sets
			}
		}
		return true
	}
	return false
}

// exemplarQuerier implements storage.ExemplarQuerier over the head.
type exemplarQuerier struct{ es *exemplarStore }

func (q exemplarQuerier) Select(start, end int64, matchers ...[]*labels.Matcher) ([]exemplar.QueryResult, error) {
	return q.es.selectExemplars(start, end, matchers...), nil
}
