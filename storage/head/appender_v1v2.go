package head

import (
	"fmt"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"

	"mytsdb/storage/wal"
)

// appenderV1 implements storage.Appender.
type appenderV1 struct{ *appender }

func (a appenderV1) Append(ref storage.SeriesRef, l labels.Labels, t int64, v float64) (storage.SeriesRef, error) {
	s, err := a.add(ref, l, t, v, nil, nil, a.rejectOOO)
	if err != nil {
		return 0, err
	}
	return storage.SeriesRef(s.ref), nil
}

func (a appenderV1) SetOptions(opts *storage.AppendOptions) {
	a.rejectOOO = opts != nil && opts.DiscardOutOfOrder
}

func (a appenderV1) AppendHistogram(ref storage.SeriesRef, l labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	if h == nil && fh == nil {
		return 0, fmt.Errorf("head: AppendHistogram without a histogram: %w", ErrInvalidSample)
	}
	if h != nil {
		fh = nil
	}
	s, err := a.add(ref, l, t, 0, h, fh, a.rejectOOO)
	if err != nil {
		return 0, err
	}
	return storage.SeriesRef(s.ref), nil
}

func (a appenderV1) AppendExemplar(ref storage.SeriesRef, l labels.Labels, e exemplar.Exemplar) (storage.SeriesRef, error) {
	if a.done {
		return 0, errAppenderClosed
	}
	s, err := a.lockSeries(ref, l)
	if err != nil {
		return 0, err
	}
	s.mu.Unlock()
	// V1 reports the single exemplar's error itself, not a partial error.
	if pe, ok := a.addExemplars(s, []exemplar.Exemplar{e}).(*storage.AppendPartialError); ok && len(pe.ExemplarErrors) > 0 {
		return storage.SeriesRef(s.ref), pe.ExemplarErrors[0].Err
	}
	return storage.SeriesRef(s.ref), nil
}

func (a appenderV1) UpdateMetadata(ref storage.SeriesRef, l labels.Labels, m metadata.Metadata) (storage.SeriesRef, error) {
	if a.done {
		return 0, errAppenderClosed
	}
	s, err := a.lockSeries(ref, l)
	if err != nil {
		return 0, err
	}
	s.mu.Unlock()
	a.addMetadata(s, m)
	return storage.SeriesRef(s.ref), nil
}

func (a appenderV1) AppendSTZeroSample(ref storage.SeriesRef, l labels.Labels, t, st int64) (storage.SeriesRef, error) {
	if st >= t {
		return 0, storage.ErrSTNewerThanSample
	}
	s, err := a.add(ref, l, st, 0, nil, nil, true)
	if err != nil {
		return 0, storage.ErrOutOfOrderST
	}
	return storage.SeriesRef(s.ref), nil
}

func (a appenderV1) AppendHistogramSTZeroSample(ref storage.SeriesRef, l labels.Labels, t, st int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	if st >= t {
		return 0, storage.ErrSTNewerThanSample
	}
	var zh *histogram.Histogram
	var zfh *histogram.FloatHistogram
	switch {
	case h != nil:
		zh = &histogram.Histogram{Schema: h.Schema, ZeroThreshold: h.ZeroThreshold, CustomValues: h.CustomValues, CounterResetHint: histogram.CounterReset}
	case fh != nil:
		zfh = &histogram.FloatHistogram{Schema: fh.Schema, ZeroThreshold: fh.ZeroThreshold, CustomValues: fh.CustomValues, CounterResetHint: histogram.CounterReset}
	default:
		return 0, fmt.Errorf("head: AppendHistogramSTZeroSample without a histogram: %w", ErrInvalidSample)
	}
	s, err := a.add(ref, l, st, 0, zh, zfh, true)
	if err != nil {
		return 0, storage.ErrOutOfOrderST
	}
	return storage.SeriesRef(s.ref), nil
}

// stZeroSample stores the zero sample at a start timestamp, best effort:
// one older than what the series holds, or out of bounds, is dropped
// without an error (a cumulative series repeats its start timestamp with
// every sample), as Prometheus's bestEffortAppendSTZeroSample does.
func (a appenderV2) stZeroSample(ref storage.SeriesRef, ls labels.Labels, st int64, h *histogram.Histogram, fh *histogram.FloatHistogram) storage.SeriesRef {
	var zh *histogram.Histogram
	var zfh *histogram.FloatHistogram
	switch {
	case h != nil:
		zh = &histogram.Histogram{Schema: h.Schema, ZeroThreshold: h.ZeroThreshold, CustomValues: h.CustomValues, CounterResetHint: histogram.CounterReset}
	case fh != nil:
		zfh = &histogram.FloatHistogram{Schema: fh.Schema, ZeroThreshold: fh.ZeroThreshold, CustomValues: fh.CustomValues, CounterResetHint: histogram.CounterReset}
	}
	s, err := a.add(ref, ls, st, 0, zh, zfh, true)
	if err != nil {
		return ref
	}
	return storage.SeriesRef(s.ref)
}

// appenderV2 implements storage.AppenderV2 and storage.ExemplarAppenderV2.
type appenderV2 struct{ *appender }

func (a appenderV2) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AppendV2Options) (storage.SeriesRef, error) {
	if h != nil {
		fh = nil
	}
	if a.head.opts.STAsZeroSample && st != 0 && st < t {
		ref = a.stZeroSample(ref, ls, st, h, fh)
	}
	s, err := a.add(ref, ls, t, v, h, fh, opts.RejectOutOfOrder)
	if err != nil {
		return 0, err
	}
	stale := value.IsStaleNaN(v)
	switch {
	case h != nil:
		stale = value.IsStaleNaN(h.Sum)
	case fh != nil:
		stale = value.IsStaleNaN(fh.Sum)
	}
	if stale {
		return storage.SeriesRef(s.ref), nil
	}
	var partial error
	if len(opts.Exemplars) > 0 && a.head.exemplars.enabled() {
		partial = a.addExemplars(s, opts.Exemplars)
	}
	if !opts.Metadata.IsEmpty() {
		a.addMetadata(s, opts.Metadata)
	}
	return storage.SeriesRef(s.ref), partial
}

func (a appenderV2) AppendExemplars(ref storage.SeriesRef, ls labels.Labels, es []exemplar.Exemplar) (storage.SeriesRef, error) {
	if a.done {
		return 0, errAppenderClosed
	}
	var s *memSeries
	if ref != 0 {
		s = a.head.series.getByID(wal.SeriesRef(ref))
	}
	if s == nil {
		ls = ls.WithoutEmpty()
		s = a.head.series.getByHash(ls.Hash(), ls)
	}
	if s == nil {
		return 0, fmt.Errorf("unknown HeadSeriesRef when trying to add exemplars: %d: %w", ref, storage.ErrNotFound)
	}
	if len(es) == 0 || !a.head.exemplars.enabled() {
		return storage.SeriesRef(s.ref), nil
	}
	s, err := a.lockSeries(storage.SeriesRef(s.ref), ls)
	if err != nil {
		return 0, err
	}
	s.mu.Unlock()
	return storage.SeriesRef(s.ref), a.addExemplars(s, es)
}

var (
	_ storage.Appender           = appenderV1{}
	_ storage.ExemplarAppenderV2 = appenderV2{}
)
