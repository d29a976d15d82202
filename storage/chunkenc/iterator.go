package chunkenc

import (
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"
)

// floatIterator steps through a chunk's samples held in ts/vs: the open
// chunk's own buffers, or its own arrays, which a sealed chunk is decoded
// into on the first Next or Seek.
type floatIterator struct {
	ts []int64
	vs []float64
	i  int // current sample; -1 before the first
	t  int64
	v  float64 // the current sample, copied so At is two loads

	src     []byte // encoded chunk still to decode, if pending
	t0      int64  // the first timestamp, when src lacks it (elided)
	elided  bool
	pending bool
	done    bool
	err     error

	// Owned arrays, reused across Iterator calls.
	tbuf    []int64
	vbuf    []float64
	scratch []uint64
}

var _ upstream.Iterator = (*floatIterator)(nil)

func (it *floatIterator) resetDecoded(ts []int64, vs []float64) {
	it.ts, it.vs, it.t, it.v = ts, vs, math.MinInt64, 0
	it.i, it.src, it.pending, it.done, it.err = -1, nil, false, false, nil
}

func (it *floatIterator) resetEncoded(b []byte) {
	it.ts, it.vs, it.t, it.v = nil, nil, math.MinInt64, 0
	it.i, it.src, it.pending, it.done, it.err = -1, b, true, false, nil
	it.elided = false
}

// resetElided is resetEncoded for a chunk without its first timestamp.
func (it *floatIterator) resetElided(b []byte, t0 int64) {
	it.resetEncoded(b)
	it.t0, it.elided = t0, true
}

func (it *floatIterator) decode() {
	it.pending = false
	n := numSamples(it.src)
	it.tbuf = growI64(it.tbuf, n)
	it.vbuf = growF64(it.vbuf, n)
	it.scratch = growU64(it.scratch, scratchLen(n))
	var t0 *int64
	if it.elided {
		t0 = &it.t0
	}
	if err := decodeChunkAt(it.src, t0, it.tbuf, it.vbuf, it.scratch); err != nil {
		it.err = err
		it.done = true
		return
	}
	it.ts, it.vs = it.tbuf[:n], it.vbuf[:n]
}

// Next implements upstream.Iterator.
func (it *floatIterator) Next() upstream.ValueType {
	if i := it.i + 1; i < len(it.ts) && i < len(it.vs) && !it.done {
		it.i, it.t, it.v = i, it.ts[i], it.vs[i]
		return upstream.ValFloat
	}
	return it.nextSlow()
}

func (it *floatIterator) nextSlow() upstream.ValueType {
	if it.pending {
		it.decode()
	}
	if it.done {
		return upstream.ValNone
	}
	if it.i+1 >= len(it.ts) {
		it.done = true
		return upstream.ValNone
	}
	it.i++
	it.t, it.v = it.ts[it.i], it.vs[it.i]
	return upstream.ValFloat
}

// Seek implements upstream.Iterator: it stays on the current sample if its
// timestamp is at least t, else scans forward; it never moves backwards, and
// once exhausted stays exhausted.
func (it *floatIterator) Seek(t int64) upstream.ValueType {
	if it.pending {
		it.decode()
	}
	if it.done {
		return upstream.ValNone
	}
	if it.i >= 0 && it.ts[it.i] >= t {
		return upstream.ValFloat
	}
	ts := it.ts
	for j := it.i + 1; j < len(ts); j++ {
		if ts[j] >= t {
			it.i, it.t, it.v = j, ts[j], it.vs[j]
			return upstream.ValFloat
		}
	}
	if len(ts) > 0 {
		it.i = len(ts) - 1
		it.t, it.v = ts[it.i], it.vs[it.i]
	}
	it.done = true
	return upstream.ValNone
}

// At implements upstream.Iterator. Before the first Next it returns
// (math.MinInt64, 0); after the end, the last sample.
func (it *floatIterator) At() (int64, float64) { return it.t, it.v }

// AtT implements upstream.Iterator.
func (it *floatIterator) AtT() int64 { return it.t }

// AtST implements upstream.Iterator: start timestamps are not stored.
func (*floatIterator) AtST() int64 { return 0 }

func (*floatIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	panic("cannot call AtHistogram on a mytsdb float chunk iterator")
}

func (*floatIterator) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	panic("cannot call AtFloatHistogram on a mytsdb float chunk iterator")
}

// Err implements upstream.Iterator.
func (it *floatIterator) Err() error { return it.err }
