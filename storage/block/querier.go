package block

import (
	"context"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// Querier returns a querier of the samples in [mint, maxt] (inclusive, like
// every query range). It holds a reference on the block until Close.
func (b *Block) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := b.newQuerier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return &blockQuerier{q}, nil
}

// ChunkQuerier returns a chunk querier of [mint, maxt] (inclusive).
func (b *Block) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	q, err := b.newQuerier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return &blockChunkQuerier{q}, nil
}

type querierBase struct {
	b          *Block
	mint, maxt int64
	tombs      tombstones
	closeOnce  sync.Once
}

func (b *Block) newQuerier(mint, maxt int64) (*querierBase, error) {
	tombs, err := b.acquire()
	if err != nil {
		return nil, err
	}
	return &querierBase{b: b, mint: mint, maxt: maxt, tombs: tombs}, nil
}

// Close releases the block. Series and iterators obtained from the querier
// must not be used after it. A second Close does nothing.
func (q *querierBase) Close() error {
	q.closeOnce.Do(q.b.release)
	return nil
}

// LabelValues returns the sorted values of name in the block's index among
// the series that the matchers select. Like Prometheus's block querier it
// looks at the index only: neither the querier's time range nor tombstones
// restrict it.
func (q *querierBase) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	ir := q.b.index
	values := []string{}
	if len(ms) == 0 {
		ir.forEachValue(name, func(v string, _ int64) bool {
			values = append(values, v)
			return !hints.AllowsEarlyStop() || len(values) < hints.Limit
		})
		values, _ = hints.ApplyLimit(values)
		return values, nil, nil
	}
	// As Prometheus's labelValuesWithMatchers: matchers on the label
	// itself only filter its values (a limit keeps the smallest); with
	// matchers on other labels, values come in the order of the first
	// series holding them, and a limit stops there before the sort.
	if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return m.Name != name }) {
		ir.forEachValue(name, func(v string, _ int64) bool {
			for _, m := range ms {
				if !m.Matches(v) {
					return true
				}
			}
			values = append(values, v)
			return true
		})
		values, _ = hints.ApplyLimit(values)
		return values, nil, nil
	}
	seen := map[string]struct{}{}
	err := q.forEachSeries(ctx, ms, func(lset labels.Labels) bool {
		if v := lset.Get(name); v != "" {
			if _, ok := seen[v]; !ok {
				seen[v] = struct{}{}
				values = append(values, v)
			}
		}
		return !hints.AllowsEarlyStop() || len(values) < hints.Limit
	})
	if err != nil {
		return nil, nil, err
	}
	values, _ = hints.ApplyLimit(values)
	slices.Sort(values)
	return values, nil, nil
}

// LabelNames returns the sorted label names of the series that the
// matchers select (all of the block's without matchers); index only, like
// LabelValues.
func (q *querierBase) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	ir := q.b.index
	names := []string{}
	if len(ms) == 0 {
		for _, n := range ir.names {
			names = append(names, n.name)
		}
	} else {
		seen := map[string]struct{}{}
		err := q.forEachSeries(ctx, ms, func(lset labels.Labels) bool {
			lset.Range(func(l labels.Label) {
				if _, ok := seen[l.Name]; !ok {
					seen[l.Name] = struct{}{}
					names = append(names, l.Name)
				}
			})
			return true
		})
		if err != nil {
			return nil, nil, err
		}
		slices.Sort(names)
	}
	names, _ = hints.ApplyLimit(names)
	return names, nil, nil
}

// forEachSeries calls fn with the labels of every series the matchers
// select, in index order, until fn returns false.
func (q *querierBase) forEachSeries(ctx context.Context, ms []*labels.Matcher, fn func(labels.Labels) bool) error {
	ir := q.b.index
	refs, err := ir.postingsForMatchers(ctx, ms...)
	if err != nil {
		return err
	}
	var lb labels.ScratchBuilder
	var chks []chunkMeta
	for i, ref := range refs {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if chks, err = ir.series(ref, &lb, chks); err != nil {
			return err
		}
		if !fn(lb.Labels()) {
			return nil
		}
	}
	return nil
}

type blockQuerier struct{ *querierBase }

// Select returns the series that the matchers select and that have at least
// one sample in the range (hints.Start..End when hints are given, else the
// querier's), after tombstones, sorted by labels whatever sortSeries says.
func (q *blockQuerier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	s, err := q.newSeriesSet(ctx, hints, ms)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	return &seriesSet{s}
}

type blockChunkQuerier struct{ *querierBase }

