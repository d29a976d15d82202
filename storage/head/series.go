package head

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"mytsdb/storage/wal"
)

const (
	samplesPerChunk = 120
	// DefaultChunkRange is Prometheus's default head chunk range (2h, in ms).
	DefaultChunkRange = int64(2 * 60 * 60 * 1000)
)

// memChunk is one chunk of a series. Every chunk but the last of a series is
// sealed (immutable); the last one is open and only touched under the series lock.
type memChunk struct {
	chunk   chunkenc.Chunk
	minTime int64
	maxTime int64
}

// oooSample is a sample kept outside the in-order chunks (out-of-order window).
type oooSample struct {
	t  int64
	v  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

// memSeries is one series. Fields above mu are immutable after creation.
type memSeries struct {
	ref        wal.SeriesRef
	lset       labels.Labels
	hash       uint64
	chunkRange int64       // the head's, for chunk cutting
	logged     atomic.Bool // a series record for it is in the WAL

	mu struct {
		sync.Mutex
		chunks  []*memChunk // in time order, non-overlapping; the last one is open
		app     chunkenc.Appender
		nextAt  int64
		histEnd bool // histogram chunk end time computed (Prometheus's hasComputedHistogramChunkEndTime)

		lastValue float64
		lastH     *histogram.Histogram
		lastFH    *histogram.FloatHistogram

		ooo  []oooSample // sorted by t, unique t
		meta *metadata.Metadata

		pending int32 // open appenders holding samples for it (GC protection)
		deleted bool  // removed by GC; appenders must look the series up again
	}
}

func newMemSeries(ref wal.SeriesRef, lset labels.Labels, hash uint64, chunkRange int64) *memSeries {
	return &memSeries{ref: ref, lset: lset, hash: hash, chunkRange: chunkRange}
}

// maxTimeLocked returns the newest in-order timestamp, math.MinInt64 if none.
func (s *memSeries) maxTimeLocked() int64 {
	if n := len(s.mu.chunks); n > 0 {
		return s.mu.chunks[n-1].maxTime
	}
	return math.MinInt64
}

// emptyLocked reports whether the series holds no sample at all.
func (s *memSeries) emptyLocked() bool {
	return len(s.mu.chunks) == 0 && len(s.mu.ooo) == 0
}

// lastTypeLocked is the value type of the newest in-order sample.
func (s *memSeries) lastTypeLocked() chunkenc.ValueType {
	switch {
	case len(s.mu.chunks) == 0:
		return chunkenc.ValNone
	case s.mu.lastH != nil:
		return chunkenc.ValHistogram
	case s.mu.lastFH != nil:
		return chunkenc.ValFloatHistogram
	default:
		return chunkenc.ValFloat
	}
}

func rangeForTimestamp(t, width int64) int64 {
	return (t/width)*width + width
}

func computeChunkEndTime(start, cur, maxT int64, ratioToFull float64) int64 {
	n := float64(maxT-start) / (float64(cur-start+1) * ratioToFull)
	if n <= 1 {
		return maxT
	}
	return int64(float64(start) + float64(maxT-start)/math.Floor(n))
}

// cutChunkLocked seals the open chunk and opens a new one of encoding e.
// It reports the new chunk; its appender is in s.mu.app.
func (s *memSeries) cutChunkLocked(t int64, e chunkenc.Encoding) *memChunk {
	if n := len(s.mu.chunks); n > 0 {
		s.mu.chunks[n-1].chunk.Compact()
	}
	var c chunkenc.Chunk
	switch e {
	case chunkenc.EncHistogram:
		c = chunkenc.NewHistogramChunk()
	case chunkenc.EncFloatHistogram:
		c = chunkenc.NewFloatHistogramChunk()
	default:
		c = chunkenc.NewXORChunk()
	}
	app, _ := c.Appender() // Cannot fail on a new chunk.
	s.mu.app = app
	mc := &memChunk{chunk: c, minTime: t, maxTime: math.MinInt64}
	s.mu.chunks = append(s.mu.chunks, mc)
	s.mu.nextAt = rangeForTimestamp(t, s.chunkRange)
	s.mu.histEnd = false
	return mc
}

// appendFloatLocked appends an in-order float (t must be > maxTime).
// It reports whether a chunk was created.
func (s *memSeries) appendFloatLocked(t int64, v float64) (created bool) {
	var c *memChunk
	if n := len(s.mu.chunks); n > 0 {
		c = s.mu.chunks[n-1]
	}
	switch {
	case c == nil:
		c, created = s.cutChunkLocked(t, chunkenc.EncXOR), true
	case len(c.chunk.Bytes()) > chunkenc.MaxBytesPerXORChunkBeforeAppend || c.chunk.Encoding() != chunkenc.EncXOR:
		c, created = s.cutChunkLocked(t, chunkenc.EncXOR), true
	}
	num := c.chunk.NumSamples()
	if num == 0 {
		c.minTime = t
		s.mu.nextAt = rangeForTimestamp(t, s.chunkRange)
	}
	if num == samplesPerChunk/4 {
		s.mu.nextAt = computeChunkEndTime(c.minTime, c.maxTime, s.mu.nextAt, 4)
	}
	if !created && (t >= s.mu.nextAt || num >= samplesPerChunk*2) {
		c, created = s.cutChunkLocked(t, chunkenc.EncXOR), true
		c.minTime = t
	}
	s.mu.app.Append(0, t, v)
	c.maxTime = t
	s.mu.lastValue = v
	s.mu.lastH = nil
	s.mu.lastFH = nil
	return created
}

// histPreprocessLocked decides on cutting before an in-order histogram append,
// like Prometheus's histogramsAppendPreprocessor.
func (s *memSeries) histPreprocessLocked(t int64, e chunkenc.Encoding) (c *memChunk, created bool) {
	if n := len(s.mu.chunks); n > 0 {
		c = s.mu.chunks[n-1]
	}
	if c == nil || c.chunk.Encoding() != e {
		return s.cutChunkLocked(t, e), true
	}
	num := c.chunk.NumSamples()
	target := chunkenc.TargetBytesPerHistogramChunk
	nb := len(c.chunk.Bytes())
	if num == 0 {
		c.minTime = t
		s.mu.nextAt = rangeForTimestamp(t, s.chunkRange)
	}
	nextRangeStart := s.mu.nextAt
	if s.mu.histEnd {
		nextRangeStart = rangeForTimestamp(c.minTime, s.chunkRange)
	}
	if !s.mu.histEnd && nb >= target/4 {
		s.mu.nextAt = computeChunkEndTime(c.minTime, c.maxTime, s.mu.nextAt, float64(target)/float64(nb))
		s.mu.histEnd = true
	}
	if (t >= s.mu.nextAt || nb >= target*2) && (num >= chunkenc.MinSamplesPerHistogramChunk || t >= nextRangeStart) {
		return s.cutChunkLocked(t, e), true
	}
	return c, false
}

// appendHistogramLocked appends an in-order histogram; h is retained.
func (s *memSeries) appendHistogramLocked(t int64, h *histogram.Histogram) (created bool) {
	prev := s.mu.app
	c, created := s.histPreprocessLocked(t, chunkenc.EncHistogram)
	if !created {
		prev = nil
	}
	var hprev *chunkenc.HistogramAppender
	if p, ok := prev.(*chunkenc.HistogramAppender); ok {
		hprev = p
	}
	var prevApp chunkenc.Appender
	if hprev != nil {
		prevApp = hprev
	}
	newChunk, recoded, app, _ := s.mu.app.AppendHistogram(prevApp, 0, t, h, false)
	s.mu.app = app
	s.mu.lastH, s.mu.lastFH = h, nil
	switch {
	case newChunk == nil:
		c.maxTime = t
	case recoded:
		c.chunk = newChunk
		c.maxTime = t
	default:
		c.chunk.Compact()
		s.mu.chunks = append(s.mu.chunks, &memChunk{chunk: newChunk, minTime: t, maxTime: t})
		s.mu.nextAt = rangeForTimestamp(t, s.chunkRange)
		s.mu.histEnd = false
		created = true
	}
	return created
}

// appendFloatHistogramLocked appends an in-order float histogram; fh is retained.
func (s *memSeries) appendFloatHistogramLocked(t int64, fh *histogram.FloatHistogram) (created bool) {
	prev := s.mu.app
	c, created := s.histPreprocessLocked(t, chunkenc.EncFloatHistogram)
	var prevApp chunkenc.Appender
	if p, ok := prev.(*chunkenc.FloatHistogramAppender); ok && created {
		prevApp = p
	}
	newChunk, recoded, app, _ := s.mu.app.AppendFloatHistogram(prevApp, 0, t, fh, false)
	s.mu.app = app
	s.mu.lastH, s.mu.lastFH = nil, fh
	switch {
	case newChunk == nil:
		c.maxTime = t
	case recoded:
		c.chunk = newChunk
		c.maxTime = t
	default:
		c.chunk.Compact()
		s.mu.chunks = append(s.mu.chunks, &memChunk{chunk: newChunk, minTime: t, maxTime: t})
		s.mu.nextAt = rangeForTimestamp(t, s.chunkRange)
		s.mu.histEnd = false
		created = true
	}
	return created
}

// insertOOOLocked inserts an out-of-order sample; it reports false when a
// sample with that timestamp is already in the out-of-order buffer (first wins).
func (s *memSeries) insertOOOLocked(o oooSample) bool {
	ooo := s.mu.ooo
	i := len(ooo)
	if i > 0 && ooo[i-1].t >= o.t {
		lo, hi := 0, len(ooo)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if ooo[m].t < o.t {
				lo = m + 1
			} else {
				hi = m
			}
		}
		i = lo
		if i < len(ooo) && ooo[i].t == o.t {
			return false
		}
	}
	ooo = append(ooo, oooSample{})
	copy(ooo[i+1:], ooo[i:])
	ooo[i] = o
	s.mu.ooo = ooo
	return true
}

