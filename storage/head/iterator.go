package head

import (
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// chunkSnap is a chunk as seen by a reader: sealed chunks are shared, the
// open one is a private copy taken under the series lock.
type chunkSnap struct {
	c          chunkenc.Chunk
	mint, maxt int64
	open       bool // the series' open chunk, still growing
}

// seriesIterator iterates the in-order chunks of a series merged with its
// out-of-order samples, within [mint, maxt]. On equal timestamps the in-order
// sample wins. It handles type changes (float, histogram, float histogram).
type seriesIterator struct {
	chunks     []chunkSnap
	ooo        []oooSample
	mint, maxt int64

	started, done bool
	ci            int                // next chunk to open
	cit           chunkenc.Iterator  // iterator of chunks[ci-1]
	ctyp          chunkenc.ValueType // type at cit's position, ValNone if exhausted
	oi            int                // current out-of-order candidate
	cur           int                // 0 none, 1 chunk, 2 out-of-order
	err           error
}

func (it *seriesIterator) reset(chunks []chunkSnap, ooo []oooSample, mint, maxt int64) {
	*it = seriesIterator{chunks: chunks, ooo: ooo, mint: mint, maxt: maxt, cit: it.cit}
}

// advanceChunk moves the chunk source to its next sample at or after mint.
func (it *seriesIterator) advanceChunk() {
	for {
		if it.ci > 0 && it.cit != nil {
			if typ := it.cit.Next(); typ != chunkenc.ValNone {
				if it.cit.AtT() < it.mint {
					continue
				}
				it.ctyp = typ
				return
			}
			if err := it.cit.Err(); err != nil {
				it.err = err
				it.ctyp = chunkenc.ValNone
				it.ci = len(it.chunks)
				return
			}
		}
		if it.ci >= len(it.chunks) {
			it.ctyp = chunkenc.ValNone
			return
		}
		it.cit = it.chunks[it.ci].c.Iterator(it.cit)
		it.ci++
	}
}

// seekChunk moves the chunk source to its first sample at or after t.
func (it *seriesIterator) seekChunk(t int64) {
	if it.ctyp != chunkenc.ValNone && it.cit.AtT() >= t {
		return
	}
	for {
		if it.ci > 0 && it.cit != nil && it.chunks[it.ci-1].maxt >= t {
			if typ := it.cit.Seek(t); typ != chunkenc.ValNone {
				it.ctyp = typ
				return
			}
			if err := it.cit.Err(); err != nil {
				it.err = err
				it.ctyp = chunkenc.ValNone
				it.ci = len(it.chunks)
				return
			}
		}
		if it.ci >= len(it.chunks) {
			it.ctyp = chunkenc.ValNone
			return
		}
		it.cit = it.chunks[it.ci].c.Iterator(it.cit)
		it.ci++
	}
}

func oooType(o *oooSample) chunkenc.ValueType {
	switch {
	case o.h != nil:
		return chunkenc.ValHistogram
	case o.fh != nil:
		return chunkenc.ValFloatHistogram
	}
	return chunkenc.ValFloat
}

// pick selects the current sample among the two sources.
func (it *seriesIterator) pick() chunkenc.ValueType {
	hasC := it.ctyp != chunkenc.ValNone
	for hasC && it.oi < len(it.ooo) && it.ooo[it.oi].t == it.cit.AtT() {
		it.oi++ // In-order wins on equal timestamps.
	}
	hasO := it.oi < len(it.ooo)
	var t int64
	var typ chunkenc.ValueType
	switch {
	case hasC && (!hasO || it.cit.AtT() < it.ooo[it.oi].t):
		it.cur, t, typ = 1, it.cit.AtT(), it.ctyp
	case hasO:
		it.cur, t, typ = 2, it.ooo[it.oi].t, oooType(&it.ooo[it.oi])
	default:
		it.cur, it.done = 0, true
		return chunkenc.ValNone
	}
	if t > it.maxt {
		it.cur, it.done = 0, true
		return chunkenc.ValNone
	}
	return typ
}

func (it *seriesIterator) Next() chunkenc.ValueType {
	if it.done {
		return chunkenc.ValNone
	}
	if !it.started {
		it.started = true
		it.advanceChunk()
		for it.oi < len(it.ooo) && it.ooo[it.oi].t < it.mint {
			it.oi++
		}
	} else if it.cur == 1 {
		it.advanceChunk()
	} else if it.cur == 2 {
		it.oi++
	}
	return it.pick()
}

func (it *seriesIterator) Seek(t int64) chunkenc.ValueType {
	if it.done {
		return chunkenc.ValNone
	}
	if it.started && it.cur != 0 && it.AtT() >= t {
		return it.curType()
	}
	t = max(t, it.mint)
	it.started = true
	it.seekChunk(t)
	for it.oi < len(it.ooo) && it.ooo[it.oi].t < t {
		it.oi++
	}
	return it.pick()
}

func (it *seriesIterator) curType() chunkenc.ValueType {
	switch it.cur {
	case 1:
		return it.ctyp
	case 2:
		return oooType(&it.ooo[it.oi])
	}
	return chunkenc.ValNone
}

func (it *seriesIterator) At() (int64, float64) {
	if it.cur == 2 {
		return it.ooo[it.oi].t, it.ooo[it.oi].v
	}
	if it.cur == 1 {
		return it.cit.At()
	}
	return math.MinInt64, 0
}

func (it *seriesIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	if it.cur == 2 {
		o := &it.ooo[it.oi]
		if h == nil {
			return o.t, o.h.Copy()
		}
		o.h.CopyTo(h)
		return o.t, h
	}
	return it.cit.AtHistogram(h)
}

func (it *seriesIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	if it.cur == 2 {
		o := &it.ooo[it.oi]
		if o.h != nil { // An integer histogram read as float histogram.
			return o.t, o.h.ToFloat(fh)
		}
		if fh == nil {
			return o.t, o.fh.Copy()
		}
		o.fh.CopyTo(fh)
		return o.t, fh
	}
	return it.cit.AtFloatHistogram(fh)
}

func (it *seriesIterator) AtT() int64 {
	switch it.cur {
	case 1:
		return it.cit.AtT()
	case 2:
		return it.ooo[it.oi].t
	}
	return math.MinInt64
}

func (*seriesIterator) AtST() int64 { return 0 }

func (it *seriesIterator) Err() error { return it.err }
