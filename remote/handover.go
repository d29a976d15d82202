package remote

import (
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/record"

	"mytsdb/storage/wal"
)

// noteSeries remembers the hash of each series' labels as they are sent.
func (f *follower) noteSeries(series []wal.RefSeries) {
	for _, s := range series {
		f.builder.Reset(s.Labels)
		f.o.ExternalLabels.Range(func(l labels.Label) {
			if f.builder.Get(l.Name) == "" {
				f.builder.Set(l.Name, l.Value)
			}
		})
		if relabel.ProcessBuilder(f.builder, f.o.Relabel...) {
			f.sentHash[s.Ref], f.hashBuf = seriesHash(f.hashBuf, f.builder.Labels())
		} else {
			delete(f.sentHash, s.Ref)
		}
	}
}

// alreadySent reports whether the receiver accepted series ref's sample
// at t or a later one.
func (f *follower) alreadySent(ref wal.SeriesRef, t int64) bool {
	h, ok := f.sentHash[ref]
	if !ok {
		return false
	}
	newest, ok := f.o.Sent.newest(h)
	return ok && t <= newest
}

// handle decodes one record and hands it over. seriesOnly skips samples;
// resend skips those the receiver already has.
func (f *follower) handle(rec []byte, seg wal.SegmentNum, seriesOnly, resend bool) error {
	var err error
	switch wal.TypeOf(rec) {
	case wal.RecordSeries:
		if f.series, err = wal.DecodeSeriesRecord(rec, f.series[:0]); err != nil {
			break
		}
		f.noteSeries(f.series)
		f.o.To.StoreSeries(toRefSeries(f.series), int(seg))
	case wal.RecordMetadata:
		if f.metas, err = wal.DecodeMetadataRecord(rec, f.metas[:0]); err != nil {
			break
		}
		out := make([]record.RefMetadata, len(f.metas))
		for i, m := range f.metas {
			out[i] = record.RefMetadata{Ref: chunks.HeadSeriesRef(m.Ref), Type: record.GetMetricType(m.Type), Unit: m.Unit, Help: m.Help}
		}
		f.o.To.StoreMetadata(out)
	case wal.RecordSamples:
		if seriesOnly {
			return nil
		}
		if f.floats, err = wal.DecodeSamplesRecord(rec, f.floats[:0]); err != nil {
			break
		}
		out := make([]record.RefSample, 0, len(f.floats))
		for _, s := range f.floats {
			if resend && f.alreadySent(s.Ref, s.T) {
				continue
			}
			out = append(out, record.RefSample{Ref: chunks.HeadSeriesRef(s.Ref), T: s.T, V: s.V})
		}
		if !f.o.To.Append(out) {
			return errQueueStopped
		}
	case wal.RecordHistograms:
		if seriesOnly {
			return nil
		}
		if f.hists, err = wal.DecodeHistogramsRecord(rec, f.hists[:0]); err != nil {
			break
		}
		out := make([]record.RefHistogramSample, 0, len(f.hists))
		for _, h := range f.hists {
			if resend && f.alreadySent(h.Ref, h.T) {
				continue
			}
			out = append(out, record.RefHistogramSample{Ref: chunks.HeadSeriesRef(h.Ref), T: h.T, H: h.H})
		}
		if !f.o.To.AppendHistograms(out) {
			return errQueueStopped
		}
	case wal.RecordFloatHistograms:
		if seriesOnly {
			return nil
		}
		if f.fhists, err = wal.DecodeFloatHistogramsRecord(rec, f.fhists[:0]); err != nil {
			break
		}
		out := make([]record.RefFloatHistogramSample, 0, len(f.fhists))
		for _, h := range f.fhists {
			if resend && f.alreadySent(h.Ref, h.T) {
				continue
			}
			out = append(out, record.RefFloatHistogramSample{Ref: chunks.HeadSeriesRef(h.Ref), T: h.T, FH: h.FH})
		}
		if !f.o.To.AppendFloatHistograms(out) {
			return errQueueStopped
		}
	case wal.RecordExemplars:
		if seriesOnly {
			return nil
		}
		if f.exemplars, err = wal.DecodeExemplarsRecord(rec, f.exemplars[:0]); err != nil {
			break
		}
		out := make([]record.RefExemplar, len(f.exemplars))
		for i, e := range f.exemplars {
			out[i] = record.RefExemplar{Ref: chunks.HeadSeriesRef(e.Ref), T: e.T, V: e.V, Labels: e.Labels}
		}
		if !f.o.To.AppendExemplars(out) {
			return errQueueStopped
		}
	}
	if err != nil {
		// A record our own WAL accepted but that does not decode: skip it
		// (the watcher would stop and start over) and say so.
		f.o.Logger.Error("Skipping a WAL record remote write cannot decode", "segment", seg, "err", err)
	}
	return nil
}

func toRefSeries(series []wal.RefSeries) []record.RefSeries {
	out := make([]record.RefSeries, len(series))
	for i, s := range series {
		out[i] = record.RefSeries{Ref: chunks.HeadSeriesRef(s.Ref), Labels: s.Labels}
	}
	return out
}
