package main

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"

	"mytsdb/storage"
)

// costSampling is the bounded sampling source upstream's query cost
// estimator (promql.EstimateCost, --enable-feature=query-cost) measures a
// tenant's sample density and point size with: storage.CostSamplingQueryable,
// which Prometheus's TSDB implements. It is offered on the condition
// Prometheus's TSDB offers it (tsdb/query_cost.go): one reader alone serves
// the window, the head or one block, so sampling never makes the tenant
// merge or re-encode chunks. Otherwise it answers
// storage.ErrCostSamplingUnsupported and the estimator falls back to the
// scrape interval with a warning, as Prometheus's does. Its chunks are cut
// to the window as Prometheus's chunk querier cuts them (a chunk crossing
// an end is re-encoded with the samples inside): the estimator counts a
// chunk's samples, so whole chunks would count samples outside the window.
//
// Caveats: mytsdb's head cannot say whether out-of-order samples overlap a
// window, so with an out-of-order window configured sampling is always
// refused (Prometheus refuses only windows its out-of-order data
// overlaps); the default tenant's Prometheus history, while served, refuses
// it too (its reads merge another TSDB).
type costSampling struct {
	t       *storage.Tenant
	ooo     bool        // an out-of-order window is configured
	history func() bool // the tenant's reads include a Prometheus history
}

// costSampling returns the sampling source of tenant t.
func (l *localStorage) costSampling(t *storage.Tenant) costSampling {
	history := func() bool { return false }
	if t.ID() == storage.DefaultTenant {
		history = l.db.PrometheusDataPending
	}
	return costSampling{t: t, ooo: l.ooo > 0, history: history}
}

// oneReader reports whether at most one of the head and the blocks holds
// data in [mint, maxt] (Prometheus's condition: the head is read when maxt
// reaches its MinTime, math.MaxInt64 while it is empty).
func (c costSampling) oneReader(mint, maxt int64) bool {
	if c.ooo || c.history() {
		return false
	}
	n := 0
	if maxt >= c.t.Head().MinTime() {
		n++
	}
	for _, b := range c.t.Blocks() {
		if b.MinTime <= maxt && b.MaxTime > mint { // MaxTime is exclusive
			n++
		}
	}
	return n <= 1
}

func (c costSampling) Querier(mint, maxt int64) (promstorage.Querier, error) {
	if !c.oneReader(mint, maxt) {
		return nil, promstorage.ErrCostSamplingUnsupported
	}
	return c.t.Querier(mint, maxt)
}

func (c costSampling) ChunkQuerier(mint, maxt int64) (promstorage.ChunkQuerier, error) {
	if !c.oneReader(mint, maxt) {
		return nil, promstorage.ErrCostSamplingUnsupported
	}
	q, err := c.t.ChunkQuerier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return trimmingChunkQuerier{q, mint, maxt}, nil
}

// trimmingChunkQuerier cuts every series' chunks to [mint, maxt].
type trimmingChunkQuerier struct {
	promstorage.ChunkQuerier
	mint, maxt int64
}

func (q trimmingChunkQuerier) Select(ctx context.Context, sortSeries bool, hints *promstorage.SelectHints, ms ...*labels.Matcher) promstorage.ChunkSeriesSet {
	return &trimmingSet{ChunkSeriesSet: q.ChunkQuerier.Select(ctx, sortSeries, hints, ms...), mint: q.mint, maxt: q.maxt}
}

type trimmingSet struct {
	promstorage.ChunkSeriesSet
	mint, maxt int64
}

func (s *trimmingSet) At() promstorage.ChunkSeries {
	cs := s.ChunkSeriesSet.At()
	mint, maxt := s.mint, s.maxt
	return &promstorage.ChunkSeriesEntry{Lset: cs.Labels(), ChunkIteratorFn: func(chunks.Iterator) chunks.Iterator {
		return &trimmingIterator{in: cs.Iterator(nil), mint: mint, maxt: maxt}
	}}
}

// trimmingIterator passes the chunks inside [mint, maxt], drops those
// outside and re-encodes those crossing an end.
type trimmingIterator struct {
	in         chunks.Iterator
	mint, maxt int64
	pending    []chunks.Meta // re-encoded chunks not returned yet
	cur        chunks.Meta
	err        error
}

func (it *trimmingIterator) Next() bool {
	for {
		if len(it.pending) > 0 {
			it.cur, it.pending = it.pending[0], it.pending[1:]
			return true
		}
		if it.err != nil || !it.in.Next() {
			return false
		}
		m := it.in.At()
		switch {
		case m.MaxTime < it.mint || m.MinTime > it.maxt:
			continue
		case m.Chunk == nil || (m.MinTime >= it.mint && m.MaxTime <= it.maxt):
			it.cur = m
			return true
		}
		chk := m.Chunk
		series := &promstorage.SeriesEntry{SampleIteratorFn: func(chunkenc.Iterator) chunkenc.Iterator {
			return &boundedIterator{Iterator: chk.Iterator(nil), mint: it.mint, maxt: it.maxt}
		}}
		enc := promstorage.NewSeriesToChunkEncoder(series).Iterator(nil)
		for enc.Next() {
			it.pending = append(it.pending, enc.At())
		}
		if err := enc.Err(); err != nil {
			it.err = err
			return false
		}
	}
}

func (it *trimmingIterator) At() chunks.Meta { return it.cur }

func (it *trimmingIterator) Err() error {
	if it.err != nil {
		return it.err
	}
	return it.in.Err()
}

// boundedIterator is a sample iterator limited to [mint, maxt].
type boundedIterator struct {
	chunkenc.Iterator
	mint, maxt int64
}

func (b *boundedIterator) Next() chunkenc.ValueType {
	for {
		vt := b.Iterator.Next()
		if vt == chunkenc.ValNone {
			return vt
		}
		if t := b.Iterator.AtT(); t < b.mint {
			continue
		} else if t > b.maxt {
			return chunkenc.ValNone
		}
		return vt
	}
}

func (b *boundedIterator) Seek(t int64) chunkenc.ValueType {
	vt := b.Iterator.Seek(max(t, b.mint))
	if vt != chunkenc.ValNone && b.Iterator.AtT() > b.maxt {
		return chunkenc.ValNone
	}
	return vt
}

// sampledTenant is a tenant as the query API sees it, with its cost
// sampling source.
type sampledTenant struct {
	apiTenant
	sampling costSampling
}

func (t sampledTenant) CostSamplingQueryable() (promstorage.SampleAndChunkQueryable, bool) {
	return t.sampling, true
}

// sampledLocal is the default tenant as the remote storage's fanout holds
// it (its primary): upstream's fanout forwards the primary's sampling
// source while no remote_read endpoint is configured.
type sampledLocal struct {
	*storage.Tenant
	sampling costSampling
}

func (t sampledLocal) CostSamplingQueryable() (promstorage.SampleAndChunkQueryable, bool) {
	return t.sampling, true
}

// CostSamplingQueryable of the default tenant with remote_read beside it
// is the fanout's: unsupported while a remote_read endpoint is configured.
func (t remoteReadTenant) CostSamplingQueryable() (promstorage.SampleAndChunkQueryable, bool) {
	if p, ok := t.fanout.(promstorage.CostSamplingQueryable); ok {
		return p.CostSamplingQueryable()
	}
	return nil, false
}