// Select is Querier's Select for chunks: chunks that a deleted interval or
// the range's ends cut are re-encoded (unless hints.DisableTrimming).
func (q *blockChunkQuerier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.ChunkSeriesSet {
	s, err := q.newSeriesSet(ctx, hints, ms)
	if err != nil {
		return storage.ErrChunkSeriesSet(err)
	}
	s.noSamples = false // hints.Func "series" is for sample queriers
	return &chunkSeriesSet{s}
}

// baseSet walks the selected refs, keeping series with a sample in range.
type baseSet struct {
	ctx        context.Context
	ir         *indexReader
	cr         *chunkReader
	tombs      tombstones
	refs       []SeriesRef
	mint, maxt int64
	trim       bool
	noSamples  bool
	limit      int
	shardCount uint64
	shardIndex uint64

	returned int
	lb       labels.ScratchBuilder
	buf      []chunkMeta
	probe    sampleIterator
	cur      selected
	err      error
}

// selected is the current series: its chunks that overlap the range and
// are not wholly deleted, and what to skip when iterating them.
type selected struct {
	lset labels.Labels
	chks []chunkMeta
	del  Intervals
}

func (q *querierBase) newSeriesSet(ctx context.Context, hints *storage.SelectHints, ms []*labels.Matcher) (*baseSet, error) {
	s := &baseSet{
		ctx: ctx, ir: q.b.index, cr: q.b.chunks, tombs: q.tombs,
		mint: q.mint, maxt: q.maxt, trim: true,
	}
	if hints != nil {
		s.mint, s.maxt = hints.Start, hints.End
		s.trim = !hints.DisableTrimming
		s.noSamples = hints.Func == "series"
		s.limit = hints.Limit
		s.shardCount, s.shardIndex = hints.ShardCount, hints.ShardIndex
	}
	refs, err := s.ir.postingsForMatchers(ctx, ms...)
	if err != nil {
		return nil, err
	}
	s.refs = refs
	return s, nil
}

func (s *baseSet) next() bool {
	if s.err != nil || (s.limit > 0 && s.returned >= s.limit) {
		return false
	}
	for len(s.refs) > 0 {
		ref := s.refs[0]
		s.refs = s.refs[1:]
		if len(s.refs)%256 == 0 && s.ctx.Err() != nil {
			s.err = s.ctx.Err()
			return false
		}
		var err error
		s.buf, err = s.ir.series(ref, &s.lb, s.buf)
		if err != nil {
			s.err = err
			return false
		}
		if s.shardCount > 0 && labels.StableHash(s.lb.Labels())%s.shardCount != s.shardIndex {
			continue
		}
		tombs := s.tombs[ref]
		var chks []chunkMeta
		trimNeeded, found := false, false
		for _, c := range s.buf {
			if c.maxt < s.mint || c.mint > s.maxt || tombs.covers(c.mint, c.maxt) {
				continue
			}
			if chks == nil {
				chks = make([]chunkMeta, 0, len(s.buf))
			}
			chks = append(chks, c)
			if c.mint < s.mint || c.maxt > s.maxt {
				trimNeeded = true
			}
			if !found {
				if found, err = s.hasSample(c, tombs); err != nil {
					s.err = err
					return false
				}
			}
		}
		if !found {
			continue
		}
		del := tombs
		if s.trim && trimNeeded {
			del = del.trimmed(s.mint, s.maxt)
		}
		s.cur = selected{lset: s.lb.Labels(), chks: chks, del: del}
		s.returned++
		return true
	}
	return false
}

// hasSample reports whether chunk c has a sample in [mint, maxt] that the
// series' tombstones do not delete. A chunk's mint and maxt are sample
// timestamps, which answers most cases without reading it.
func (s *baseSet) hasSample(c chunkMeta, tombs Intervals) (bool, error) {
	inRange := func(t int64) bool { return t >= s.mint && t <= s.maxt && !tombs.covers(t, t) }
	if inRange(c.mint) || inRange(c.maxt) {
		return true, nil
	}
	del := tombs.trimmed(s.mint, s.maxt)
	s.probe.reset(s.cr, []chunkMeta{c}, del)
	if s.probe.Next() != chunkenc.ValNone {
		return true, nil
	}
	return false, s.probe.Err()
}

func (s *baseSet) Err() error {
	if s.err != nil {
		return s.err
	}
	return nil
}

func (*baseSet) Warnings() annotations.Annotations { return nil }

type seriesSet struct{ *baseSet }

func (s *seriesSet) Next() bool { return s.next() }

func (s *seriesSet) At() storage.Series {
	cur := s.cur
	if s.noSamples {
		cur.chks = nil
	}
	return &blockSeries{cr: s.cr, sel: cur}
}

type chunkSeriesSet struct{ *baseSet }

func (s *chunkSeriesSet) Next() bool { return s.next() }

func (s *chunkSeriesSet) At() storage.ChunkSeries {
	return &blockChunkSeries{cr: s.cr, sel: s.cur}
}

// blockSeries is a storage.Series of a block.
type blockSeries struct {
	cr  *chunkReader
	sel selected
}

func (s *blockSeries) Labels() labels.Labels { return s.sel.lset }

func (s *blockSeries) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	si, ok := it.(*sampleIterator)
	if !ok {
		si = &sampleIterator{}
	}
	si.reset(s.cr, s.sel.chks, s.sel.del)
	return si
}

// blockChunkSeries is a storage.ChunkSeries of a block.
type blockChunkSeries struct {
	cr  *chunkReader
	sel selected
}

func (s *blockChunkSeries) Labels() labels.Labels { return s.sel.lset }

func (s *blockChunkSeries) Iterator(it chunks.Iterator) chunks.Iterator {
	ci, ok := it.(*chunkIterator)
	if !ok {
		ci = &chunkIterator{}
	}
	*ci = chunkIterator{cr: s.cr, chks: s.sel.chks, del: s.sel.del, pending: ci.pending[:0]}
	return ci
}
