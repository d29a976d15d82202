package head

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/metadata"

	"mytsdb/storage/wal"
)

// WAL replay.
//
// A pipeline: the reader (the wal.Replay callback: reading, checksums)
// decodes the records; the router creates the series (their postings are
// built by a goroutine of their own) and routes each sample to the worker
// owning its series; the workers apply the samples. A WAL written by scrapes
// is in round order: consecutive samples belong to different series, so
// applying them in log order costs a few cache misses per sample (the
// series, its chunk buffer). Instead a worker receives large batches
// (several samples per series) and applies each grouped by series, after a
// stable counting sort by series: a series is then touched once per batch
// and its samples stay in log order. Batch entries are 24 bytes and
// pointer-free (histograms take a side slice), so they cost the GC nothing.

// replayEntry is one sample routed to a replay worker.
type replayEntry struct {
	idx  uint32 // the series: an index in the worker's series table
	hist uint32 // 0 for a float sample, else 1 + its index in replayBatch.hists
	t    int64
	v    float64
}

// replayHist is a histogram sample's value.
type replayHist struct {
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

// replayBatch is a batch of samples for one worker.
type replayBatch struct {
	samples []replayEntry
	hists   []replayHist
	// series is the worker's series table when the batch was sent: the
	// router only appends to the table, so the entries this batch refers to
	// are never written again.
	series []*memSeries
}

const (
	// A batch is sent when it holds replayBatchPerSeries samples per series
	// of its worker (bounded): the more samples per series, the fewer times a
	// series is brought into the cache.
	replayBatchPerSeries = 8
	replayBatchMin       = 1 << 14
	replayBatchMax       = 1 << 20 // 24 MiB of entries
	// replayBatchSlack is the room kept for the samples of the record that
	// fills a batch.
	replayBatchSlack = 4096
)

// replayWorker applies the samples of the series it owns. Fields up to
// series are the router's, the rest the worker goroutine's.
type replayWorker struct {
	in   chan *replayBatch
	free chan *replayBatch // the batches not being filled nor applied
	cur  *replayBatch      // the batch being filled by the router
	// series is the worker's series table, indexed by replayEntry.idx.
	series []*memSeries

	counts          []uint32
	sorted          []replayEntry
	spareHists      []replayHist
	mint, maxt      int64
	applied, chunks int
}

// limit is the number of samples at which the batch being filled is sent.
func (w *replayWorker) limit() int {
	return min(max(replayBatchPerSeries*len(w.series), replayBatchMin), replayBatchMax)
}

// replayRefs maps the refs of the replayed WAL to series: a slice for the
// dense refs a head hands out, a map for the rest.
type replayRefs struct {
	dense  []replayRef
	sparse map[wal.SeriesRef]replayRef
	n      int
	// bySeries finds the entry of a series logged under several refs; it is
	// built on first need (a series record for an already known series).
	bySeries map[*memSeries]replayRef
}

// replayRef is a replayed series, its worker and its index in the worker's
// table; routing a sample does not touch the series (the worker's cache miss).
type replayRef struct {
	s      *memSeries
	worker uint32
	idx    uint32
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

func (r *replayRefs) set(ref wal.SeriesRef, e replayRef) {
	if r.bySeries != nil {
		r.bySeries[e.s] = e
	}
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

// find returns the entry of s under any ref, if any.
func (r *replayRefs) find(s *memSeries) (replayRef, bool) {
	if r.bySeries == nil {
		r.bySeries = make(map[*memSeries]replayRef, r.n)
		for _, e := range r.dense {
			if e.s != nil {
				r.bySeries[e.s] = e
			}
		}
		for _, e := range r.sparse {
			r.bySeries[e.s] = e
		}
	}
	e, ok := r.bySeries[s]
	return e, ok
}

// replayWorkers is the number of workers applying samples: Options'
// default is one per core (GOMAXPROCS). The reader and the router take CPU
// too, but they wait whenever the workers lag.
func (h *Head) replayWorkers() int { return max(1, h.opts.ReplayWorkers) }

// ReplayWAL rebuilds the head from its WAL: series records are applied as
// they come (the WAL always holds a series' record before its samples),
// samples are fanned out to workers sharded by series, each applying the
// samples of a series in log order. New refs continue above the largest
// replayed.
func (h *Head) ReplayWAL() error {
	if h.wal == nil {
		return nil
	}
	if h.opts.SnapshotDir != "" && h.loadSnapshot() {
		return nil
	}
	start := time.Now()
	// Without an out-of-order window every logged sample older than the
	// bound is in a block already (a crash came between the block's rename
	// and the checkpoint after it). With one, an out-of-order sample may be
	// older than the newest block and only in the WAL: everything is
	// replayed, and a duplicate of block data is merged away by queries and
	// by the compaction of the overlapping block its next cut writes.
	h.replayMinValid = math.MinInt64
	if h.opts.OutOfOrderTimeWindow == 0 {
		h.replayMinValid = h.minValidTime.Load()
	}
	workers := make([]*replayWorker, h.replayWorkers())
	var wg sync.WaitGroup
	for i := range workers {
		w := &replayWorker{
			in:   make(chan *replayBatch, 1),
			free: make(chan *replayBatch, 2),
			mint: math.MaxInt64,
			maxt: math.MinInt64,
		}
		// One batch: the worker copies it (sorted) before applying it.
		w.free <- &replayBatch{}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range w.in {
				series, hists, sorted := b.series, b.hists, w.sort(b)
				// Hand the batch back before applying it: the router
				// fills it meanwhile.
				b.samples = b.samples[:0]
				b.hists, b.series = w.spareHists[:0], nil
				w.free <- b
				w.apply(h, sorted, series, hists)
				clear(hists)
				w.spareHists = hists[:0]
			}
		}()
	}
	send := func(w *replayWorker) {
		b := w.cur
		w.cur = nil
		b.series = w.series
		w.in <- b
	}

	// New series are indexed in the postings by their own goroutine, off
	// the router's critical path; nothing reads the postings before
	// ReplayWAL returns.
	postingsCh := make(chan []*memSeries, 16)
	var postingsWG sync.WaitGroup
	postingsWG.Add(1)
	go func() {
		defer postingsWG.Done()
		for ss := range postingsCh {
			for _, s := range ss {
				h.postings.add(s.ref, s.lset)
			}
		}
	}()
	// onCreate runs for a new series under its stripe lock, on the router.
	created := make([]*memSeries, 0, 1024)
	onCreate := func(s *memSeries) {
		created = append(created, s)
		if len(created) == cap(created) {
			postingsCh <- created
			created = make([]*memSeries, 0, 1024)
		}
		h.numSeries.Add(1)
		h.metrics.seriesCreated.Inc()
	}

	var (
		refs        replayRefs
		unknown     = map[string]int{}
		walBytes    int64
		errDecoding error
		stones      []wal.RefTombstone
	)
	lookup := func(ref wal.SeriesRef, kind string) replayRef {
		e := refs.get(ref)
		if e.s == nil {
			unknown[kind]++
		}
		return e
	}
	batch := func(e replayRef) *replayBatch {
		w := workers[e.worker]
		if w.cur == nil {
			b := <-w.free
			// Room for a full batch and the record that fills it.
			if n := w.limit() + replayBatchSlack; cap(b.samples) < n {
				b.samples = make([]replayEntry, 0, n)
			}
			w.cur = b
		}
		return w.cur
	}
	addHist := func(e replayRef, t int64, hv replayHist) {
		b := batch(e)
		b.hists = append(b.hists, hv)
		b.samples = append(b.samples, replayEntry{idx: e.idx, hist: uint32(len(b.hists)), t: t})
	}
	// flush sends the batches that are full, or about to outgrow their
	// buffer (while series are being created the limit grows; growing the
	// buffer would copy it).
	flush := func() {
		for _, w := range workers {
			if b := w.cur; b != nil && (len(b.samples) >= w.limit() || cap(b.samples)-len(b.samples) < replayBatchSlack) {
				send(w)
			}
		}
	}
	route := func(r *replayRecord) {
		switch r.typ {
		case wal.RecordSeries:
			for _, rs := range r.series {
				s, isNew := h.getOrCreateWithRef(rs.Ref, rs.Labels, onCreate)
				s.logged.Store(true)
				if !isNew {
					if e := refs.get(rs.Ref); e.s == s {
						continue
					}
					if e, ok := refs.find(s); ok {
						refs.set(rs.Ref, e)
						continue
					}
				}
				wi := uint32(uint64(s.ref) % uint64(len(workers)))
				w := workers[wi]
				refs.set(rs.Ref, replayRef{s: s, worker: wi, idx: uint32(len(w.series))})
				w.series = append(w.series, s)
			}
		case wal.RecordSamples:
			for _, x := range r.samples {
				if e := lookup(x.Ref, "float"); e.s != nil {
					b := batch(e)
					b.samples = append(b.samples, replayEntry{idx: e.idx, t: x.T, v: x.V})
				}
			}
			flush()
		case wal.RecordHistograms:
			for _, x := range r.hists {
				if e := lookup(x.Ref, "histogram"); e.s != nil {
					addHist(e, x.T, replayHist{h: x.H})
				}
			}
			flush()
		case wal.RecordFloatHistograms:
			for _, x := range r.fhists {
				if e := lookup(x.Ref, "histogram"); e.s != nil {
					addHist(e, x.T, replayHist{fh: x.FH})
				}
			}
			flush()
		case wal.RecordExemplars:
			for _, x := range r.exemplars {
				if s := lookup(x.Ref, "exemplar").s; s != nil {
					_ = h.exemplars.add(s.ref, s.lset, exemplar.Exemplar{Labels: x.Labels, Value: x.V, Ts: x.T, HasTs: true})
				}
			}
		case wal.RecordTombstones:
			// Applied once every sample is in memory: a stone covers only
			// samples logged before it (Delete clamps it to them), except
			// out-of-order samples logged after it inside its interval,
			// which this deletes too.
			stones = append(stones, r.stones...)
		case wal.RecordMetadata:
			for _, x := range r.meta {
				if s := lookup(x.Ref, "metadata").s; s != nil {
					m := metadata.Metadata{Type: x.Type, Unit: x.Unit, Help: x.Help}
					s.mu.Lock()
					s.mu.meta = &m
					s.mu.Unlock()
				}
			}
		}
		if r.err != nil && errDecoding == nil {
			errDecoding = r.err
		}
	}
	// The wal.Replay callback (reading, checksums) only decodes records;
	// the router goroutine creates the series and routes the samples, in
	// parallel with it. Decoded records are recycled through free; a few
	// in flight absorb the stages' jitter (records can be large).
	decoded := make(chan *replayRecord, 16)
	free := make(chan *replayRecord, cap(decoded)+2)
	for range cap(free) {
		free <- &replayRecord{}
	}
	routed := make(chan struct{})
	go func() {
		defer close(routed)
		for r := range decoded {
			route(r)
			r.reset()
			free <- r
		}
	}()
	stats, err := h.wal.Replay(func(rec []byte) error {
		walBytes += int64(len(rec))
		r := <-free
		r.decode(rec)
		decoded <- r
		return nil // Skip undecodable records rather than losing the rest.
	})
	close(decoded)
	<-routed
	for _, w := range workers {
		if w.cur != nil && len(w.cur.samples) > 0 {
			send(w)
		}
		close(w.in)
	}
	postingsCh <- created
	close(postingsCh)
	wg.Wait()
	postingsWG.Wait()
	h.applyTombstones(stones, func(ref wal.SeriesRef) *memSeries { return refs.get(ref).s })
	mint, maxt := int64(math.MaxInt64), int64(math.MinInt64)
	var chunks, samples int
	for _, w := range workers {
		mint, maxt = min(mint, w.mint), max(maxt, w.maxt)
		chunks += w.chunks
		samples += w.applied
	}
	if mint <= maxt {
		h.updateMinMax(mint, maxt)
	}
	if chunks > 0 {
		h.recodeAll() // The replay workers are done: the series locks rule again.
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

// replayRecord is a decoded record on its way from the WAL reader to the
// router. What decoding failed on is skipped; what it decoded before is kept.
type replayRecord struct {
	typ       wal.RecordType
	err       error
	series    []wal.RefSeries
	samples   []wal.RefSample
	hists     []wal.RefHistogramSample
	fhists    []wal.RefFloatHistogramSample
	exemplars []wal.RefExemplar
	meta      []wal.RefMetadata
	stones    []wal.RefTombstone
}

func (r *replayRecord) decode(rec []byte) {
	r.typ = wal.TypeOf(rec)
	switch r.typ {
	case wal.RecordSeries:
		r.series, r.err = wal.DecodeSeriesRecord(rec, r.series)
	case wal.RecordSamples:
		r.samples, r.err = wal.DecodeSamplesRecord(rec, r.samples)
	case wal.RecordHistograms:
		r.hists, r.err = wal.DecodeHistogramsRecord(rec, r.hists)
	case wal.RecordFloatHistograms:
		r.fhists, r.err = wal.DecodeFloatHistogramsRecord(rec, r.fhists)
	case wal.RecordExemplars:
		r.exemplars, r.err = wal.DecodeExemplarsRecord(rec, r.exemplars)
	case wal.RecordMetadata:
		r.meta, r.err = wal.DecodeMetadataRecord(rec, r.meta)
	case wal.RecordTombstones:
		r.stones, r.err = wal.DecodeTombstonesRecord(rec, r.stones)
	default:
		r.err = fmt.Errorf("unknown record type %d", r.typ)
	}
}

// reset empties r for reuse, dropping what it references (labels and
// histograms now belong to the series).
func (r *replayRecord) reset() {
	r.err = nil
	clear(r.series)
	r.series = r.series[:0]
	r.samples = r.samples[:0]
	clear(r.hists)
	r.hists = r.hists[:0]
	clear(r.fhists)
	r.fhists = r.fhists[:0]
	clear(r.exemplars)
	r.exemplars = r.exemplars[:0]
	clear(r.meta)
	r.meta = r.meta[:0]
	r.stones = r.stones[:0]
}

// sort copies the samples of b into w.sorted grouped by series, in log
// order within a series (a stable counting sort), and returns them.
func (w *replayWorker) sort(b *replayBatch) []replayEntry {
	src := b.samples
	if cap(w.sorted) < len(src) {
		w.sorted = make([]replayEntry, len(src), cap(b.samples))
	}
	sorted := w.sorted[:len(src)]
	n := len(b.series)
	if cap(w.counts) < n+1 {
		w.counts = make([]uint32, n+1)
	}
	counts := w.counts[:n+1]
	clear(counts)
	runs, prev := 0, ^uint32(0)
	for i := range src {
		idx := src[i].idx
		counts[idx+1]++
		if idx != prev {
			runs++
			prev = idx
		}
	}
	// A checkpoint holds each series' samples together already: sort only
	// when series alternate.
	if runs <= len(src)/8 {
		copy(sorted, src)
		return sorted
	}
	for i := 1; i <= n; i++ {
		counts[i] += counts[i-1]
	}
	for _, e := range src {
		sorted[counts[e.idx]] = e
		counts[e.idx]++
	}
	return sorted
}

// apply applies samples sorted by series. No lock: the worker is the only
// goroutine touching the chunks of its series until replay ends (the router
// only sets their metadata, under the lock).
func (w *replayWorker) apply(h *Head, samples []replayEntry, series []*memSeries, hists []replayHist) {
	var s *memSeries
	prev := ^uint32(0)
	for i := range samples {
		e := &samples[i]
		if e.idx != prev {
			s, prev = series[e.idx], e.idx
		}
		var ok, created bool
		if e.hist == 0 {
			ok, created = h.replayApplyLocked(s, e.t, e.v, nil, nil)
		} else {
			x := &hists[e.hist-1]
			ok, created = h.replayApplyLocked(s, e.t, 0, x.h, x.fh)
		}
		if ok {
			w.mint, w.maxt = min(w.mint, e.t), max(w.maxt, e.t)
			w.applied++
		}
		if created {
			w.chunks++
		}
	}
}

// replayApplyLocked applies a logged sample: the WAL holds only samples that
// were accepted, in per-series order, so only ordering is re-checked.
func (h *Head) replayApplyLocked(s *memSeries, t int64, v float64, hist *histogram.Histogram, fh *histogram.FloatHistogram) (applied, chunkCreated bool) {
	if t < h.replayMinValid {
		return false, false // Already in a block (see SetMinValidTime).
	}
	if s.mu.hasOpen && t <= s.maxTimeLocked() {
		if t == s.maxTimeLocked() || h.opts.OutOfOrderTimeWindow == 0 {
			return false, false // A duplicate or a sample that lost a commit race.
		}
		return s.insertOOOLocked(oooSample{t: t, v: v, h: hist, fh: fh}), false
	}
	switch {
	case hist != nil:
		return true, s.appendHistogramLocked(t, hist, h.opts.ChunkRange)
	case fh != nil:
		return true, s.appendFloatHistogramLocked(t, fh, h.opts.ChunkRange)
	default:
		return true, s.appendFloatLocked(t, v, h.opts.ChunkRange, h.opts.SamplesPerChunk)
	}
}
