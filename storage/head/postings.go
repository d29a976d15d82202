package head

import (
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"mytsdb/storage/wal"
)

// postingsIndex maps label name → value → sorted series refs, plus the list
// of all refs. Lists are mutated in place under mu; readers copy what they keep.
type postingsIndex struct {
	mu struct {
		sync.RWMutex
		names map[string]*labelValues
		all   []wal.SeriesRef
	}
}

type labelValues struct {
	vals map[string][]wal.SeriesRef
	// sorted caches the sorted keys of vals; nil when stale. Guarded by sortMu
	// for readers (who build it under the index read lock) and reset by writers.
	sortMu sync.Mutex
	sorted []string
}

func newPostingsIndex() *postingsIndex {
	p := &postingsIndex{}
	p.mu.names = map[string]*labelValues{}
	return p
}

func insertRef(list []wal.SeriesRef, ref wal.SeriesRef) []wal.SeriesRef {
	n := len(list)
	if n == 0 || list[n-1] < ref {
		return append(list, ref)
	}
	i, found := slices.BinarySearch(list, ref)
	if found {
		return list
	}
	return slices.Insert(list, i, ref)
}

// add indexes a new series.
func (p *postingsIndex) add(ref wal.SeriesRef, lset labels.Labels) {
	p.mu.Lock()
	p.mu.all = insertRef(p.mu.all, ref)
	lset.Range(func(l labels.Label) {
		lv := p.mu.names[l.Name]
		if lv == nil {
			lv = &labelValues{vals: map[string][]wal.SeriesRef{}}
			p.mu.names[strings.Clone(l.Name)] = lv
		}
		list, ok := lv.vals[l.Value]
		if !ok {
			lv.sortMu.Lock()
			lv.sorted = nil
			lv.sortMu.Unlock()
			lv.vals[strings.Clone(l.Value)] = append(make([]wal.SeriesRef, 0, 1), ref)
			return
		}
		lv.vals[l.Value] = insertRef(list, ref)
	})
	p.mu.Unlock()
}

// remove drops the given series (a batch, for GC) from every list.
func (p *postingsIndex) remove(dead []*memSeries) {
	if len(dead) == 0 {
		return
	}
	deadRefs := make(map[wal.SeriesRef]struct{}, len(dead))
	type key struct{ n, v string }
	touched := map[key]struct{}{}
	for _, s := range dead {
		deadRefs[s.ref] = struct{}{}
		s.lset.Range(func(l labels.Label) { touched[key{l.Name, l.Value}] = struct{}{} })
	}
	keep := func(list []wal.SeriesRef) []wal.SeriesRef {
		out := list[:0]
		for _, r := range list {
			if _, ok := deadRefs[r]; !ok {
				out = append(out, r)
			}
		}
		return out
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.all = keep(p.mu.all)
	for k := range touched {
		lv := p.mu.names[k.n]
		if lv == nil {
			continue
		}
		list := keep(lv.vals[k.v])
		if len(list) > 0 {
			lv.vals[k.v] = list
			continue
		}
		delete(lv.vals, k.v)
		lv.sortMu.Lock()
		lv.sorted = nil
		lv.sortMu.Unlock()
		if len(lv.vals) == 0 {
			delete(p.mu.names, k.n)
		}
	}
}

// sortedValuesRLocked returns the sorted values of lv; the caller holds p.mu
// (read) and must not modify the result.
func (lv *labelValues) sortedValuesRLocked() []string {
	lv.sortMu.Lock()
	defer lv.sortMu.Unlock()
	if lv.sorted == nil {
		s := make([]string, 0, len(lv.vals))
		for v := range lv.vals {
			s = append(s, v)
		}
		sort.Strings(s)
		lv.sorted = s
	}
	return lv.sorted
}

// labelNames returns all label names, sorted.
func (p *postingsIndex) labelNames() []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]string, 0, len(p.mu.names))
	for n := range p.mu.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// labelValues returns the sorted values of name.