// truncateLocked drops chunks whose samples are all older than mint and
// out-of-order samples older than mint. It returns the number of chunks removed.
func (s *memSeries) truncateLocked(mint int64) int {
	n := 0
	for n < len(s.mu.chunks) && s.mu.chunks[n].maxTime < mint {
		n++
	}
	if n > 0 {
		if n == len(s.mu.chunks) {
			s.mu.chunks = nil
			s.mu.app = nil
			s.mu.lastH, s.mu.lastFH = nil, nil
		} else {
			rest := make([]*memChunk, len(s.mu.chunks)-n)
			copy(rest, s.mu.chunks[n:])
			s.mu.chunks = rest
		}
	}
	k := 0
	for k < len(s.mu.ooo) && s.mu.ooo[k].t < mint {
		k++
	}
	if k > 0 {
		if k == len(s.mu.ooo) {
			s.mu.ooo = nil
		} else {
			s.mu.ooo = append([]oooSample(nil), s.mu.ooo[k:]...)
		}
	}
	return n
}

// minTimeLocked returns the oldest timestamp held, math.MaxInt64 if none.
func (s *memSeries) minTimeLocked() int64 {
	m := int64(math.MaxInt64)
	if len(s.mu.chunks) > 0 {
		m = s.mu.chunks[0].minTime
	}
	if len(s.mu.ooo) > 0 && s.mu.ooo[0].t < m {
		m = s.mu.ooo[0].t
	}
	return m
}
