package remotewrite

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/schema"
	"github.com/prometheus/prometheus/storage"
)

// stats are the counts of 2.0's X-Prometheus-Remote-Write-*-Written headers.
type stats struct{ samples, histograms, exemplars int }

// writeV2 appends a decoded 2.0 request like Prometheus: refused samples and
// invalid series become a 400 listing each problem while the rest is still
// committed (a partial write); any other storage error rolls everything back
// and answers 500 with zero counts.
func (h *handler) writeV2(ctx context.Context, st *reqState, a storage.AppendableV2, c *refCache) (stats, int, error) {
	app0 := a.AppenderV2(ctx)
	exApp, ok := app0.(storage.ExemplarAppenderV2)
	if !ok {
		_ = app0.Rollback()
		return stats{}, http.StatusInternalServerError, fmt.Errorf("remote write 2.x receiver requires a storage.ExemplarAppenderV2, got %T", app0)
	}
	app := limitedAppender{app: exApp, maxTime: timestamp.FromTime(time.Now().Add(maxAheadTime))}
	var s stats
	withoutMeta, code, err := h.appendV2(&app, st, c, &s)
	if err != nil {
		if code/5 == 100 {
			if rerr := app0.Rollback(); rerr != nil {
				h.logger.Error("writev2 rollback failed on retry-able error", "err", rerr)
			}
			return stats{}, code, err
		}
		if cerr := app0.Commit(); cerr != nil {
			return stats{}, http.StatusInternalServerError, cerr
		}
		st.flush(c)
		h.withoutMetadata.Add(float64(withoutMeta))
		return s, code, err
	}
	if err := app0.Commit(); err != nil {
		return stats{}, http.StatusInternalServerError, err
	}
	st.flush(c)
	h.withoutMetadata.Add(float64(withoutMeta))
	return s, 0, nil
}

// resolve turns symbol refs into label pairs in st.pairs, with the errors of
// writev2's desymbolizeLabels.
func resolve(dst *[]bytesLabel, refs []uint32, symbols []string) ([]bytesLabel, error) {
	if len(refs)%2 != 0 {
		return nil, fmt.Errorf("invalid labelRefs length %d", len(refs))
	}
	p := (*dst)[:0]
	for i := 0; i < len(refs); i += 2 {
		n, v := refs[i], refs[i+1]
		if int(n) >= len(symbols) || int(v) >= len(symbols) {
			return nil, fmt.Errorf("labelRefs %d (name) = %d (value) outside of symbols table (size %d)", n, v, len(symbols))
		}
		p = append(p, bytesLabel{name: symbols[n], value: symbols[v]})
	}
	*dst = p
	return p, nil
}

// toMetadata mirrors writev2.TimeSeries.ToMetadata. The strings alias the
// request unless clone is set.
func toMetadata(m v2Metadata, symbols []string, clone bool) (metadata.Metadata, error) {
	typ := model.MetricTypeUnknown
	switch m.typ {
	case 1:
		typ = model.MetricTypeCounter
	case 2:
		typ = model.MetricTypeGauge
	case 3:
		typ = model.MetricTypeHistogram
	case 4:
		typ = model.MetricTypeGaugeHistogram
	case 5:
		typ = model.MetricTypeSummary
	case 6:
		typ = model.MetricTypeInfo
	case 7:
		typ = model.MetricTypeStateset
	}
	if int(m.unitRef) >= len(symbols) {
		return metadata.Metadata{}, fmt.Errorf("metadata unit_ref %d outside of symbols table (size %d)", m.unitRef, len(symbols))
	}
	if int(m.helpRef) >= len(symbols) {
		return metadata.Metadata{}, fmt.Errorf("metadata help_ref %d outside of symbols table (size %d)", m.helpRef, len(symbols))
	}
	md := metadata.Metadata{Type: typ, Unit: symbols[m.unitRef], Help: symbols[m.helpRef]}
	if clone {
		md.Unit, md.Help = strings.Clone(md.Unit), strings.Clone(md.Help)
	}
	return md, nil
}

// checkMetadata returns toMetadata's error without building the metadata.
func checkMetadata(m v2Metadata, symbols []string) error {
	if int(m.unitRef) >= len(symbols) || int(m.helpRef) >= len(symbols) {
		_, err := toMetadata(m, symbols, false)
		return err
	}
	return nil
}