func (p *postingsIndex) labelValues(name string) []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	lv := p.mu.names[name]
	if lv == nil {
		return nil
	}
	return slices.Clone(lv.sortedValuesRLocked())
}

// forMatchers returns the sorted refs of the series matching all matchers,
// with Prometheus's semantics: a matcher that matches "" also matches series
// without the label.
func (p *postingsIndex) forMatchers(ms []*labels.Matcher) []wal.SeriesRef {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var its, nots [][]wal.SeriesRef
	for _, m := range ms {
		if m.Type == labels.MatchRegexp && m.Value == ".*" {
			continue // Matches everything, with or without the label.
		}
		if m.Matches("") {
			inv, err := m.Inverse()
			if err != nil {
				return nil
			}
			if l := p.forMatcherRLocked(inv); len(l) > 0 {
				nots = append(nots, l)
			}
			continue
		}
		l := p.forMatcherRLocked(m)
		if len(l) == 0 {
			return nil
		}
		its = append(its, l)
	}
	if len(its) == 0 {
		its = append(its, p.mu.all)
	}
	res := intersect(its)
	if len(nots) > 0 {
		res = subtract(res, union(nots))
	}
	return res
}

// forMatcherRLocked returns the sorted refs of series whose label m.Name has a
// non-empty value matching m. The result may alias an index list.
func (p *postingsIndex) forMatcherRLocked(m *labels.Matcher) []wal.SeriesRef {
	lv := p.mu.names[m.Name]
	if lv == nil {
		return nil
	}
	switch m.Type {
	case labels.MatchEqual:
		return lv.vals[m.Value]
	case labels.MatchNotEqual:
		lists := make([][]wal.SeriesRef, 0, len(lv.vals))
		for v, l := range lv.vals {
			if v != m.Value {
				lists = append(lists, l)
			}
		}
		return union(lists)
	case labels.MatchRegexp:
		if set := m.SetMatches(); len(set) > 0 {
			lists := make([][]wal.SeriesRef, 0, len(set))
			for _, v := range set {
				if l := lv.vals[v]; len(l) > 0 {
					lists = append(lists, l)
				}
			}
			return union(lists)
		}
		if pre := m.Prefix(); pre != "" {
			vals := lv.sortedValuesRLocked()
			i := sort.SearchStrings(vals, pre)
			var lists [][]wal.SeriesRef
			for ; i < len(vals) && strings.HasPrefix(vals[i], pre); i++ {
				if m.Matches(vals[i]) {
					lists = append(lists, lv.vals[vals[i]])
				}
			}
			return union(lists)
		}
	}
	var lists [][]wal.SeriesRef
	for v, l := range lv.vals {
		if m.Matches(v) {
			lists = append(lists, l)
		}
	}
	return union(lists)
}

// intersect returns the sorted intersection (a new slice).
func intersect(lists [][]wal.SeriesRef) []wal.SeriesRef {
	slices.SortFunc(lists, func(a, b []wal.SeriesRef) int { return len(a) - len(b) })
	res := slices.Clone(lists[0])
	for _, l := range lists[1:] {
		out := res[:0]
		j := 0
		for _, r := range res {
			for j < len(l) && l[j] < r {
				j++
			}
			if j == len(l) {
				break
			}
			if l[j] == r {
				out = append(out, r)
			}
		}
		res = out
		if len(res) == 0 {
			break
		}
	}
	return res
}

// union returns the sorted union (may alias the only input list).
func union(lists [][]wal.SeriesRef) []wal.SeriesRef {
	switch len(lists) {
	case 0:
		return nil
	case 1:
		return lists[0]
	}
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]wal.SeriesRef, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// subtract returns a minus b (both sorted), reusing a.
func subtract(a, b []wal.SeriesRef) []wal.SeriesRef {
	out := a[:0]
	j := 0
	for _, r := range a {
		for j < len(b) && b[j] < r {
			j++
		}
		if j < len(b) && b[j] == r {
			continue
		}
		out = append(out, r)
	}
	return out
}
