package head

import (
	"context"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	ourchunks "mytsdb/storage/chunkenc"
)

// snapshotLocked returns the chunks overlapping [mint, maxt] (the open chunk
// copied, chunks in the chunk files read from them) and a copy of the
// out-of-order samples in that range. files is the head's chunk files, nil
// if it has none.
func (s *memSeries) snapshotLocked(mint, maxt int64, files *chunkFiles) ([]chunkSnap, []oooSample, error) {
	var (
		out   []chunkSnap
		arena chunkArena
	)
	n := s.numChunksLocked()
	if files != nil {
		files.mu.RLock()
		defer files.mu.RUnlock()
		var nBytes, nFloat int
		for _, c := range s.mu.sealed {
			if c.onDisk() && c.maxTime >= mint && c.minTime <= maxt {
				if err := arena.reserve(files, c.ref, &nBytes, &nFloat); err != nil {
					return nil, nil, err
				}
			}
		}
		if nBytes > 0 {
			arena.bytes = make([]byte, 0, nBytes)
		}
		if nFloat > 0 {
			arena.sealed = make([]ourchunks.SealedChunk, 0, nFloat)
		}
	}
	for i := range n {
		c := s.chunkRefLocked(i)
		if c.maxTime < mint || c.minTime > maxt {
			continue
		}
		var (
			chk chunkenc.Chunk
			err error
		)
		if c.onDisk() {
			chk, err = arena.read(files, c.ref)
		} else {
			chk, err = s.chunkLocked(i, nil)
		}
		if err != nil {
			return nil, nil, err
		}
		if i == n-1 && c.chunk != nil { // An open histogram chunk: copy it.
			cp, err := chunkenc.FromData(c.chunk.Encoding(), slices.Clone(c.chunk.Bytes()))
			if err != nil {
				continue
			}
			chk = cp
		}
		out = append(out, chunkSnap{c: chk, mint: c.minTime, maxt: c.maxTime, open: i == n-1})
	}
	var ooo []oooSample
	if len(s.mu.ooo) > 0 {
		lo, _ := slices.BinarySearchFunc(s.mu.ooo, mint, func(o oooSample, t int64) int {
			switch {
			case o.t < t:
				return -1
			case o.t > t:
				return 1
			}
			return 0
		})
		hi := lo
		for hi < len(s.mu.ooo) && s.mu.ooo[hi].t <= maxt {
			hi++
		}
		if hi > lo {
			ooo = slices.Clone(s.mu.ooo[lo:hi])
		}
	}
	return out, ooo, nil
}

// Querier implements storage.Queryable.
func (h *Head) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{headReader{h: h, mint: mint, maxt: maxt}}, nil
}

// ChunkQuerier implements storage.ChunkQueryable.
func (h *Head) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	return &chunkQuerier{headReader{h: h, mint: mint, maxt: maxt}}, nil
}

// ExemplarQuerier implements storage.ExemplarQueryable.
func (h *Head) ExemplarQuerier(context.Context) (storage.ExemplarQuerier, error) {
	return exemplarQuerier{h.exemplars}, nil
}

type headReader struct {
	h          *Head
	mint, maxt int64
}

func (r *headReader) Close() error { return nil }

// series resolves matchers to series, sorted by labels if asked.
func (r *headReader) series(sortSeries bool, ms []*labels.Matcher) []*memSeries {
	refs := r.h.postings.forMatchers(ms)
	out := make([]*memSeries, 0, len(refs))
	for _, ref := range refs {
		if s := r.h.series.getByID(ref); s != nil {
			out = append(out, s)
		}
	}
	if sortSeries {
		slices.SortFunc(out, func(a, b *memSeries) int { return labels.Compare(a.lset, b.lset) })
	}
	return out
}

func (r *headReader) LabelNames(_ context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	if r.h.MaxTime() < r.mint || r.h.MinTime() > r.maxt {
		return []string{}, nil, nil
	}
	var names []string
	if len(ms) == 0 {
		names = r.h.postings.labelNames()
	} else {
		set := map[string]struct{}{}
		for _, s := range r.series(false, ms) {
			s.lset.Range(func(l labels.Label) { set[l.Name] = struct{}{} })
		}
		names = make([]string, 0, len(set))
		for n := range set {
			names = append(names, n)
		}
		slices.Sort(names)
	}
	names, _ = hints.ApplyLimit(names)
	return names, nil, nil
}

func (r *headReader) LabelValues(_ context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	if r.h.MaxTime() < r.mint || r.h.MinTime() > r.maxt {
		return []string{}, nil, nil
	}
	var vals []string
	switch {
	case len(ms) == 0:
		vals = r.h.postings.labelValues(name)
	case !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return m.Name != name }):
		// Matchers on the label itself only filter its values.
		for _, v := range r.h.postings.labelValues(name) {
			if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return !m.Matches(v) }) {
				vals = append(vals, v)
			}
		}
	default:
		// As Prometheus's labelValuesWithMatchers: values in the order of
		// the first series (by ref) holding them; a limit stops there,
		// before the sort.
		set := map[string]struct{}{}
		for _, s := range r.series(false, ms) {
			if v := s.lset.Get(name); v != "" {
				if _, ok := set[v]; !ok {
					set[v] = struct{}{}
					vals = append(vals, v)
					if hints.AllowsEarlyStop() && len(vals) >= hints.Limit {
						break
					}
				}
			}
		}
		vals, _ = hints.ApplyLimit(vals)
		slices.Sort(vals)
	}
	if vals == nil {
		vals = []string{}
	}
	vals, _ = hints.ApplyLimit(vals)
	return vals, nil, nil
}

