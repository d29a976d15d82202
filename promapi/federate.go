package promapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/httputil"
	"google.golang.org/protobuf/proto"
)

// federation is /federate's state: its two counters, registered once.
type federation struct {
	once     sync.Once
	errors   prometheus.Counter
	warnings prometheus.Counter
}

// Federate returns the handler of GET /federate, which Prometheus serves
// outside /api/v1: the latest sample (within the lookback delta) of every
// series the match[] selectors select, in the exposition format the Accept
// header negotiates, with the configuration's external labels. It reads the
// request's tenant (X-Scope-OrgID, as the API does). Mount it at /federate
// behind the server's readiness check.
func (a *API) Federate() http.Handler {
	a.fed.once.Do(func() {
		a.fed.errors = prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_web_federation_errors_total",
			Help: "Total number of errors that occurred while sending federation responses.",
		})
		a.fed.warnings = prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_web_federation_warnings_total",
			Help: "Total number of warnings that occurred while sending federation responses.",
		})
		if a.opts.Registerer != nil {
			a.opts.Registerer.MustRegister(a.fed.warnings, a.fed.errors)
		}
	})
	return httputil.CompressionHandler{Handler: http.HandlerFunc(a.federate)}
}

// federationFormats are the formats /federate offers, the first being the
// default, in Prometheus's order.
var federationFormats = []expfmt.Format{
	expfmt.NewFormat(expfmt.TypeProtoDelim),
	expfmt.NewFormat(expfmt.TypeProtoText),
	expfmt.NewFormat(expfmt.TypeProtoCompact),
	expfmt.NewFormat(expfmt.TypeTextPlain),
}

func (a *API) federate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, fmt.Sprintf("error parsing form values: %v", err), http.StatusBadRequest)
		return
	}
	matcherSets, err := a.parser.ParseMetricSelectors(r.Form["match[]"])
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	_, st, apiErr := a.tenant(r)
	if apiErr != nil {
		code := http.StatusBadRequest
		if apiErr.typ == errorInternal {
			code = http.StatusInternalServerError
		}
		http.Error(w, apiErr.err.Error(), code)
		return
	}

	lookback := a.opts.LookbackDelta
	if lookback <= 0 {
		lookback = 5 * time.Minute // --query.lookback-delta's default
	}
	now := a.now()
	mint, maxt := timestamp.FromTime(now.Add(-lookback)), timestamp.FromTime(now)
	format := expfmt.NegotiateAccept(r.Header, federationFormats...)
	w.Header().Set("Content-Type", string(format))

	q, err := st.Querier(mint, maxt)
	if err != nil {
		a.fed.errors.Inc()
		if errors.Is(err, ErrTSDBNotReady) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer q.Close()

	vec, err := a.latestSamples(r, q, matcherSets, mint, maxt, lookback.Milliseconds())
	if err != nil {
		a.fed.errors.Inc()
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var ext labels.Labels
	if a.opts.Config != nil {
		ext = a.opts.Config().GlobalConfig.ExternalLabels
	}
	if err := a.writeFederation(expfmt.NewEncoder(w, format), format, vec, ext); err != nil {
		a.fed.errors.Inc()
		a.logger.Error("federation failed", "err", err)
	}
}

// latestSamples returns, for every series the matcher sets select, its last
// sample at or before maxt within the lookback delta, stale markers left out
// (the exposition formats have none; a federating server's own staleness
// handles the gap), sorted by metric name only, as Prometheus sorts them.
func (a *API) latestSamples(r *http.Request, q storage.Querier, matcherSets [][]*labels.Matcher, mint, maxt, lookbackMs int64) (promql.Vector, error) {
	hints := &storage.SelectHints{Start: mint, End: maxt}
	sets := make([]storage.SeriesSet, 0, len(matcherSets))
	for _, ms := range matcherSets {
		sets = append(sets, q.Select(r.Context(), true, hints, ms...))
	}
	set := storage.NewMergeSeriesSet(sets, 0, storage.ChainedSeriesMerge)
	buf := storage.NewBuffer(lookbackMs)
	var it chunkenc.Iterator
	var vec promql.Vector
	for set.Next() {
		s := set.At()
		it = s.Iterator(it)
		buf.Reset(it)
		var (
			t  int64
			f  float64
			fh *histogram.FloatHistogram
		)
		switch buf.Seek(maxt) {
		case chunkenc.ValFloat:
			t, f = buf.At()
		case chunkenc.ValHistogram, chunkenc.ValFloatHistogram:
			t, fh = buf.AtFloatHistogram(nil)
		default:
			// Past maxt or exhausted: the newest sample before maxt is
			// the last one the buffer kept.
			prev, ok := buf.PeekBack(1)
			if !ok {
				continue
			}
			t = prev.T()
			switch prev.Type() {
			case chunkenc.ValFloat:
				f = prev.F()
			case chunkenc.ValHistogram:
				fh = prev.H().ToFloat(nil)
			case chunkenc.ValFloatHistogram:
				fh = prev.FH().Copy() // the buffer is reused for the next series
			default:
				continue
			}
		}
		if value.IsStaleNaN(f) || fh != nil && value.IsStaleNaN(fh.Sum) {
			continue
		}
		vec = append(vec, promql.Sample{Metric: s.Labels(), T: t, F: f, H: fh})
	}
	if ws := set.Warnings(); len(ws) > 0 {
		a.logger.Debug("Federation select returned warnings", "warnings", ws)
		a.fed.warnings.Add(float64(len(ws)))
	}
	if err := set.Err(); err != nil {
		return nil, err
	}
	// Prometheus's unstable sort by name alone; the same input order gives
	// the same output order.
	slices.SortFunc(vec, func(x, y promql.Sample) int {
		return strings.Compare(x.Metric.Get(labels.MetricName), y.Metric.Get(labels.MetricName))
	})
	return vec, nil
}

// writeFederation encodes vec as metric families: one family per run of
// samples with the same name and kind (float, histogram, gauge histogram),
// so a name can appear in more than one family, which Prometheus's parsers
// accept. External labels (and an empty instance label) are added where the
// series lacks them; native histograms with exponential buckets go out only
// in the protobuf formats, custom-bucket ones as classic histograms.
func (a *API) writeFederation(enc expfmt.Encoder, format expfmt.Format, vec promql.Vector, external labels.Labels) error {
	ext := external.Map()
	if _, ok := ext[model.InstanceLabel]; !ok {
		ext[model.InstanceLabel] = ""
	}
	extNames := make([]string, 0, len(ext))
	for n := range ext {
		extNames = append(extNames, n)
	}
	sort.Strings(extNames)
	protobuf := false
	switch format.FormatType() {
	case expfmt.TypeProtoDelim, expfmt.TypeProtoText, expfmt.TypeProtoCompact:
		protobuf = true
	}

	var (
		fam                         *dto.MetricFamily
		lastName                    string
		lastHistogram, lastGaugeHis bool
	)
	for _, s := range vec {
		isHist := s.H != nil
		if isHist && !s.H.UsesCustomBuckets() && !protobuf {
			continue
		}
		isGaugeHist := isHist && s.H.CounterResetHint == histogram.GaugeType
		name := s.Metric.Get(labels.MetricName)
		if name == "" {
			a.logger.Warn("Ignoring nameless metric during federation", "metric", s.Metric)
			continue
		}
		if fam == nil || name != lastName || isHist != lastHistogram || isHist && isGaugeHist != lastGaugeHis {
			if fam != nil {
				if err := enc.Encode(fam); err != nil {
					return err
				}
			}
			typ := dto.MetricType_UNTYPED
			switch {
			case isGaugeHist:
				typ = dto.MetricType_GAUGE_HISTOGRAM
			case isHist:
				typ = dto.MetricType_HISTOGRAM
			}
			fam = &dto.MetricFamily{Name: proto.String(name), Type: typ.Enum()}
			lastName = name
		}
		m := &dto.Metric{}
		used := map[string]bool{}
		s.Metric.Range(func(l labels.Label) {
			if l.Value == "" || l.Name == labels.MetricName {
				return // an empty value is an unset label
			}
			m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(l.Name), Value: proto.String(l.Value)})
			if _, ok := ext[l.Name]; ok {
				used[l.Name] = true
			}
		})
		for _, n := range extNames {
			if !used[n] {
				m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(n), Value: proto.String(ext[n])})
			}
		}
		m.TimestampMs = proto.Int64(s.T)
		switch {
		case !isHist:
			m.Untyped = &dto.Untyped{Value: proto.Float64(s.F)}
		case s.H.UsesCustomBuckets():
			m.Histogram = classicHistogram(s.H)
		default:
			m.Histogram = nativeHistogram(s.H)
		}
		lastHistogram, lastGaugeHis = isHist, isGaugeHist
		fam.Metric = append(fam.Metric, m)
	}
	if fam != nil {
		return enc.Encode(fam)
	}
	return nil
}

