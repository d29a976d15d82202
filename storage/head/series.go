package head

import (
	"fmt"
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
	// DefaultSamplesPerChunk is --storage.tsdb.samples-per-chunk's default.
	DefaultSamplesPerChunk = 120
	// DefaultChunkRange is Prometheus's default head chunk range (2h, in ms).
	DefaultChunkRange = int64(2 * 60 * 60 * 1000)
)

// memChunk is one chunk of a series. Every chunk but the last of a series is
// sealed (immutable); the last one is open and only touched under the series
// lock. An open float chunk has a nil chunk: its bytes are in the series'
// xorWriter. A sealed chunk written to the head's chunk files has a nil
// chunk and its record's ref (chunk_files.go, chunk_write.go).
type memChunk struct {
	chunk   chunkenc.Chunk
	ref     chunkDiskRef
	minTime int64
	maxTime int64
}

// onDisk reports whether the chunk's bytes are in the chunk files.
func (c *memChunk) onDisk() bool { return c.ref != 0 }

// openChunk is the time range of a series' open chunk, whose bytes are in
// the series' xorWriter, or in its seriesHist when it is a histogram chunk
// (kept there so that float series do not pay for the chunk interface).
type openChunk struct {
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

// memSeries is one series. Fields outside mu are immutable after creation
// (or atomic). mu comes first, its fields an append touches at its start, so
// that they share the series' first cache lines: with many series an append
// is bound by cache misses.
type memSeries struct {
	mu struct {
		sync.Mutex
		hasOpen bool // open holds the newest chunk; false only when the series has no chunk
		deleted bool // removed by GC; appenders must look the series up again
		pinIdx  int32
		open    openChunk // the newest chunk's time range
		xor     xorWriter // the open chunk's encoder when it is a float chunk
		nextAt  int64
		sealed  []memChunk  // the older chunks, immutable, in time order, non-overlapping
		ooo     []oooSample // sorted by t, unique t
		meta    *metadata.Metadata
		// hist is the histogram state, nil while the newest chunk is a
		// float chunk (almost every series): then the newest in-order
		// sample is a float, and xor.v holds it.
		hist *seriesHist
		// pinTx is the transaction whose pin index is pinIdx (see
		// appender.pinLocked); last, in the cache line of ref, logged and
		// pending, which appenders touch too.
		pinTx uint64
	}

	ref    wal.SeriesRef
	lset   labels.Labels
	logged atomic.Bool // a series record for it is in the WAL
	// pending counts the open appenders holding it pinned (GC protection):
	// incremented under mu, decremented without it.
	pending atomic.Int32
}

// seriesHist is the part of a series that only histogram chunks use, kept
// out of memSeries so that float series do not pay for it.
type seriesHist struct {
	// The newest in-order sample is a histogram if one of these is set.
	lastH  *histogram.Histogram
	lastFH *histogram.FloatHistogram
	chunk  chunkenc.Chunk    // the open chunk when it is a histogram chunk
	app    chunkenc.Appender // chunk's appender
	// histEnd: the histogram chunk's end time is computed (Prometheus's
	// hasComputedHistogramChunkEndTime).
	histEnd bool
}

func newMemSeries(ref wal.SeriesRef, lset labels.Labels) *memSeries {
	return &memSeries{ref: ref, lset: lset}
}

// histLocked returns the histogram state, creating it.
func (s *memSeries) histLocked() *seriesHist {
	if s.mu.hist == nil {
		s.mu.hist = &seriesHist{}
	}
	return s.mu.hist
}

// lastHistLocked returns the newest in-order sample when it is a histogram.
func (s *memSeries) lastHistLocked() (*histogram.Histogram, *histogram.FloatHistogram) {
	if h := s.mu.hist; h != nil {
		return h.lastH, h.lastFH
	}
	return nil, nil
}

// maxTimeLocked returns the newest in-order timestamp, math.MinInt64 if none.
func (s *memSeries) maxTimeLocked() int64 {
	if s.mu.hasOpen {
		return s.mu.open.maxTime
	}
	return math.MinInt64
}

// numChunksLocked is the number of in-order chunks, the open one included.
func (s *memSeries) numChunksLocked() int {
	if s.mu.hasOpen {
		return len(s.mu.sealed) + 1
	}
	return 0
}

// chunkRefLocked returns in-order chunk i (the open one is the last); the
// chunk of an open float chunk is nil.
func (s *memSeries) chunkRefLocked(i int) memChunk {
	if i < len(s.mu.sealed) {
		return s.mu.sealed[i]
	}
	return memChunk{chunk: s.openHistChunkLocked(), minTime: s.mu.open.minTime, maxTime: s.mu.open.maxTime}
}

// openHistChunkLocked returns the open chunk if it is a histogram chunk.
func (s *memSeries) openHistChunkLocked() chunkenc.Chunk {
	if h := s.mu.hist; h != nil {
		return h.chunk
	}
	return nil
}

// emptyLocked reports whether the series holds no sample at all.
func (s *memSeries) emptyLocked() bool {
	return !s.mu.hasOpen && len(s.mu.ooo) == 0
}

// lastTypeLocked is the value type of the newest in-order sample.
func (s *memSeries) lastTypeLocked() chunkenc.ValueType {
	switch {
	case !s.mu.hasOpen:
		return chunkenc.ValNone
	case s.mu.hist != nil && s.mu.hist.lastH != nil:
		return chunkenc.ValHistogram
	case s.mu.hist != nil && s.mu.hist.lastFH != nil:
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

// lastValueLocked is the value of the newest in-order float sample.
func (s *memSeries) lastValueLocked() float64 { return s.mu.xor.v }

// openChunkLocked returns the open chunk, nil if the series has none.
func (s *memSeries) openChunkLocked() *openChunk {
	if s.mu.hasOpen {
		return &s.mu.open
	}
	return nil
}

// chunkLocked returns chunk i; the open float chunk is copied, a chunk in
// the chunk files read (copied) from its mapping; files is nil when the
// head has none.
func (s *memSeries) chunkLocked(i int, files *chunkFiles) (chunkenc.Chunk, error) {
	c := s.chunkRefLocked(i)
	if c.chunk != nil {
		return c.chunk, nil
	}
	if c.onDisk() {
		if files == nil {
			return nil, fmt.Errorf("head: series %d: chunk %d on disk without chunk files", s.ref, c.ref)
		}
		files.mu.RLock()
		defer files.mu.RUnlock()
		return files.readLocked(c.ref)
	}
	b := s.mu.xor.bytes()
	return xorChunk(append(make([]byte, 0, len(b)), b...)), nil
}

// xorChunk wraps the bytes of an XOR chunk.
func xorChunk(b []byte) chunkenc.Chunk {
	c, _ := chunkenc.FromData(chunkenc.EncXOR, b) // Cannot fail for EncXOR.
	return c
}

// sealLocked seals the open chunk, if any.
func (s *memSeries) sealLocked() {
	if !s.mu.hasOpen {
		return
	}
	c := memChunk{minTime: s.mu.open.minTime, maxTime: s.mu.open.maxTime}
	if h := s.mu.hist; h != nil && h.chunk != nil {
		c.chunk = h.chunk
		c.chunk.Compact()
		h.chunk, h.app = nil, nil
	} else {
		c.chunk = xorChunk(s.mu.xor.seal())
	}
	s.mu.sealed = append(s.mu.sealed, c)
	s.mu.open = openChunk{}
	s.mu.hasOpen = false
}

// cutXORLocked reports whether the newest cut chunk is an XOR chunk, for
// the recoder.
func (s *memSeries) cutXORLocked() bool {
	n := len(s.mu.sealed)
	return n > 0 && s.mu.sealed[n-1].chunk != nil && s.mu.sealed[n-1].chunk.Encoding() == chunkenc.EncXOR
}

// cutOnHeapLocked reports whether the newest cut chunk is on the heap (not
// in the chunk files yet), for the chunk writer.
func (s *memSeries) cutOnHeapLocked() bool {
	n := len(s.mu.sealed)
	return n > 0 && s.mu.sealed[n-1].chunk != nil
}

// cutChunkLocked seals the open chunk and opens a new one of encoding e.
// It reports the new chunk; its encoder is s.mu.xor for floats, s.mu.hist.app
// for histograms.
func (s *memSeries) cutChunkLocked(t int64, e chunkenc.Encoding, chunkRange int64) *openChunk {
	s.sealLocked()
	var c chunkenc.Chunk
	switch e {
	case chunkenc.EncHistogram:
		c = chunkenc.NewHistogramChunk()
	case chunkenc.EncFloatHistogram:
		c = chunkenc.NewFloatHistogramChunk()
	default:
		s.mu.xor.reset()
	}
	if c != nil {
		h := s.histLocked()
		h.chunk = c
		h.app, _ = c.Appender() // Cannot fail on a new chunk.
	}
	s.mu.open = openChunk{minTime: t, maxTime: math.MinInt64}
	s.mu.hasOpen = true
	s.mu.nextAt = rangeForTimestamp(t, chunkRange)
	if h := s.mu.hist; h != nil {
		h.histEnd = false
	}
	return &s.mu.open
}

// appendFloatLocked appends an in-order float (t must be > maxTime).
// It reports whether a chunk was created.
func (s *memSeries) appendFloatLocked(t int64, v float64, chunkRange int64, samplesPerChunk int) (created bool) {
	c := s.openChunkLocked()
	switch {
	case c == nil || s.openHistChunkLocked() != nil: // No chunk yet, or a histogram chunk.
		c, created = s.cutChunkLocked(t, chunkenc.EncXOR, chunkRange), true
	case s.mu.xor.size() > chunkenc.MaxBytesPerXORChunkBeforeAppend:
		c, created = s.cutChunkLocked(t, chunkenc.EncXOR, chunkRange), true
	}
	num := int(s.mu.xor.num)
	if num == 0 {
		c.minTime = t
		s.mu.nextAt = rangeForTimestamp(t, chunkRange)
	}
	if num == samplesPerChunk/4 {
		s.mu.nextAt = computeChunkEndTime(c.minTime, c.maxTime, s.mu.nextAt, 4)
	}
	if !created && (t >= s.mu.nextAt || num >= samplesPerChunk*2) {
		c, created = s.cutChunkLocked(t, chunkenc.EncXOR, chunkRange), true
		c.minTime = t
	}
	s.mu.xor.append(t, v)
	c.maxTime = t
	if created { // Otherwise the newest sample was a float already.
		// The histogram state is all reset already but lastH and lastFH,
		// which this float replaces.
		s.mu.hist = nil
	}
	return created
}

// histPreprocessLocked decides on cutting before an in-order histogram append,
// like Prometheus's histogramsAppendPreprocessor.
func (s *memSeries) histPreprocessLocked(t int64, e chunkenc.Encoding, chunkRange int64) (c *openChunk, created bool) {
	c = s.openChunkLocked()
	hc := s.openHistChunkLocked()
	if c == nil || hc == nil || hc.Encoding() != e {
		return s.cutChunkLocked(t, e, chunkRange), true
	}
	hs := s.mu.hist // Not nil: the open chunk is a histogram chunk.
	num := hc.NumSamples()
	target := chunkenc.TargetBytesPerHistogramChunk
	nb := len(hc.Bytes())
	if num == 0 {
		c.minTime = t
		s.mu.nextAt = rangeForTimestamp(t, chunkRange)
	}
	nextRangeStart := s.mu.nextAt
	if hs.histEnd {
		nextRangeStart = rangeForTimestamp(c.minTime, chunkRange)
	}
	if !hs.histEnd && nb >= target/4 {
		s.mu.nextAt = computeChunkEndTime(c.minTime, c.maxTime, s.mu.nextAt, float64(target)/float64(nb))
		hs.histEnd = true
	}
	if (t >= s.mu.nextAt || nb >= target*2) && (num >= chunkenc.MinSamplesPerHistogramChunk || t >= nextRangeStart) {
		return s.cutChunkLocked(t, e, chunkRange), true
	}
	return c, false
}

// appendHistogramLocked appends an in-order histogram; h is retained.
func (s *memSeries) appendHistogramLocked(t int64, h *histogram.Histogram, chunkRange int64) (created bool) {
	var prev chunkenc.Appender
	if hs := s.mu.hist; hs != nil {
		prev = hs.app
	}
	c, created := s.histPreprocessLocked(t, chunkenc.EncHistogram, chunkRange)
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
	hs := s.mu.hist // Set by histPreprocessLocked.
	newChunk, recoded, app, _ := hs.app.AppendHistogram(prevApp, 0, t, h, false)
	hs.app = app
	hs.lastH, hs.lastFH = h, nil
	switch {
	case newChunk == nil:
		c.maxTime = t
	case recoded:
		hs.chunk = newChunk
		c.maxTime = t
	default:
		hs.chunk.Compact()
		s.mu.sealed = append(s.mu.sealed, memChunk{chunk: hs.chunk, minTime: c.minTime, maxTime: c.maxTime})
		hs.chunk = newChunk
		s.mu.open = openChunk{minTime: t, maxTime: t}
		s.mu.nextAt = rangeForTimestamp(t, chunkRange)
		// histEnd stays as it was: Prometheus resets its computed end
		// time only for a chunk its preprocessor cuts, not for one the
		// appender starts (a counter reset, a schema change), so such a
		// chunk runs to the end of its range or to twice the target size.
		created = true
	}
	return created
}

// appendFloatHistogramLocked appends an in-order float histogram; fh is retained.
func (s *memSeries) appendFloatHistogramLocked(t int64, fh *histogram.FloatHistogram, chunkRange int64) (created bool) {
	var prev chunkenc.Appender
	if hs := s.mu.hist; hs != nil {
		prev = hs.app
	}
	c, created := s.histPreprocessLocked(t, chunkenc.EncFloatHistogram, chunkRange)
	var prevApp chunkenc.Appender
	if p, ok := prev.(*chunkenc.FloatHistogramAppender); ok && created {
		prevApp = p
	}
	hs := s.mu.hist // Set by histPreprocessLocked.
	newChunk, recoded, app, _ := hs.app.AppendFloatHistogram(prevApp, 0, t, fh, false)
	hs.app = app
	hs.lastH, hs.lastFH = nil, fh
	switch {
	case newChunk == nil:
		c.maxTime = t
	case recoded:
		hs.chunk = newChunk
		c.maxTime = t
	default:
		hs.chunk.Compact()
		s.mu.sealed = append(s.mu.sealed, memChunk{chunk: hs.chunk, minTime: c.minTime, maxTime: c.maxTime})
		hs.chunk = newChunk
		s.mu.open = openChunk{minTime: t, maxTime: t}
		s.mu.nextAt = rangeForTimestamp(t, chunkRange)
		// histEnd stays as it was: Prometheus resets its computed end
		// time only for a chunk its preprocessor cuts, not for one the
		// appender starts (a counter reset, a schema change), so such a
		// chunk runs to the end of its range or to twice the target size.
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
	n, total := 0, s.numChunksLocked()
	for n < total && s.chunkRefLocked(n).maxTime < mint {
		n++
	}
	switch {
	case n == 0:
	case n == total:
		s.mu.sealed = nil
		s.mu.open = openChunk{}
		s.mu.hasOpen = false
		s.mu.hist = nil
		s.mu.xor.clear()
	default: // n ≤ len(sealed): the open chunk stays.
		s.mu.sealed = append([]memChunk(nil), s.mu.sealed[n:]...)
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
	if s.mu.hasOpen {
		m = s.chunkRefLocked(0).minTime
	}
	if len(s.mu.ooo) > 0 && s.mu.ooo[0].t < m {
		m = s.mu.ooo[0].t
	}
	return m
}
