package head

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"mytsdb/storage/inflight"
	"mytsdb/storage/wal"
)

// ErrInvalidSample is returned for samples that can never be stored (empty
// label set, duplicate label names).
var ErrInvalidSample = errors.New("invalid sample")

// errAppenderClosed is returned when an appender is used after Commit/Rollback.
var errAppenderClosed = errors.New("head: appender already committed or rolled back")

// pendingSample is a sample accepted by Append, applied at Commit.
type pendingSample struct {
	s  *memSeries
	t  int64
	v  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

func (p *pendingSample) typ() chunkenc.ValueType {
	switch {
	case p.h != nil:
		return chunkenc.ValHistogram
	case p.fh != nil:
		return chunkenc.ValFloatHistogram
	}
	return chunkenc.ValFloat
}

type pendingExemplar struct {
	s *memSeries
	e exemplar.Exemplar
}

type pendingMeta struct {
	s *memSeries
	m metadata.Metadata
}

// appender is the shared core of the V1 and V2 appenders. It is pooled by
// the head; every buffer is kept (and reset) across uses.
type appender struct {
	head         *Head
	ctxInit      bool // minValidTime/headMaxt snapshot taken
	minValidTime int64
	headMaxt     int64
	oooWindow    int64
	rejectOOO    bool // V1 SetOptions(DiscardOutOfOrder)
	done         bool
	samples      []pendingSample
	tx           uint64          // this transaction's id (unique per head, never 0)
	ticket       inflight.Ticket // its entry in head.appenders, ended by release
	pinned       []*memSeries    // series this transaction pinned (GC protection), each once
	// pinIdx holds, for the series pinned while another transaction also
	// had them pinned, the index of their last in-order pending sample (or
	// -1); the others keep it in the series (pinTx, pinIdx). See pin.
	pinIdx        map[*memSeries]int32
	exemplars     []pendingExemplar
	metas         []pendingMeta
	refSeries     []wal.RefSeries
	refSamples    []wal.RefSample
	refHists      []wal.RefHistogramSample
	refFloatHists []wal.RefFloatHistogramSample
	refExemplars  []wal.RefExemplar
	refMetas      []wal.RefMetadata
	logSeries     []*memSeries // series whose record this commit writes
	recode        []*memSeries // series that cut an XOR chunk in this commit
	buf           []byte
	recs          [][]byte
}

func newAppender() *appender {
	return &appender{pinIdx: map[*memSeries]int32{}}
}

func (h *Head) newAppender() *appender {
	a := h.appPool.Get().(*appender)
	a.head = h
	a.tx = h.txSeq.Add(1)
	// Registered before minValidTime is read, so that a block cut that
	// raises minValidTime and then waits for the appenders begun before it
	// covers every appender that may hold an older bound.
	a.ticket = h.appenders.Begin()
	a.done = false
	a.ctxInit = false
	a.rejectOOO = false
	a.oooWindow = h.opts.OutOfOrderTimeWindow
	if h.maxTime.Load() != math.MinInt64 {
		a.snapshot()
	}
	h.metrics.activeAppenders.Inc()
	h.metrics.appendersCreated.Inc()
	return a
}

func (a *appender) snapshot() {
	a.minValidTime = a.head.appendableMinValidTime()
	a.headMaxt = a.head.maxTime.Load()
	a.ctxInit = true
}

// initTime is Prometheus's initAppender: the first sample of an empty head
// sets its time range.
func (a *appender) initTime(t int64) {
	if a.ctxInit {
		return
	}
	h := a.head
	if h.minTime.CompareAndSwap(math.MaxInt64, t) {
		h.maxTime.CompareAndSwap(math.MinInt64, t)
	}
	a.snapshot()
}

func (a *appender) release() {
	for i := range a.samples {
		a.samples[i] = pendingSample{}
	}
	a.samples = a.samples[:0]
	clear(a.pinned)
	a.pinned = a.pinned[:0]
	if len(a.pinIdx) > 0 {
		clear(a.pinIdx)
	}
	clear(a.exemplars)
	a.exemplars = a.exemplars[:0]
	clear(a.metas)
	a.metas = a.metas[:0]
	clear(a.refSeries)
	a.refSeries = a.refSeries[:0]
	clear(a.refHists)
	a.refHists = a.refHists[:0]
	clear(a.refFloatHists)
	a.refFloatHists = a.refFloatHists[:0]
	clear(a.refExemplars)
	a.refExemplars = a.refExemplars[:0]
	a.refSamples = a.refSamples[:0]
	a.refMetas = a.refMetas[:0]
	a.buf = a.buf[:0]
	clear(a.recode)
	a.recode = a.recode[:0]
	clear(a.logSeries)
	a.logSeries = a.logSeries[:0]
	clear(a.recs)
	a.recs = a.recs[:0]
	h := a.head
	a.head = nil
	a.done = true
	h.appenders.End(a.ticket)
	h.metrics.activeAppenders.Dec()
	h.appPool.Put(a)
}

// lookup finds the series for ref or lset, creating it if needed, and pins
// it (locked) for this appender. On success the series is returned locked.
func (a *appender) lockSeries(ref storage.SeriesRef, lset labels.Labels) (*memSeries, error) {
	h := a.head
	var s *memSeries
	if ref != 0 {
		s = h.series.getByID(wal.SeriesRef(ref))
	}
	for range 100 {
		if s == nil {
			lset = lset.WithoutEmpty()
			if lset.IsEmpty() {
				return nil, fmt.Errorf("empty labelset: %w", ErrInvalidSample)
			}
			if l, dup := lset.HasDuplicateLabelNames(); dup {
				return nil, fmt.Errorf("label name %q is not unique: %w", l, ErrInvalidSample)
			}
			s, _ = h.getOrCreate(lset)
		}
		s.mu.Lock()
		if !s.mu.deleted {
			a.pinLocked(s)
			return s, nil
		}
		s.mu.Unlock()
		s = nil // Garbage-collected meanwhile: look it up again by labels.
	}
	return nil, fmt.Errorf("head: series for %s keeps disappearing", lset)
}

// pinLocked pins s (locked) for this transaction, once: garbage collection
// leaves pinned series alone. The series records the index of this
// transaction's last in-order pending sample for it (pinTx, pinIdx) unless
// another transaction holds it pinned too; a.pinIdx has it then.
func (a *appender) pinLocked(s *memSeries) {
	if s.mu.pinTx == a.tx {
		return
	}
	if s.pending.Load() == 0 {
		s.mu.pinTx, s.mu.pinIdx = a.tx, -1
	} else {
		if _, ok := a.pinIdx[s]; ok {
			return
		}
		a.pinIdx[s] = -1
	}
	s.pending.Add(1)
	a.pinned = append(a.pinned, s)
}

// pinIndexLocked returns the index of this transaction's last in-order
// pending sample for s (locked, pinned), -1 if none.
func (a *appender) pinIndexLocked(s *memSeries) int32 {
	if s.mu.pinTx == a.tx {
		return s.mu.pinIdx
	}
	if i, ok := a.pinIdx[s]; ok {
		return i
	}
	return -1
}

func (a *appender) setPinIndexLocked(s *memSeries, i int32) {
	if s.mu.pinTx == a.tx {
		s.mu.pinIdx = i
		return
	}
	a.pinIdx[s] = i
}

// validateLocked applies Prometheus's append rules to sample p of series s
// (locked), against s's committed state and, if batch, this appender's
// pending in-order samples. dup reports an identical duplicate (a no-op).
func (a *appender) validateLocked(p *pendingSample, batch bool) (ooo, dup bool, err error) {
	s := p.s
	maxt := s.maxTimeLocked()
	hasData := s.mu.hasOpen
	var q *pendingSample // this appender's last in-order pending sample for s
	if batch {
		if i := a.pinIndexLocked(s); i >= 0 {
			q = &a.samples[i]
			maxt, hasData = q.t, true
		}
	}
	t := p.t
	if t >= a.minValidTime {
		if !hasData || t > maxt {
			return false, false, nil
		}
		if t == maxt {
			lastV := s.lastValueLocked()
			lastH, lastFH := s.lastHistLocked()
			if q != nil {
				lastV, lastH, lastFH = q.v, q.h, q.fh
			}
			switch {
			case p.h != nil:
				if !p.h.Equals(lastH) {
					return false, false, storage.ErrDuplicateSampleForTimestamp
				}
			case p.fh != nil:
				if !p.fh.Equals(lastFH) {
					return false, false, storage.ErrDuplicateSampleForTimestamp
				}
			default:
				if lastH != nil || lastFH != nil {
					return false, false, storage.NewDuplicateHistogramToFloatErr(t, p.v)
				}
				if math.Float64bits(lastV) != math.Float64bits(p.v) {
					return false, false, storage.NewDuplicateFloatErr(t, lastV, p.v)
				}
			}
			return false, true, nil
		}
	}
	if a.oooWindow > 0 && t >= a.headMaxt-a.oooWindow {
		return true, false, nil
	}
	if a.oooWindow > 0 {
		return true, false, storage.ErrTooOldSample
	}
	if t < a.minValidTime {
		return false, false, storage.ErrOutOfBounds
	}
	return false, false, storage.ErrOutOfOrderSample
}

func metricType(p *pendingSample) string {
	if p.h != nil || p.fh != nil {
		return "histogram"
	}
	return "float"
}

// add validates and queues one sample. It returns the series (for exemplars
// and metadata), whether the sample is stale, and the append error.
func (a *appender) add(ref storage.SeriesRef, lset labels.Labels, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, rejectOOO bool) (*memSeries, error) {
	if a.done {
		return nil, errAppenderClosed
	}
	switch {
	case fh != nil:
		if err := fh.Validate(); err != nil {
			return nil, err
		}
	case h != nil:
		if err := h.Validate(); err != nil {
			return nil, err
		}
	}
	a.initTime(t)
	p := pendingSample{t: t, v: v, h: h, fh: fh}
	if a.oooWindow == 0 && t < a.minValidTime {
		a.head.metrics.outOfBound.WithLabelValues(metricType(&p)).Inc()
		return nil, storage.ErrOutOfBounds
	}
	s, err := a.lockSeries(ref, lset)
	if err != nil {
		return nil, err
	}
	p.s = s
	if h == nil && fh == nil && value.IsStaleNaN(v) {
		// A stale marker on a histogram series becomes a histogram stale marker.
		typ := s.lastTypeLocked()
		if i := a.pinIndexLocked(s); i >= 0 {
			typ = a.samples[i].typ()
		}
		switch typ {
		case chunkenc.ValHistogram:
			p.h = &histogram.Histogram{Sum: v}
		case chunkenc.ValFloatHistogram:
			p.fh = &histogram.FloatHistogram{Sum: v}
		}
	}
	ooo, dup, err := a.validateLocked(&p, true)
	if err == nil && ooo && rejectOOO {
		err = storage.ErrOutOfOrderSample
	}
	if err != nil || dup {
		s.mu.Unlock()
		switch {
		case errors.Is(err, storage.ErrOutOfOrderSample):
			a.head.metrics.outOfOrder.WithLabelValues(metricType(&p)).Inc()
		case errors.Is(err, storage.ErrTooOldSample):
			a.head.metrics.tooOld.WithLabelValues(metricType(&p)).Inc()
		case errors.Is(err, storage.ErrOutOfBounds):
			a.head.metrics.outOfBound.WithLabelValues(metricType(&p)).Inc()
		}
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	if !ooo {
		a.setPinIndexLocked(s, int32(len(a.samples)))
	}
	s.mu.Unlock()
	a.samples = append(a.samples, p)
	return s, nil
}

// addExemplars validates and queues exemplars; it returns a partial error
// for the invalid ones (duplicates are ignored silently, like Prometheus).
func (a *appender) addExemplars(s *memSeries, es []exemplar.Exemplar) error {
	var errs []storage.ExemplarError
	for i, e := range es {
		e.Labels = e.Labels.WithoutEmpty()
		if err := a.head.exemplars.validate(s.ref, e); err != nil {
			if !errors.Is(err, storage.ErrDuplicateExemplar) && !errors.Is(err, storage.ErrExemplarsDisabled) {
				errs = append(errs, storage.ExemplarError{Index: i, Err: err})
			}
			continue
		}
		a.exemplars = append(a.exemplars, pendingExemplar{s: s, e: e})
	}
	if len(errs) > 0 {
		return &storage.AppendPartialError{ExemplarErrors: errs}
	}
	return nil
}

func (a *appender) addMetadata(s *memSeries, m metadata.Metadata) {
	s.mu.Lock()
	changed := s.mu.meta == nil || *s.mu.meta != m
	s.mu.Unlock()
	if changed {
		a.metas = append(a.metas, pendingMeta{s: s, m: m})
	}
}

// Appender implements storage.Appendable.
func (h *Head) Appender(context.Context) storage.Appender {
	return appenderV1{h.newAppender()}
}

// AppenderV2 implements storage.AppendableV2.
func (h *Head) AppenderV2(context.Context) storage.AppenderV2 {
	return appenderV2{h.newAppender()}
}