// nativeHistogram is h (exponential buckets) in the exposition's terms.
func nativeHistogram(h *histogram.FloatHistogram) *dto.Histogram {
	return &dto.Histogram{
		SampleCountFloat: proto.Float64(h.Count),
		SampleSum:        proto.Float64(h.Sum),
		Schema:           proto.Int32(h.Schema),
		ZeroThreshold:    proto.Float64(h.ZeroThreshold),
		ZeroCountFloat:   proto.Float64(h.ZeroCount),
		NegativeCount:    h.NegativeBuckets,
		PositiveCount:    h.PositiveBuckets,
		NegativeSpan:     bucketSpans(h.NegativeSpans),
		PositiveSpan:     bucketSpans(h.PositiveSpans),
	}
}

func bucketSpans(spans []histogram.Span) []*dto.BucketSpan {
	if len(spans) == 0 {
		return nil
	}
	out := make([]*dto.BucketSpan, len(spans))
	for i, sp := range spans {
		out[i] = &dto.BucketSpan{Offset: proto.Int32(sp.Offset), Length: proto.Uint32(sp.Length)}
	}
	return out
}

// classicHistogram is a custom-bucket histogram (NHCB) as a classic one:
// cumulative counts per upper bound; the +Inf bucket is left to the encoder,
// as it is optional in protobuf and added by the text encoders.
func classicHistogram(h *histogram.FloatHistogram) *dto.Histogram {
	out := &dto.Histogram{
		SampleCountFloat: proto.Float64(h.Count),
		SampleSum:        proto.Float64(h.Sum),
		Bucket:           make([]*dto.Bucket, len(h.CustomValues)),
	}
	it := h.PositiveBucketIterator()
	ok := it.Next()
	var cum float64
	for i, le := range h.CustomValues {
		for ok && int(it.At().Index) < i {
			ok = it.Next()
		}
		if ok && int(it.At().Index) == i {
			cum += it.At().Count
		}
		out.Bucket[i] = &dto.Bucket{UpperBound: proto.Float64(le), CumulativeCountFloat: proto.Float64(cum)}
	}
	return out
}
