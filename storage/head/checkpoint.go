package head

import (
	"math"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"mytsdb/storage/wal"
)

// checkpointBatch is the number of entries per checkpoint record.
const checkpointBatch = 4096

// checkpointWriter emits the head's live state as WAL records.
type checkpointWriter struct {
	emit    func(rec []byte) error
	buf     []byte
	series  []wal.RefSeries
	metas   []wal.RefMetadata
	floats  []wal.RefSample
	hists   []wal.RefHistogramSample
	fhists  []wal.RefFloatHistogramSample
	exs     []wal.RefExemplar
	runType chunkenc.ValueType
}

func (cw *checkpointWriter) out(rec []byte) error {
	cw.buf = rec[:0]
	return cw.emit(rec)
}

// flushSamples emits the pending run of samples (one type).
func (cw *checkpointWriter) flushSamples() error {
	var rec []byte
	switch {
	case len(cw.floats) > 0:
		rec = wal.AppendSamplesRecord(cw.buf[:0], cw.floats)
		cw.floats = cw.floats[:0]
	case len(cw.hists) > 0:
		rec = wal.AppendHistogramsRecord(cw.buf[:0], cw.hists)
		cw.hists = cw.hists[:0]
	case len(cw.fhists) > 0:
		rec = wal.AppendFloatHistogramsRecord(cw.buf[:0], cw.fhists)
		cw.fhists = cw.fhists[:0]
	default:
		return nil
	}
	return cw.out(rec)
}

func (cw *checkpointWriter) write(h *Head, mint int64) error {
	var all []*memSeries
	h.series.forEach(func(s *memSeries) { all = append(all, s) })
	// Series first: replay needs them before their samples.
	for _, s := range all {
		cw.series = append(cw.series, wal.RefSeries{Ref: s.ref, Labels: s.lset})
		if len(cw.series) == checkpointBatch {
			if err := cw.out(wal.AppendSeriesRecord(cw.buf[:0], cw.series)); err != nil {
				return err
			}
			cw.series = cw.series[:0]
		}
		s.logged.Store(true)
	}
	if len(cw.series) > 0 {
		if err := cw.out(wal.AppendSeriesRecord(cw.buf[:0], cw.series)); err != nil {
			return err
		}
	}
	for _, s := range all {
		s.mu.Lock()
		if m := s.mu.meta; m != nil {
			cw.metas = append(cw.metas, wal.RefMetadata{Ref: s.ref, Type: m.Type, Unit: m.Unit, Help: m.Help})
		}
		s.mu.Unlock()
	}
	for len(cw.metas) > 0 {
		n := min(len(cw.metas), checkpointBatch)
		if err := cw.out(wal.AppendMetadataRecord(cw.buf[:0], cw.metas[:n])); err != nil {
			return err
		}
		cw.metas = cw.metas[n:]
	}
	// Samples, merged (out-of-order ones included) in time order per series.
	var it seriesIterator
	for _, s := range all {
		s.mu.Lock()
		chks, ooo, err := s.snapshotLocked(mint, math.MaxInt64, h.files)
		s.mu.Unlock()
		if err != nil {
			return err
		}
		it.reset(chks, ooo, mint, math.MaxInt64)
		for typ := it.Next(); typ != chunkenc.ValNone; typ = it.Next() {
			if typ != cw.runType || len(cw.floats)+len(cw.hists)+len(cw.fhists) >= checkpointBatch {
				if err := cw.flushSamples(); err != nil {
					return err
				}
				cw.runType = typ
			}
			switch typ {
			case chunkenc.ValFloat:
				t, v := it.At()
				cw.floats = append(cw.floats, wal.RefSample{Ref: s.ref, T: t, V: v})
			case chunkenc.ValHistogram:
				t, hh := it.AtHistogram(nil)
				cw.hists = append(cw.hists, wal.RefHistogramSample{Ref: s.ref, T: t, H: hh})
			case chunkenc.ValFloatHistogram:
				t, fh := it.AtFloatHistogram(nil)
				cw.fhists = append(cw.fhists, wal.RefFloatHistogramSample{Ref: s.ref, T: t, FH: fh})
			}
		}
		if err := it.Err(); err != nil {
			return err
		}
	}
	if err := cw.flushSamples(); err != nil {
		return err
	}
	for _, s := range all {
		h.exemplars.forSeries(s.ref, func(e exemplar.Exemplar) {
			cw.exs = append(cw.exs, wal.RefExemplar{Ref: s.ref, T: e.Ts, V: e.Value, Labels: e.Labels})
		})
		if len(cw.exs) >= checkpointBatch {
			if err := cw.out(wal.AppendExemplarsRecord(cw.buf[:0], cw.exs)); err != nil {
				return err
			}
			cw.exs = cw.exs[:0]
		}
	}
	if len(cw.exs) > 0 {
		return cw.out(wal.AppendExemplarsRecord(cw.buf[:0], cw.exs))
	}
	return nil
}
