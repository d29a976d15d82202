package wal

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
)

// Random record contents for the codec tests, covering the edges of every
// field: special floats, huge and negative deltas, empty and odd strings.

var specialFloats = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.5, 12.34, math.NaN(), math.Float64frombits(0x7ff0000000000002), // stale marker
	math.Inf(1), math.Inf(-1), 1 << 53, -(1 << 53), 1<<53 - 1, -(1<<53 - 1), 1e300, 5e-324, math.MaxFloat64,
	float64(math.MaxInt64), float64(math.MinInt64), 4.9e-324, 123456789,
}

func genFloat(r *rand.Rand) float64 {
	switch r.IntN(4) {
	case 0:
		return specialFloats[r.IntN(len(specialFloats))]
	case 1:
		return float64(r.Int64N(1<<40) - 1<<39)
	case 2:
		return math.Float64frombits(r.Uint64())
	default:
		return r.NormFloat64() * 1000
	}
}

func genInt64(r *rand.Rand) int64 {
	switch r.IntN(4) {
	case 0:
		return []int64{0, 1, -1, math.MaxInt64, math.MinInt64}[r.IntN(5)]
	case 1:
		return int64(r.Uint64())
	default:
		return 1_700_000_000_000 + r.Int64N(1_000_000)
	}
}

func genRef(r *rand.Rand) SeriesRef {
	switch r.IntN(4) {
	case 0:
		return SeriesRef([]uint64{0, 1, math.MaxUint64, math.MaxUint64 - 1}[r.IntN(4)])
	case 1:
		return SeriesRef(r.Uint64())
	default:
		return SeriesRef(r.IntN(1_000_000))
	}
}

func genString(r *rand.Rand) string {
	switch r.IntN(5) {
	case 0:
		return ""
	case 1:
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	case 2:
		return "ünïcødé_✓"
	default:
		return fmt.Sprintf("name_%d", r.IntN(1000))
	}
}

func genLabels(r *rand.Rand) labels.Labels {
	n := r.IntN(8)
	b := labels.NewScratchBuilder(n)
	seen := map[string]bool{}
	for range n {
		name := genString(r)
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		b.Add(name, genString(r))
	}
	b.Sort()
	return b.Labels()
}

func genSpans(r *rand.Rand) []histogram.Span {
	n := r.IntN(4)
	if n == 0 {
		return nil
	}
	s := make([]histogram.Span, n)
	for i := range s {
		s[i] = histogram.Span{Offset: int32(r.Uint32()), Length: r.Uint32()}
		if r.IntN(2) == 0 {
			s[i] = histogram.Span{Offset: int32(r.IntN(10) - 5), Length: uint32(r.IntN(10))}
		}
	}
	return s
}

func genInts(r *rand.Rand) []int64 {
	n := r.IntN(6)
	if n == 0 {
		return nil
	}
	s := make([]int64, n)
	for i := range s {
		s[i] = genInt64(r)
	}
	return s
}

func genFloats(r *rand.Rand) []float64 {
	n := r.IntN(6)
	if n == 0 {
		return nil
	}
	s := make([]float64, n)
	for i := range s {
		s[i] = genFloat(r)
	}
	return s
}

func genHistogram(r *rand.Rand) *histogram.Histogram {
	h := &histogram.Histogram{
		CounterResetHint: histogram.CounterResetHint(r.IntN(4)),
		Schema:           int32(r.IntN(13) - 4),
		ZeroThreshold:    genFloat(r),
		ZeroCount:        r.Uint64(),
		Count:            uint64(r.IntN(1000)),
		Sum:              genFloat(r),
		PositiveSpans:    genSpans(r),
		NegativeSpans:    genSpans(r),
		PositiveBuckets:  genInts(r),
		NegativeBuckets:  genInts(r),
	}
	if r.IntN(3) == 0 {
		h.Schema = -53
		h.CustomValues = genFloats(r)
	}
	return h
}

func genFloatHistogram(r *rand.Rand) *histogram.FloatHistogram {
	h := &histogram.FloatHistogram{
		CounterResetHint: histogram.CounterResetHint(r.IntN(4)),
		Schema:           int32(r.Int32()),
		ZeroThreshold:    genFloat(r),
		ZeroCount:        genFloat(r),
		Count:            genFloat(r),
		Sum:              genFloat(r),
		PositiveSpans:    genSpans(r),
		NegativeSpans:    genSpans(r),
		PositiveBuckets:  genFloats(r),
		NegativeBuckets:  genFloats(r),
		CustomValues:     genFloats(r),
	}
	return h
}

var metricTypeChoices = []model.MetricType{"", model.MetricTypeCounter, model.MetricTypeGauge, model.MetricTypeHistogram,
	model.MetricTypeGaugeHistogram, model.MetricTypeSummary, model.MetricTypeInfo, model.MetricTypeStateset,
	model.MetricTypeUnknown, "something_else"}

func genSeries(r *rand.Rand, n int) []RefSeries {
	s := make([]RefSeries, n)
	for i := range s {
		s[i] = RefSeries{Ref: genRef(r), Labels: genLabels(r)}
	}
	return s
}

func genSamples(r *rand.Rand, n int) []RefSample {
	s := make([]RefSample, n)
	for i := range s {
		s[i] = RefSample{Ref: genRef(r), T: genInt64(r), V: genFloat(r)}
	}
	return s
}

func genHistogramSamples(r *rand.Rand, n int) []RefHistogramSample {
	s := make([]RefHistogramSample, n)
	for i := range s {
		s[i] = RefHistogramSample{Ref: genRef(r), T: genInt64(r), H: genHistogram(r)}
	}
	return s
}

func genFloatHistogramSamples(r *rand.Rand, n int) []RefFloatHistogramSample {
	s := make([]RefFloatHistogramSample, n)
	for i := range s {
		s[i] = RefFloatHistogramSample{Ref: genRef(r), T: genInt64(r), FH: genFloatHistogram(r)}
	}
	return s
}

func genExemplars(r *rand.Rand, n int) []RefExemplar {
	s := make([]RefExemplar, n)
	for i := range s {
		s[i] = RefExemplar{Ref: genRef(r), T: genInt64(r), V: genFloat(r), Labels: genLabels(r)}
	}
	return s
}

func genMetadata(r *rand.Rand, n int) []RefMetadata {
	s := make([]RefMetadata, n)
	for i := range s {
		s[i] = RefMetadata{Ref: genRef(r), Type: metricTypeChoices[r.IntN(len(metricTypeChoices))], Unit: genString(r), Help: genString(r)}
	}
	return s
}
