package head

import (
	"context"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"mytsdb/storage/wal"
)

// Delete removes the samples of the series matching ms in [mint, maxt]
// (inclusive) from memory, as the admin API's delete_series asks. The
// deletion is logged first (a tombstones record), so that a restart deletes
// the same samples again; commits wait while it runs. Each series' interval
// is clamped to the samples it holds now, so that samples appended later
// are not covered (Prometheus clamps to the head's range).
func (h *Head) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	if mint > maxt {
		return nil
	}
	refs := h.postings.forMatchers(ms)
	h.commitMu.Lock()
	defer h.commitMu.Unlock()
	var stones []wal.RefTombstone
	for _, ref := range refs {
		if err := ctx.Err(); err != nil {
			return err
		}
		s := h.series.getByID(ref)
		if s == nil {
			continue
		}
		s.mu.Lock()
		lo, hi := max(mint, s.minTimeLocked()), min(maxt, s.maxTimeWithOOOLocked())
		s.mu.Unlock()
		if lo <= hi {
			stones = append(stones, wal.RefTombstone{Ref: s.ref, MinT: lo, MaxT: hi})
		}
	}
	if len(stones) == 0 {
		return nil
	}
	if h.wal != nil {
		// Every series a stone names is logged: its samples are.
		var recs [][]byte
		for i := 0; i < len(stones); i += checkpointBatch {
			recs = append(recs, wal.AppendTombstonesRecord(nil, stones[i:min(i+checkpointBatch, len(stones))]))
		}
		if err := h.wal.Log(recs...); err != nil {
			return fmt.Errorf("head: delete: write WAL: %w", err)
		}
	}
	h.applyTombstones(stones, func(ref wal.SeriesRef) *memSeries { return h.series.getByID(ref) })
	// The rebuilt chunks are XOR, as appends cut them: recode them too.
	rebuilt := make([]*memSeries, 0, len(stones))
	for _, st := range stones {
		if s := h.series.getByID(st.Ref); s != nil {
			rebuilt = append(rebuilt, s)
		}
	}
	h.queueRecode(rebuilt)
	return nil
}

// applyTombstones deletes what stones cover; series finds a stone's series
// (nil: unknown, skipped).
func (h *Head) applyTombstones(stones []wal.RefTombstone, series func(wal.SeriesRef) *memSeries) {
	removedChunks := 0
	for _, st := range stones {
		s := series(st.Ref)
		if s == nil {
			continue
		}
		s.mu.Lock()
		n, err := s.deleteLocked(st.MinT, st.MaxT, h.opts.ChunkRange, h.opts.SamplesPerChunk, h.files)
		s.mu.Unlock()
		if err != nil {
			h.logger.Error("Head series not deleted: a chunk could not be read", "series", s.lset.String(), "err", err)
		}
		removedChunks += n
	}
	h.metrics.chunks.Sub(float64(removedChunks))
	h.metrics.chunksRemoved.Add(float64(max(removedChunks, 0)))
}

// maxTimeWithOOOLocked is the newest timestamp held, out-of-order samples
// included; math.MinInt64 if none.
func (s *memSeries) maxTimeWithOOOLocked() int64 {
	m := s.maxTimeLocked()
	if n := len(s.mu.ooo); n > 0 {
		m = max(m, s.mu.ooo[n-1].t)
	}
	return m
}

type keptSample struct {
	t  int64
	v  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

// deleteLocked removes the samples in [mint, maxt]: the in-order chunks are
// rebuilt from the samples kept (as if appended again, so they are cut as
// appends cut them), the out-of-order buffer is filtered. It returns the
// number of chunks fewer (negative if the rebuild made more). A series left
// empty is collected by the next Truncate. A chunk that cannot be read (from
// the chunk files) leaves the series as it was.
func (s *memSeries) deleteLocked(mint, maxt, chunkRange int64, samplesPerChunk int, files *chunkFiles) (int, error) {
	before := s.numChunksLocked()
	chks, _, err := s.snapshotLocked(math.MinInt64, math.MaxInt64, files)
	if err != nil {
		return 0, err
	}
	var (
		kept    []keptSample
		removed bool
		it      seriesIterator
	)
	it.reset(chks, nil, math.MinInt64, math.MaxInt64)
	for typ := it.Next(); typ != chunkenc.ValNone; typ = it.Next() {
		if t := it.AtT(); t >= mint && t <= maxt {
			removed = true
			continue
		}
		var k keptSample
		switch typ {
		case chunkenc.ValFloat:
			k.t, k.v = it.At()
		case chunkenc.ValHistogram:
			k.t, k.h = it.AtHistogram(nil)
		case chunkenc.ValFloatHistogram:
			k.t, k.fh = it.AtFloatHistogram(nil)
		}
		kept = append(kept, k)
	}
	if err := it.Err(); err != nil {
		return 0, fmt.Errorf("head: delete in series %d: %w", s.ref, err)
	}
	if removed {
		s.mu.sealed = nil
		s.mu.open = openChunk{}
		s.mu.hasOpen = false
		s.mu.hist = nil
		s.mu.xor.clear()
		for _, k := range kept {
			switch {
			case k.h != nil:
				s.appendHistogramLocked(k.t, k.h, chunkRange)
			case k.fh != nil:
				s.appendFloatHistogramLocked(k.t, k.fh, chunkRange)
			default:
				s.appendFloatLocked(k.t, k.v, chunkRange, samplesPerChunk)
			}
		}
	}
	if len(s.mu.ooo) > 0 {
		ooo := s.mu.ooo[:0:0]
		for _, o := range s.mu.ooo {
			if o.t < mint || o.t > maxt {
				ooo = append(ooo, o)
			}
		}
		s.mu.ooo = ooo
	}
	return before - s.numChunksLocked(), nil
}