// selectRange returns the time range and trimming of a Select, as
// Prometheus's block querier derives them from the hints.
func (r *headReader) selectRange(hints *storage.SelectHints) (mint, maxt int64, trim, noSamples bool) {
	mint, maxt, trim = r.mint, r.maxt, true
	if hints != nil {
		mint, maxt = hints.Start, hints.End
		trim = !hints.DisableTrimming
		noSamples = hints.Func == "series"
	}
	return mint, maxt, trim, noSamples
}

type querier struct{ headReader }

func (q *querier) Select(_ context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt, trim, noSamples := q.selectRange(hints)
	limit := 0
	if hints != nil {
		limit = hints.Limit
	}
	return &seriesSet{files: q.h.files, series: q.series(sortSeries, ms), mint: mint, maxt: maxt, trim: trim, noSamples: noSamples, limit: limit}
}

type chunkQuerier struct{ headReader }

func (q *chunkQuerier) Select(_ context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.ChunkSeriesSet {
	mint, maxt, _, noSamples := q.selectRange(hints)
	limit := 0
	if hints != nil {
		limit = hints.Limit
	}
	return &chunkSeriesSet{seriesSet{files: q.h.files, series: q.series(sortSeries, ms), mint: mint, maxt: maxt, noSamples: noSamples, limit: limit}}
}

// seriesSet snapshots each series lazily, skipping those without data in range.
type seriesSet struct {
	files      *chunkFiles
	series     []*memSeries
	err        error
	i          int
	mint, maxt int64
	trim       bool
	noSamples  bool
	limit, n   int
	cur        *headSeries
}

func (ss *seriesSet) Next() bool {
	if ss.limit > 0 && ss.n >= ss.limit {
		return false
	}
	for ss.i < len(ss.series) && ss.mint <= ss.maxt {
		s := ss.series[ss.i]
		ss.i++
		s.mu.Lock()
		chks, ooo, err := s.snapshotLocked(ss.mint, ss.maxt, ss.files)
		s.mu.Unlock()
		if err != nil {
			ss.err = err
			return false
		}
		if len(chks) == 0 && len(ooo) == 0 {
			continue
		}
		hs := &headSeries{lset: s.lset, chunks: chks, ooo: ooo, mint: math.MinInt64, maxt: math.MaxInt64, noSamples: ss.noSamples}
		if ss.trim {
			hs.mint, hs.maxt = ss.mint, ss.maxt
		}
		ss.cur = hs
		ss.n++
		return true
	}
	return false
}

func (ss *seriesSet) At() storage.Series                  { return sampleSeries{ss.cur} }
func (ss *seriesSet) Err() error                          { return ss.err }
func (*seriesSet) Warnings() annotations.Annotations      { return nil }
func (ss *chunkSeriesSet) At() storage.ChunkSeries        { return ss.cur }
func (*chunkSeriesSet) Warnings() annotations.Annotations { return nil }

type chunkSeriesSet struct{ seriesSet }

// headSeries is a snapshot of one series; it implements storage.Series and
// storage.ChunkSeries.
type headSeries struct {
	lset       labels.Labels
	chunks     []chunkSnap
	ooo        []oooSample
	mint, maxt int64
	noSamples  bool
}

func (s *headSeries) Labels() labels.Labels { return s.lset }

// EndsWithOpenChunk reports whether the last of the series' chunks is the
// one still being appended to, which Prometheus's head always re-encodes
// for a chunk querier (its index gives the open chunk no maximum time).
func (s *headSeries) EndsWithOpenChunk() bool {
	return len(s.chunks) > 0 && s.chunks[len(s.chunks)-1].open
}

// sampleIterator returns the merged sample iterator.
func (s *headSeries) sampleIterator(it chunkenc.Iterator) chunkenc.Iterator {
	if s.noSamples {
		return chunkenc.NewNopIterator()
	}
	si, ok := it.(*seriesIterator)
	if !ok {
		si = &seriesIterator{}
	}
	si.reset(s.chunks, s.ooo, s.mint, s.maxt)
	return si
}

type sampleSeries struct{ *headSeries }

func (s sampleSeries) Iterator(it chunkenc.Iterator) chunkenc.Iterator { return s.sampleIterator(it) }

func (s *headSeries) Iterator(it chunks.Iterator) chunks.Iterator {
	if s.noSamples {
		return storage.NewListChunkSeriesIterator()
	}
	if len(s.ooo) == 0 {
		metas := make([]chunks.Meta, 0, len(s.chunks))
		for _, c := range s.chunks {
			metas = append(metas, chunks.Meta{Chunk: c.c, MinTime: c.mint, MaxTime: c.maxt})
		}
		return storage.NewListChunkSeriesIterator(metas...)
	}
	// Out-of-order samples overlap the chunks: re-encode the merged stream.
	return storage.NewSeriesToChunkEncoder(sampleSeries{s}).Iterator(it)
}