// metadataEmpty is toMetadata(m).IsEmpty() for valid m: an unknown type (0
// or a value without a name), no unit and no help.
func metadataEmpty(m v2Metadata, symbols []string) bool {
	return (m.typ < 1 || m.typ > 7) && symbols[m.unitRef] == "" && symbols[m.helpRef] == ""
}

func (h *handler) appendV2(app *limitedAppender, st *reqState, c *refCache, rs *stats) (withoutMeta, code int, err error) {
	var (
		badRequest                   []error
		outOfOrderExemplars, invalid int
		r                            = &st.v2
	)
	// Metadata strings are only needed to append them or to make labels.
	needMeta := h.o.AppendMetadata || h.o.EnableTypeAndUnitLabels
	st.lookupV2(c)
	for si := range r.series {
		ts := &r.series[si]
		refs := r.refs[ts.labelRefs.lo:ts.labelRefs.hi]
		nSamples := int(ts.samples.hi-ts.samples.lo) + int(ts.histograms.hi-ts.histograms.lo)
		ce := &st.hits[si]
		hit := ce.ref != 0
		ll := lazyLabels{st: st, refs: refs, syms: r.symbols, v2: true}
		if !ce.hashed {
			// Only for the error: a hashed series has valid refs.
			if _, err := resolve(&st.pairs, refs, r.symbols); err != nil {
				badRequest = append(badRequest, fmt.Errorf("parsing labels for series %v: %w", refs, err))
				invalid += nSamples
				continue
			}
		}
		var m metadata.Metadata
		if needMeta {
			m, err = toMetadata(ts.meta, r.symbols, h.o.AppendMetadata)
		} else {
			err = checkMetadata(ts.meta, r.symbols)
		}
		if err != nil {
			badRequest = append(badRequest, fmt.Errorf("parsing metadata for series %v: %w", refs, err))
			continue
		}
		if h.o.EnableTypeAndUnitLabels && (m.Type != model.MetricTypeUnknown || m.Unit != "") {
			// The stored labels differ from the sent pairs: no caching.
			ce.hashed, hit = false, false
			ls := ll.get()
			slb := labels.NewScratchBuilder(ls.Len() + 2)
			ls.Range(func(l labels.Label) {
				if l.Name != model.MetricTypeLabel && l.Name != model.MetricUnitLabel {
					slb.Add(l.Name, l.Value)
				}
			})
			schema.Metadata{Type: m.Type, Unit: m.Unit}.AddToLabels(&slb)
			slb.Sort()
			ll.set(slb.Labels())
		}
		if !hit {
			ls := ll.get()
			if !ls.Has(labels.MetricName) || !ls.IsValid(model.UTF8Validation) {
				badRequest = append(badRequest, fmt.Errorf("invalid metric name or labels, got %v", ls.String()))
				invalid += nSamples
				continue
			} else if dup, has := ls.HasDuplicateLabelNames(); has {
				badRequest = append(badRequest, fmt.Errorf("invalid labels for series, labels %v, duplicated label %s", ls.String(), dup))
				invalid += nSamples
				continue
			}
		}
		if nSamples == 0 {
			badRequest = append(badRequest, fmt.Errorf("TimeSeries must contain at least one sample or histogram for series %v", ll.get().String()))
			continue
		}

		soFar := rs.samples + rs.histograms
		opts := storage.AOptions{}
		if h.o.AppendMetadata {
			opts.Metadata = m
		}
		ref, cached := ce.ref, hit
		for _, smp := range r.samples[ts.samples.lo:ts.samples.hi] {
			ref, err = app.append(ref, cached, &ll, smp.st, smp.t, smp.v, nil, nil, opts)
			cached = false
			if _, err = h.handlePartial(err, &ll, &outOfOrderExemplars, &badRequest); err == nil {
				rs.samples++
				continue
			}
			if isSampleError(err) {
				ls := ll.get()
				h.logger.Error("Out of order sample from remote write", "err", err.Error(), "series", ls.String(), "timestamp", smp.t)
				badRequest = append(badRequest, fmt.Errorf("%w for series %v", err, ls.String()))
				continue
			}
			return 0, http.StatusInternalServerError, err
		}
		for hi := ts.histograms.lo; hi < ts.histograms.hi; hi++ {
			hp := &r.histograms[hi]
			if hp.isFloat() {
				ref, err = app.append(ref, cached, &ll, hp.startTimestamp, hp.timestamp, 0, nil, hp.toFloat(&r.hbufs), opts)
			} else {
				ref, err = app.append(ref, cached, &ll, hp.startTimestamp, hp.timestamp, 0, hp.toInt(&r.hbufs), nil, opts)
			}
			cached = false
			if _, err = h.handlePartial(err, &ll, &outOfOrderExemplars, &badRequest); err == nil {
				rs.histograms++
				continue
			}
			ls := ll.get()
			if isSampleError(err) {
				h.logger.Error("Out of order histogram from remote write", "err", err.Error(), "series", ls.String(), "timestamp", hp.timestamp)
				badRequest = append(badRequest, fmt.Errorf("%w for series %v", err, ls.String()))
				continue
			}
			if isHistogramValidationError(err) {
				h.logger.Error("Invalid histogram received", "err", err.Error(), "series", ls.String(), "timestamp", hp.timestamp)
				badRequest = append(badRequest, fmt.Errorf("%w for series %v", err, ls.String()))
				continue
			}
			return 0, http.StatusInternalServerError, err
		}
		if needMeta && m.IsEmpty() || !needMeta && metadataEmpty(ts.meta, r.symbols) {
			withoutMeta += rs.samples + rs.histograms - soFar
		}

		if ts.exemplars.hi > ts.exemplars.lo {
			ls := ll.get()
			st.ex = st.ex[:0]
			for _, e := range r.exemplars[ts.exemplars.lo:ts.exemplars.hi] {
				exPairs, err := resolve(&st.exPairs, r.exRefs[e.labelRefs.lo:e.labelRefs.hi], r.symbols)
				if err != nil {
					badRequest = append(badRequest, fmt.Errorf("parsing exemplar for series %v: %w", ls.String(), err))
					continue
				}
				st.sb.Reset()
				for _, p := range exPairs {
					addLabel(&st.sb, p.name, p.value)
				}
				st.sb.Sort()
				st.ex = append(st.ex, exemplar.Exemplar{Labels: st.sb.Labels(), Value: e.v, Ts: e.t, HasTs: e.t != 0})
			}
			if len(st.ex) > 0 {
				slices.SortFunc(st.ex, exemplar.Compare)
				_, err := app.appendExemplars(ref, cached, ls, st.ex)
				failed, err := h.handlePartial(err, &ll, &outOfOrderExemplars, &badRequest)
				if err != nil {
					h.logger.Error("failed to ingest exemplars, emitting error log, but no error for PRW caller", "err", err.Error(), "series", ls.String())
				} else {
					rs.exemplars += max(0, len(st.ex)-failed)
				}
			}
		}
		st.remember(ce, ref)
	}
	if outOfOrderExemplars > 0 {
		h.logger.Warn("Error on ingesting out-of-order exemplars", "num_dropped", outOfOrderExemplars)
	}
	h.invalidLabels.Add(float64(invalid))
	if len(badRequest) == 0 {
		return withoutMeta, 0, nil
	}
	return withoutMeta, http.StatusBadRequest, errors.Join(badRequest...)
}

// handlePartial mirrors Prometheus's handleV2PartialErr: a partial error
// means the sample was written but some exemplars were not; out-of-order
// exemplars become part of the 400 answer, other exemplar errors are logged.
func (h *handler) handlePartial(err error, ll *lazyLabels, outOfOrderExemplars *int, badRequest *[]error) (int, error) {
	if err == nil || !isPartial(err) {
		return 0, err
	}
	pErr, ok := errors.AsType[*storage.AppendPartialError](err)
	if !ok {
		return 0, err
	}
	ls := ll.get()
	for _, eErr := range pErr.ExemplarErrors {
		if errors.Is(eErr, storage.ErrOutOfOrderExemplar) {
			*outOfOrderExemplars++
			*badRequest = append(*badRequest, fmt.Errorf("%w for series %v", eErr, ls.String()))
			continue
		}
		h.logger.Error("failed to ingest exemplar, emitting error log, but no error for PRW caller", "err", eErr.Error(), "series", ls.String())
	}
	return len(pErr.ExemplarErrors), nil
}
