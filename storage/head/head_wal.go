package head

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/metadata"

	"mytsdb/storage/wal"
)

// replaySample is one decoded sample routed to a replay worker.
type replaySample struct {
	s  *memSeries
	t  int64
	v  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

var replayBatchPool = sync.Pool{New: func() any { b := make([]replaySample, 0, 512); return &b }}

// replayApplyLocked applies a logged sample: the WAL holds only samples that
// were accepted, in per-series order, so only ordering is re-checked.
func (h *Head) replayApplyLocked(p *replaySample) (applied, chunkCreated bool) {
	s := p.s
	if s.mu.hasOpen && p.t <= s.maxTimeLocked() {
		if p.t == s.maxTimeLocked() || h.opts.OutOfOrderTimeWindow == 0 {
			return false, false // A duplicate or a sample that lost a commit race.
		}
		return s.insertOOOLocked(oooSample{t: p.t, v: p.v, h: p.h, fh: p.fh}), false
	}
	switch {
	case p.h != nil:
		return true, s.appendHistogramLocked(p.t, p.h)
	case p.fh != nil:
		return true, s.appendFloatHistogramLocked(p.t, p.fh)
	default:
		return true, s.appendFloatLocked(p.t, p.v)
	}
}

// replayRefs maps the refs of the replayed WAL to series: a slice for the
// dense refs a head hands out, a map for the rest.
// Each entry also holds the worker of the series, so that routing a sample
// does not touch the series itself (a cache miss the worker pays anyway).
type replayRefs struct {
	dense   []replayRef
	sparse  map[wal.SeriesRef]replayRef
	n       int
	workers int
}

type replayRef struct {
	s      *memSeries
	worker int
}

func (r *replayRefs) get(ref wal.SeriesRef) replayRef {
	if ref < wal.SeriesRef(len(r.dense)) {
		if e := r.dense[ref]; e.s != nil {
			return e
		}
	}
	if r.sparse == nil {
		return replayRef{}
	}
	return r.sparse[ref]
}

func (r *replayRefs) set(ref wal.SeriesRef, s *memSeries) {
	e := replayRef{s: s, worker: int(uint64(s.ref) % uint64(r.workers))}
	if ref < maxTableRef && ref < wal.SeriesRef(2*len(r.dense)+1<<16) {
		if ref >= wal.SeriesRef(len(r.dense)) {
			r.dense = append(r.dense, make([]replayRef, int(ref)+1-len(r.dense))...)
		}
		if r.dense[ref].s == nil {
			r.n++
		}
		r.dense[ref] = e
		return
	}
	if r.sparse == nil {
		r.sparse = map[wal.SeriesRef]replayRef{}
	}
	if r.sparse[ref].s == nil {
		r.n++
	}
	r.sparse[ref] = e
}

// ReplayWAL rebuilds the head from its WAL: series records are applied as
// they come (the WAL always holds a series' record before its samples),
// samples are fanned out to workers sharded by series ref, which keeps each
// series' samples in log order. New refs continue above the largest replayed.
func (h *Head) ReplayWAL() error {
	if h.wal == nil {
		return nil
	}
	start := time.Now()
	n := max(h.opts.ReplayWorkers, 1)
	chans := make([]chan *[]replaySample, n)
	type result struct {
		mint, maxt     int64
		chunks, floats int
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range chans {
		chans[i] = make(chan *[]replaySample, 64)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := result{mint: math.MaxInt64, maxt: math.MinInt64}
			for b := range chans[i] {
				for j := range *b {
					// No lock: this worker is the only goroutine touching
					// the chunks of its series until replay ends (the
					// reader only sets their metadata, under the lock).
					// Without a locked instruction per sample, the CPU
					// overlaps the cache misses of consecutive samples.
					p := &(*b)[j]
					ok, created := h.replayApplyLocked(p)
					if ok {
						r.mint, r.maxt = min(r.mint, p.t), max(r.maxt, p.t)
						r.floats++
					}
					if created {
						r.chunks++
					}
				}
				clear(*b)
				*b = (*b)[:0]
				replayBatchPool.Put(b)
			}
			results[i] = r
		}(i)
	}

	refs := replayRefs{workers: n}
	var (
		seriesBuf   []wal.RefSeries
		samplesBuf  []wal.RefSample
		exBuf       []wal.RefExemplar
		metaBuf     []wal.RefMetadata
		unknown     = map[string]int{}
		shards      = make([]*[]replaySample, n)
		walBytes    int64
		errDecoding error
	)
	lookup := func(ref wal.SeriesRef, kind string) replayRef {
		e := refs.get(ref)
		if e.s == nil {
			unknown[kind]++
		}
		return e
	}
	route := func(e replayRef, p replaySample) {
		b := shards[e.worker]
		if b == nil {
			b = replayBatchPool.Get().(*[]replaySample)
			shards[e.worker] = b
		}
		p.s = e.s
		*b = append(*b, p)
	}
	dispatch := func() {
		for i, b := range shards {
			if b != nil && len(*b) > 0 {
				chans[i] <- b
				shards[i] = nil
			}
		}
	}
	stats, err := h.wal.Replay(func(rec []byte) error {
		walBytes += int64(len(rec))
		var err error
		switch wal.TypeOf(rec) {
		case wal.RecordSeries:
			seriesBuf, err = wal.DecodeSeriesRecord(rec, seriesBuf[:0])
			for _, rs := range seriesBuf {
				s, _ := h.getOrCreateWithRef(rs.Ref, rs.Labels)
				s.logged.Store(true)
				refs.set(rs.Ref, s)
			}
		case wal.RecordSamples:
			samplesBuf, err = wal.DecodeSamplesRecord(rec, samplesBuf[:0])
			for _, x := range samplesBuf {
				if e := lookup(x.Ref, "float"); e.s != nil {
					route(e, replaySample{t: x.T, v: x.V})
				}
			}
			dispatch()
		case wal.RecordHistograms:
			var hs []wal.RefHistogramSample
			hs, err = wal.DecodeHistogramsRecord(rec, nil)
			for _, x := range hs {
				if e := lookup(x.Ref, "histogram"); e.s != nil {
					route(e, replaySample{t: x.T, h: x.H})
				}
			}
			dispatch()
		case wal.RecordFloatHistograms:
			var hs []wal.RefFloatHistogramSample
			hs, err = wal.DecodeFloatHistogramsRecord(rec, nil)
			for _, x := range hs {
				if e := lookup(x.Ref, "histogram"); e.s != nil {
					route(e, replaySample{t: x.T, fh: x.FH})
				}
			}
			dispatch()
		case wal.RecordExemplars:
			exBuf, err = wal.DecodeExemplarsRecord(rec, exBuf[:0])
			for _, x := range exBuf {
				if s := lookup(x.Ref, "exemplar").s; s != nil {
					_ = h.exemplars.add(s.ref, s.lset, exemplar.Exemplar{Labels: x.Labels, Value: x.V, Ts: x.T, HasTs: true})
				}
			}
		case wal.RecordMetadata:
			metaBuf, err = wal.DecodeMetadataRecord(rec, metaBuf[:0])
			for _, x := range metaBuf {
				if s := lookup(x.Ref, "metadata").s; s != nil {
					m := metadata.Metadata{Type: x.Type, Unit: x.Unit, Help: x.Help}
					s.mu.Lock()
					s.mu.meta = &m
					s.mu.Unlock()
				}
			}
		default:
			err = fmt.Errorf("unknown record type %d", wal.TypeOf(rec))
		}
		if err != nil && errDecoding == nil {
			errDecoding = err
		}
		return nil // Skip undecodable records rather than losing the rest.
	})
	for _, c := range chans {
		close(c)
	}
	wg.Wait()
	mint, maxt := int64(math.MaxInt64), int64(math.MinInt64)
	var chunks, samples int
	for _, r := range results {
		mint, maxt = min(mint, r.mint), max(maxt, r.maxt)
		chunks += r.chunks
		samples += r.floats
	}
	if mint <= maxt {
		h.updateMinMax(mint, maxt)
	}
	h.metrics.chunksCreated.Add(float64(chunks))
	h.metrics.chunks.Add(float64(chunks))
	for k, v := range unknown {
		h.metrics.unknownRefs.WithLabelValues(k).Add(float64(v))
	}
	h.walBytes.Store(walBytes)
	h.metrics.replayDuration.Set(time.Since(start).Seconds())
	if err != nil {
		return fmt.Errorf("head: replay WAL: %w", err)
	}
	if errDecoding != nil {
		h.logger.Warn("Undecodable WAL records skipped during replay", "err", errDecoding)
	}
	if stats.Corrupted {
		h.logger.Warn("WAL corrupted, replayed up to the corruption", "segment", stats.CorruptSegment, "offset", stats.CorruptOffset)
	}
	h.logger.Info("WAL replay completed", "records", stats.Records, "series", refs.n, "samples", samples, "duration", time.Since(start))
	return nil
}

// minCheckpointBytes is the WAL size below which Truncate does not checkpoint.
const minCheckpointBytes = 16 << 20

// Truncate drops every chunk and out-of-order sample older than mint,
// garbage-collects series left empty (and their postings), makes older
// samples out of bounds, and checkpoints the WAL when data was dropped and the
// WAL has grown past the size of the last checkpoint.
func (h *Head) Truncate(mint int64) error {
	h.metrics.truncations.Inc()
	start := time.Now()
	for {
		cur := h.minValidTime.Load()
		if mint <= cur || h.minValidTime.CompareAndSwap(cur, mint) {
			break
		}
	}
	var (
		dead          []*memSeries
		removedChunks int
		droppedAny    bool
		newMin        = int64(math.MaxInt64)
	)
	for i := range h.series.byHash {
		st := &h.series.byHash[i]
		st.mu.Lock()
		visit := func(s *memSeries) {
			s.mu.Lock()
			before := len(s.mu.ooo)
			removedChunks += s.truncateLocked(mint)
			if len(s.mu.ooo) != before {
				droppedAny = true
			}
			if s.emptyLocked() && s.pending.Load() == 0 {
				s.mu.deleted = true
				dead = append(dead, s)
			} else {
				newMin = min(newMin, s.minTimeLocked())
			}
			s.mu.Unlock()
		}
		var conflicts []*memSeries
		firstDead := len(dead)
		for _, s := range st.mu.unique {
			visit(s)
		}
		for _, c := range st.mu.conflicts {
			conflicts = append(conflicts, c...)
		}
		for _, s := range conflicts {
			visit(s)
		}
		for _, s := range dead[firstDead:] {
			st.deleteLocked(s)
		}
		st.mu.Unlock()
	}
	for _, s := range dead {
		h.series.deleteID(s)
	}
	h.postings.remove(dead)
	h.numSeries.Add(-int64(len(dead)))
	h.metrics.seriesRemoved.Add(float64(len(dead)))
	h.metrics.chunksRemoved.Add(float64(removedChunks))
	h.metrics.chunks.Sub(float64(removedChunks))
	h.minTime.Store(newMin)
	h.metrics.gcDuration.Observe(time.Since(start).Seconds())
	if removedChunks > 0 || len(dead) > 0 || droppedAny {
		h.mu.Lock()
		h.mu.dropped = true
		h.mu.Unlock()
	}
	if h.wal == nil {
		return nil
	}
	h.mu.Lock()
	due := h.mu.dropped && h.walBytes.Load() >= max(h.lastCheckpointBytes.Load(), minCheckpointBytes)
	h.mu.Unlock()
	if !due {
		return nil
	}
	if err := h.Checkpoint(); err != nil {
		h.metrics.truncationsFailed.Inc()
		return fmt.Errorf("head: truncate: %w", err)
	}
	return nil
}

// Checkpoint writes the head's live state (every series, their samples not
// older than the last truncation, metadata, exemplars) as a WAL checkpoint,
// which deletes the older segments. Commits wait while it runs.
func (h *Head) Checkpoint() error {
	if h.wal == nil {
		return errors.New("head: checkpoint without a WAL")
	}
	h.commitMu.Lock()
	defer h.commitMu.Unlock()
	var written int64
	err := h.wal.Checkpoint(func(emit func(rec []byte) error) error {
		cw := &checkpointWriter{emit: func(rec []byte) error { written += int64(len(rec)); return emit(rec) }}
		return cw.write(h, h.minValidTime.Load())
	})
	if err != nil {
		return fmt.Errorf("head: checkpoint: %w", err)
	}
	h.walBytes.Store(0)
	h.lastCheckpointBytes.Store(written)
	h.mu.Lock()
	h.mu.dropped = false
	h.mu.Unlock()
	return nil
}
