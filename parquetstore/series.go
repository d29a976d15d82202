package parquetstore

import (
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// histSample is one native histogram sample; exactly one of h and fh is
// set.
type histSample struct {
	t  int64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
	// start is histogramRow.ChunkStart: where a chunk of the source began.
	start int32
}

// memSeries is one series of one block, its samples in range decoded.
type memSeries struct {
	lset  labels.Labels
	ts    []int64
	vs    []float64
	hists []histSample
}

func (s *memSeries) Labels() labels.Labels { return s.lset }

func (s *memSeries) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	if mi, ok := it.(*memIterator); ok {
		mi.reset(s)
		return mi
	}
	mi := &memIterator{}
	mi.reset(s)
	return mi
}

// memIterator walks a memSeries' floats and histograms in time order (a
// series may change type within a block).
type memIterator struct {
	s      *memSeries
	fi, hi int // next float / histogram
	cur    chunkenc.ValueType
	t      int64
	v      float64
	h      histSample
}

func (it *memIterator) reset(s *memSeries) {
	*it = memIterator{s: s, fi: 0, hi: 0}
}

func (it *memIterator) Next() chunkenc.ValueType {
	s := it.s
	hasF, hasH := it.fi < len(s.ts), it.hi < len(s.hists)
	switch {
	case hasF && (!hasH || s.ts[it.fi] < s.hists[it.hi].t):
		it.t, it.v = s.ts[it.fi], s.vs[it.fi]
		it.fi++
		it.cur = chunkenc.ValFloat
	case hasH:
		it.h = s.hists[it.hi]
		it.t = it.h.t
		it.hi++
		if it.h.h != nil {
			it.cur = chunkenc.ValHistogram
		} else {
			it.cur = chunkenc.ValFloatHistogram
		}
	default:
		it.cur = chunkenc.ValNone
	}
	return it.cur
}

func (it *memIterator) Seek(t int64) chunkenc.ValueType {
	if it.cur != chunkenc.ValNone && it.t >= t {
		return it.cur
	}
	if it.cur == chunkenc.ValNone && (it.fi > 0 || it.hi > 0) {
		return chunkenc.ValNone // exhausted
	}
	for {
		if it.Next() == chunkenc.ValNone || it.t >= t {
			return it.cur
		}
	}
}

func (it *memIterator) At() (int64, float64) { return it.t, it.v }

func (it *memIterator) AtHistogram(h *histogram.Histogram) (int64, *histogram.Histogram) {
	if it.h.h == nil {
		return it.t, nil
	}
	if h == nil {
		return it.t, it.h.h.Copy()
	}
	it.h.h.CopyTo(h)
	return it.t, h
}

func (it *memIterator) AtFloatHistogram(fh *histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	src := it.h.fh
	if it.h.h != nil {
		src = it.h.h.ToFloat(nil)
	}
	if src == nil {
		return it.t, nil
	}
	if fh == nil {
		return it.t, src.Copy()
	}
	src.CopyTo(fh)
	return it.t, fh
}

func (it *memIterator) AtT() int64  { return it.t }
func (it *memIterator) AtST() int64 { return 0 }
func (it *memIterator) Err() error  { return nil }
