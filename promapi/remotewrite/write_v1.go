package remotewrite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/storage"
)

// writeV1 appends a decoded 1.0 request like Prometheus: series with invalid
// labels are skipped (and counted), the first refused sample aborts and rolls
// back the whole request, exemplar errors never fail it.
func (h *handler) writeV1(ctx context.Context, st *reqState, a storage.AppendableV2, c *refCache) (err error) {
	samplesAppended := 0
	app0 := a.AppenderV2(ctx)
	defer func() {
		if err != nil {
			_ = app0.Rollback()
			return
		}
		err = app0.Commit()
		if err != nil {
			// Mirrors Prometheus 3.16, which counts here only when the commit fails.
			h.withoutMetadata.Add(float64(samplesAppended))
			return
		}
		st.flush(c)
	}()
	exApp, ok := app0.(storage.ExemplarAppenderV2)
	if !ok {
		return fmt.Errorf("remote write 1.0 receiver requires a storage.ExemplarAppenderV2, got %T", app0)
	}
	app := limitedAppender{app: exApp, maxTime: timestamp.FromTime(time.Now().Add(maxAheadTime))}

	r := &st.v1
	outOfOrderExemplars, invalid := 0, 0
	st.lookupV1(c)
	for si := range r.series {
		s := &r.series[si]
		ce := &st.hits[si]
		hit := ce.ref != 0
		ll := lazyLabels{st: st, pairs: r.labels[s.labels.lo:s.labels.hi]}
		if !hit {
			ls := ll.get()
			if !ls.Has(labels.MetricName) || !ls.IsValid(model.UTF8Validation) {
				h.logger.Warn("Invalid metric names or labels", "got", ls.String())
				invalid++
				continue
			} else if dup, has := ls.HasDuplicateLabelNames(); has {
				h.logger.Warn("Invalid labels for series.", "labels", ls.String(), "duplicated_label", dup)
				invalid++
				continue
			}
		}
		ref, cached := ce.ref, hit
		for _, smp := range r.samples[s.samples.lo:s.samples.hi] {
			ref, err = app.append(ref, cached, &ll, 0, smp.t, smp.v, nil, nil, storage.AOptions{})
			cached = false
			if err != nil && !isPartial(err) {
				if isSampleError(err) {
					h.logger.Error("Out of order sample from remote write", "err", err.Error(), "series", ll.get().String(), "timestamp", smp.t)
				}
				return err
			}
		}
		samplesAppended += int(s.samples.hi - s.samples.lo)
		for hi := s.histograms.lo; hi < s.histograms.hi; hi++ {
			hp := &r.histograms[hi]
			if hp.isFloat() {
				ref, err = app.append(ref, cached, &ll, 0, hp.timestamp, 0, nil, hp.toFloat(&r.hbufs), storage.AOptions{})
			} else {
				ref, err = app.append(ref, cached, &ll, 0, hp.timestamp, 0, hp.toInt(&r.hbufs), nil, storage.AOptions{})
			}
			cached = false
			if err != nil && !isPartial(err) {
				if isSampleError(err) {
					h.logger.Error("Out of order histogram from remote write", "err", err.Error(), "series", ll.get().String(), "timestamp", hp.timestamp)
				}
				return err
			}
		}
		samplesAppended += int(s.histograms.hi - s.histograms.lo)

		if s.exemplars.hi > s.exemplars.lo {
			ls := ll.get()
			st.ex = st.ex[:0]
			for _, e := range r.exemplars[s.exemplars.lo:s.exemplars.hi] {
				st.sb.Reset()
				for _, l := range r.exLabels[e.labels.lo:e.labels.hi] {
					addLabel(&st.sb, l.name, l.value)
				}
				st.sb.Sort()
				st.ex = append(st.ex, exemplar.Exemplar{Labels: st.sb.Labels(), Value: e.v, Ts: e.t, HasTs: e.t != 0})
			}
			slices.SortFunc(st.ex, exemplar.Compare)
			exRef, exErr := app.appendExemplars(ref, cached, ls, st.ex)
			if ref == 0 && exErr == nil {
				ref = exRef
			}
			if exErr != nil {
				if pErr, ok := errors.AsType[*storage.AppendPartialError](exErr); ok {
					for _, eErr := range pErr.ExemplarErrors {
						if errors.Is(eErr, storage.ErrOutOfOrderExemplar) {
							outOfOrderExemplars++
						}
					}
				}
				h.logger.Debug("Error while adding exemplars", "series", ls.String(), "err", exErr)
			}
		}
		st.remember(ce, ref)
	}
	if outOfOrderExemplars > 0 {
		h.logger.Warn("Error on ingesting out-of-order exemplars", "num_dropped", outOfOrderExemplars)
	}
	if invalid > 0 {
		h.invalidLabels.Add(float64(invalid))
	}
	return nil
}
