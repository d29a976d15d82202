package head

import (
	"fmt"
	"math"

	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"mytsdb/storage/wal"
)

// Commit logs the appender's series, samples, exemplars and metadata to the
// WAL with one wal.Log call, then makes the samples visible. Samples that
// became invalid since Append (a concurrent appender won the race) are dropped
// and counted.
func (a *appender) Commit() error {
	if a.done {
		return errAppenderClosed
	}
	h := a.head
	h.commitMu.RLock()
	if h.wal != nil && (len(a.samples) > 0 || len(a.exemplars) > 0 || len(a.metas) > 0 || len(a.pinned) > 0) {
		a.encode()
		if len(a.recs) > 0 {
			if err := h.wal.Log(a.recs...); err != nil {
				h.commitMu.RUnlock()
				a.unpinAll()
				a.release()
				return fmt.Errorf("head: commit: write WAL: %w", err)
			}
			n := 0
			for _, r := range a.recs {
				n += len(r)
			}
			h.walBytes.Add(int64(n))
			for _, s := range a.logSeries {
				s.logged.Store(true)
			}
		}
	}
	a.apply()
	h.commitMu.RUnlock()
	a.unpinAll()
	a.release()
	return nil
}

// Rollback discards everything appended. Series created meanwhile stay (empty,
// collected by the next Truncate); their WAL record is written by the first
// commit that uses them.
func (a *appender) Rollback() error {
	if a.done {
		return errAppenderClosed
	}
	a.unpinAll()
	a.release()
	return nil
}

// unpinAll releases the pins. No lock is needed: garbage collection reads
// pending under the series lock, and either value is fine once the
// transaction no longer uses the series.
func (a *appender) unpinAll() {
	for _, s := range a.pinned {
		s.pending.Add(-1)
	}
}

// encode builds the WAL records of the commit into a.recs (slices of a.buf).
func (a *appender) encode() {
	add := func(start int) {
		a.recs = append(a.recs, a.buf[start:len(a.buf)])
	}
	for _, s := range a.pinned {
		if !s.logged.Load() {
			a.logSeries = append(a.logSeries, s)
			a.refSeries = append(a.refSeries, wal.RefSeries{Ref: s.ref, Labels: s.lset})
		}
	}
	if len(a.refSeries) > 0 {
		start := len(a.buf)
		a.buf = wal.AppendSeriesRecord(a.buf, a.refSeries)
		add(start)
	}
	if len(a.metas) > 0 {
		for _, m := range a.metas {
			a.refMetas = append(a.refMetas, wal.RefMetadata{Ref: m.s.ref, Type: m.m.Type, Unit: m.m.Unit, Help: m.m.Help})
		}
		start := len(a.buf)
		a.buf = wal.AppendMetadataRecord(a.buf, a.refMetas)
		add(start)
	}
	// Samples in runs of one type, so that replay sees every series' samples
	// in the order they were appended.
	runTyp := chunkenc.ValNone
	flush := func() {
		start := len(a.buf)
		switch runTyp {
		case chunkenc.ValFloat:
			a.buf = wal.AppendSamplesRecord(a.buf, a.refSamples)
			a.refSamples = a.refSamples[:0]
		case chunkenc.ValHistogram:
			a.buf = wal.AppendHistogramsRecord(a.buf, a.refHists)
			clear(a.refHists)
			a.refHists = a.refHists[:0]
		case chunkenc.ValFloatHistogram:
			a.buf = wal.AppendFloatHistogramsRecord(a.buf, a.refFloatHists)
			clear(a.refFloatHists)
			a.refFloatHists = a.refFloatHists[:0]
		default:
			return
		}
		add(start)
	}
	for i := range a.samples {
		p := &a.samples[i]
		typ := p.typ()
		if typ != runTyp {
			flush()
			runTyp = typ
		}
		switch typ {
		case chunkenc.ValFloat:
			a.refSamples = append(a.refSamples, wal.RefSample{Ref: p.s.ref, T: p.t, V: p.v})
		case chunkenc.ValHistogram:
			a.refHists = append(a.refHists, wal.RefHistogramSample{Ref: p.s.ref, T: p.t, H: p.h})
		case chunkenc.ValFloatHistogram:
			a.refFloatHists = append(a.refFloatHists, wal.RefFloatHistogramSample{Ref: p.s.ref, T: p.t, FH: p.fh})
		}
	}
	flush()
	if len(a.exemplars) > 0 {
		for _, e := range a.exemplars {
			a.refExemplars = append(a.refExemplars, wal.RefExemplar{Ref: e.s.ref, T: e.e.Ts, V: e.e.Value, Labels: e.e.Labels})
		}
		start := len(a.buf)
		a.buf = wal.AppendExemplarsRecord(a.buf, a.refExemplars)
		add(start)
	}
}

