package remotewrite

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// maxAheadTime is how far in the future a sample may be, as in Prometheus.
const maxAheadTime = 10 * time.Minute

var errTooFarInFuture = fmt.Errorf("%w: timestamp is too far in the future", storage.ErrOutOfBounds)

// limitedAppender wraps an appender like Prometheus's
// timeLimitExemplarAppenderV2 (no sample, histogram or exemplar more than
// maxAheadTime ahead; reserved exponential schemas reduced), and retries an
// append that carried a cached series ref with ref 0 when the storage rejects
// it for another reason than the sample itself (a stale ref).
type limitedAppender struct {
	app     storage.ExemplarAppenderV2
	maxTime int64
}

// isSampleError reports the errors Prometheus answers with 400: the sample,
// not the series ref, was refused.
func isSampleError(err error) bool {
	return errors.Is(err, storage.ErrOutOfOrderSample) ||
		errors.Is(err, storage.ErrOutOfBounds) ||
		errors.Is(err, storage.ErrDuplicateSampleForTimestamp) ||
		errors.Is(err, storage.ErrTooOldSample)
}

func isHistogramValidationError(err error) bool {
	var e histogram.Error
	return errors.As(err, &e)
}

func isPartial(err error) bool { return errors.Is(err, (*storage.AppendPartialError)(nil)) }

// lazyLabels are the labels of a series, built on first use: a series that
// hits the ref cache is appended by its ref alone and needs its labels only
// for an error message, exemplars or a retry.
type lazyLabels struct {
	st    *reqState
	pairs []bytesLabel // 1.0
	refs  []uint32     // 2.0, resolved on demand (known to be valid)
	syms  []string
	v2    bool
	ls    labels.Labels
	built bool
}

func (l *lazyLabels) get() labels.Labels {
	if !l.built {
		pairs := l.pairs
		if l.v2 {
			pairs, _ = resolve(&l.st.pairs, l.refs, l.syms)
		}
		l.ls, l.built = l.st.build(pairs), true
	}
	return l.ls
}

// set gives the labels when the caller built them.
func (l *lazyLabels) set(ls labels.Labels) { l.ls, l.built = ls, true }

// append appends one sample or histogram. cached says ref came from the ref
// cache and was not yet confirmed by the storage in this request; the
// storage gets the labels only when ref is 0 (or they were built anyway), and
// a cached ref it refuses for another reason than the sample is retried with
// the labels and ref 0.
func (a *limitedAppender) append(ref storage.SeriesRef, cached bool, ll *lazyLabels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AOptions) (storage.SeriesRef, error) {
	if t > a.maxTime {
		return 0, errTooFarInFuture
	}
	if h != nil && histogram.IsExponentialSchemaReserved(h.Schema) && h.Schema > histogram.ExponentialSchemaMax {
		if err := h.ReduceResolution(histogram.ExponentialSchemaMax); err != nil {
			return 0, err
		}
	}
	if fh != nil && histogram.IsExponentialSchemaReserved(fh.Schema) && fh.Schema > histogram.ExponentialSchemaMax {
		if err := fh.ReduceResolution(histogram.ExponentialSchemaMax); err != nil {
			return 0, err
		}
	}
	ls := ll.ls
	if ref == 0 {
		ls = ll.get()
	}
	r, err := a.app.Append(ref, ls, st, t, v, h, fh, opts)
	if err != nil && cached && ref != 0 && retryable(err) {
		r, err = a.app.Append(0, ll.get(), st, t, v, h, fh, opts)
	}
	return r, err
}

func retryable(err error) bool {
	return !isPartial(err) && !isSampleError(err) && !isHistogramValidationError(err)
}

// appendExemplars appends exemplars sorted by timestamp, dropping (and
// reporting as partial errors) those too far in the future.
func (a *limitedAppender) appendExemplars(ref storage.SeriesRef, cached bool, ls labels.Labels, ex []exemplar.Exemplar) (storage.SeriesRef, error) {
	valid, partialErr := a.limitExemplars(ex)
	if len(valid) == 0 {
		return ref, partialErr.ToError()
	}
	r, err := a.app.AppendExemplars(ref, ls, valid)
	if err != nil && cached && ref != 0 && retryable(err) {
		r, err = a.app.AppendExemplars(0, ls, valid)
	}
	partialErr, err = partialErr.Handle(err)
	if err != nil {
		return r, err
	}
	return r, partialErr.ToError()
}

func (a *limitedAppender) limitExemplars(ex []exemplar.Exemplar) ([]exemplar.Exemplar, *storage.AppendPartialError) {
	var (
		futureErrs []storage.ExemplarError
		valid      = ex
	)
	for i, e := range ex {
		if e.Ts > a.maxTime {
			if futureErrs == nil {
				valid = make([]exemplar.Exemplar, 0, len(ex)-1)
				valid = append(valid, ex[:i]...)
			}
			futureErrs = append(futureErrs, storage.ExemplarError{Index: i, Err: errTooFarInFuture})
			continue
		}
		if futureErrs != nil {
			valid = append(valid, e)
		}
	}
	if len(futureErrs) == 0 {
		return valid, nil
	}
	return valid, &storage.AppendPartialError{ExemplarErrors: futureErrs}
}
