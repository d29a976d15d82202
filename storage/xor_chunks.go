package storage

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunks"

	ourchunks "mytsdb/storage/chunkenc"
)

// xorChunkQuerier hands out every chunk in mytsdb's float codec as an
// upstream XOR chunk. Tenant.ChunkQuerier's chunks leave the storage
// (streamed remote read, a Thanos sidecar, remote-read peers), and the code
// on the other side, Prometheus's own included, knows only upstream's
// encodings. The cut and the compaction read the head and the blocks
// directly and keep our chunks.
type xorChunkQuerier struct{ promstorage.ChunkQuerier }

func (q xorChunkQuerier) Select(ctx context.Context, sortSeries bool, hints *promstorage.SelectHints, ms ...*labels.Matcher) promstorage.ChunkSeriesSet {
	return xorChunkSet{q.ChunkQuerier.Select(ctx, sortSeries, hints, ms...)}
}

type xorChunkSet struct{ promstorage.ChunkSeriesSet }

func (s xorChunkSet) At() promstorage.ChunkSeries { return xorChunkSeries{s.ChunkSeriesSet.At()} }

type xorChunkSeries struct{ promstorage.ChunkSeries }

func (s xorChunkSeries) Iterator(it chunks.Iterator) chunks.Iterator {
	x, ok := it.(*xorChunkIterator)
	if !ok {
		x = &xorChunkIterator{}
	}
	x.it, x.err = s.ChunkSeries.Iterator(x.it), nil
	return x
}

// xorChunkIterator converts the chunks of it that are in our codec.
type xorChunkIterator struct {
	it  chunks.Iterator
	cur chunks.Meta
	err error
}

func (x *xorChunkIterator) Next() bool {
	if x.err != nil || !x.it.Next() {
		return false
	}
	x.cur = x.it.At()
	if c := x.cur.Chunk; c != nil && c.Encoding() == ourchunks.EncFloat {
		xc, err := ourchunks.ToXOR(c)
		if err != nil {
			x.err = err
			return false
		}
		x.cur.Chunk = xc
	}
	return true
}

func (x *xorChunkIterator) At() chunks.Meta { return x.cur }

func (x *xorChunkIterator) Err() error {
	if x.err != nil {
		return x.err
	}
	return x.it.Err()
}
