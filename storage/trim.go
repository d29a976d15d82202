package storage

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunks"

	"mytsdb/storage/block"
)

// What a tenant's queriers add to their sources' answers, so that they
// answer as Prometheus's TSDB does (a streamed remote read shows chunks as
// they are):
//
//   - A Select without matchers selects nothing: Prometheus's index
//     intersects the postings of no matcher into none.
//   - A chunk the selected range cuts is re-encoded with only the samples
//     within it (unless hints.DisableTrimming), as Prometheus's block and
//     head chunk queriers trim one (blockBaseSeriesSet's trimFront and
//     trimBack); the blocks' chunk querier trims already, the head's
//     returns whole chunks, so its series pass through trimmedIterator.
//   - The head's open chunk of a series, whose maximum time Prometheus's
//     head index reports as MaxInt64: its trimming always re-encodes it,
//     whatever the range, which changes what a histogram chunk's header
//     says (a re-encoded chunk starts with an unknown counter reset). It
//     stays one chunk, however large (populateCurrForSingleChunk: the
//     head gives the chunk querier chunks, never iterables). A head
//     series tells (openChunkSeries) whether its last chunk is the open
//     one: a range that ends before the open chunk leaves it out, and the
//     last chunk then passes as a sealed one.

// noMatcherQuerier answers a Select without matchers with nothing.
type noMatcherQuerier struct{ promstorage.Querier }

func (q noMatcherQuerier) Select(ctx context.Context, sortSeries bool, hints *promstorage.SelectHints, ms ...*labels.Matcher) promstorage.SeriesSet {
	if len(ms) == 0 {
		return promstorage.EmptySeriesSet()
	}
	return q.Querier.Select(ctx, sortSeries, hints, ms...)
}

// trimmingChunkQuerier is a chunk querier whose Select selects nothing
// without matchers and trims the chunks its range cuts.
type trimmingChunkQuerier struct {
	promstorage.ChunkQuerier
	mint, maxt int64
}

func (q trimmingChunkQuerier) Select(ctx context.Context, sortSeries bool, hints *promstorage.SelectHints, ms ...*labels.Matcher) promstorage.ChunkSeriesSet {
	if len(ms) == 0 {
		return promstorage.EmptyChunkSeriesSet()
	}
	ss := q.ChunkQuerier.Select(ctx, sortSeries, hints, ms...)
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		if hints.DisableTrimming {
			return ss
		}
		mint, maxt = hints.Start, hints.End
	}
	return &trimmedSet{ChunkSeriesSet: ss, mint: mint, maxt: maxt}
}

type trimmedSet struct {
	promstorage.ChunkSeriesSet
	mint, maxt int64
}

func (s *trimmedSet) At() promstorage.ChunkSeries {
	return trimmedSeries{ChunkSeries: s.ChunkSeriesSet.At(), mint: s.mint, maxt: s.maxt}
}

type trimmedSeries struct {
	promstorage.ChunkSeries
	mint, maxt int64
}

// openChunkSeries is a head series, which knows its open chunk.
type openChunkSeries interface {
	EndsWithOpenChunk() bool
}

func (s trimmedSeries) Iterator(it chunks.Iterator) chunks.Iterator {
	o, ok := s.ChunkSeries.(openChunkSeries)
	return &trimmedIterator{it: s.ChunkSeries.Iterator(it), mint: s.mint, maxt: s.maxt, openLast: ok && o.EndsWithOpenChunk()}
}

// trimmedIterator passes through the chunks wholly within [mint, maxt],
// drops those wholly outside and re-encodes the ones it cuts.
type trimmedIterator struct {
	it         chunks.Iterator
	mint, maxt int64
	openLast   bool        // the series' last chunk is the head's open chunk
	next       chunks.Meta // read ahead, to know which chunk is the last
	hasNext    bool
	started    bool
	cur        chunks.Meta
	pending    []chunks.Meta
	err        error
}

// read returns the underlying iterator's next chunk and whether it is the
// series' last.
func (t *trimmedIterator) read() (m chunks.Meta, last, ok bool) {
	if !t.started {
		t.started = true
		t.hasNext = t.it.Next()
		if t.hasNext {
			t.next = t.it.At()
		}
	}
	if !t.hasNext {
		return chunks.Meta{}, false, false
	}
	m = t.next
	t.hasNext = t.it.Next()
	if t.hasNext {
		t.next = t.it.At()
	}
	return m, !t.hasNext, true
}

func (t *trimmedIterator) Next() bool {
	if t.err != nil {
		return false
	}
	if len(t.pending) > 0 {
		t.cur, t.pending = t.pending[0], t.pending[1:]
		return true
	}
	for {
		m, last, ok := t.read()
		if !ok {
			return false
		}
		if m.MaxTime < t.mint || m.MinTime > t.maxt {
			continue
		}
		if m.MinTime >= t.mint && m.MaxTime <= t.maxt && !(last && t.openLast) {
			t.cur = m
			return true
		}
		out, err := block.TrimChunk(m.Chunk, t.mint, t.maxt, t.pending[:0])
		if err != nil {
			t.err = err
			return false
		}
		if len(out) == 0 {
			continue
		}
		t.cur, t.pending = out[0], out[1:]
		return true
	}
}

func (t *trimmedIterator) At() chunks.Meta { return t.cur }

func (t *trimmedIterator) Err() error {
	if t.err != nil {
		return t.err
	}
	return t.it.Err()
}