// apply makes the samples of the commit visible.
func (a *appender) apply() {
	h := a.head
	mint, maxt := int64(math.MaxInt64), int64(math.MinInt64)
	var floats, hists, oooFloats, oooHists, chunks int
	for i := range a.samples {
		p := &a.samples[i]
		s := p.s
		s.mu.Lock()
		ooo, dup, err := a.validateLocked(p, false)
		switch {
		case err != nil || dup:
			// Lost a race with a concurrent appender, or an identical duplicate.
		case ooo:
			o := oooSample{t: p.t, v: p.v}
			if p.h != nil {
				o.h = p.h.Copy()
			} else if p.fh != nil {
				o.fh = p.fh.Copy()
			}
			if s.insertOOOLocked(o) {
				if p.t < h.cutMaxt.Load() {
					h.keepLate(s, o)
				}
				if p.h != nil || p.fh != nil {
					oooHists++
				} else {
					oooFloats++
				}
				mint, maxt = min(mint, p.t), max(maxt, p.t)
			}
		default:
			var created bool
			switch {
			case p.h != nil:
				created = s.appendHistogramLocked(p.t, p.h, a.head.opts.ChunkRange)
				hists++
			case p.fh != nil:
				created = s.appendFloatHistogramLocked(p.t, p.fh, a.head.opts.ChunkRange)
				hists++
			default:
				created = s.appendFloatLocked(p.t, p.v, a.head.opts.ChunkRange, a.head.opts.SamplesPerChunk)
				floats++
			}
			if created {
				chunks++
				if s.cutXORLocked() || (h.files != nil && s.cutOnHeapLocked()) {
					a.recode = append(a.recode, s)
				}
			}
			mint, maxt = min(mint, p.t), max(maxt, p.t)
		}
		s.mu.Unlock()
	}
	if len(a.recode) > 0 {
		h.queueRecode(a.recode)
		clear(a.recode)
		a.recode = a.recode[:0]
	}
	for _, m := range a.metas {
		md := m.m
		m.s.mu.Lock()
		m.s.mu.meta = &md
		m.s.mu.Unlock()
	}
	for _, e := range a.exemplars {
		if h.exemplars.add(e.s.ref, e.s.lset, e.e) == nil {
			h.metrics.exemplarsAppended.Inc()
		}
	}
	if mint <= maxt {
		h.updateMinMax(mint, maxt)
		if c := h.opts.Compactable; c != nil {
			if lo := h.minTime.Load(); maxt-lo > h.opts.ChunkRange/2*3 {
				select {
				case c <- struct{}{}:
				default:
				}
			}
		}
	}
	if n := floats + oooFloats + hists + oooHists; n > 0 {
		h.appended.Add(uint64(n))
	}
	if floats+oooFloats > 0 {
		h.metrics.samplesAppended.WithLabelValues("float").Add(float64(floats + oooFloats))
	}
	if hists+oooHists > 0 {
		h.metrics.samplesAppended.WithLabelValues("histogram").Add(float64(hists + oooHists))
	}
	if oooFloats > 0 {
		h.metrics.oooAppended.WithLabelValues("float").Add(float64(oooFloats))
	}
	if oooHists > 0 {
		h.metrics.oooAppended.WithLabelValues("histogram").Add(float64(oooHists))
	}
	if chunks > 0 {
		h.metrics.chunksCreated.Add(float64(chunks))
		h.metrics.chunks.Add(float64(chunks))
	}
}
