package wal

import (
	"fmt"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
)

// Bitwise comparisons: floats compare by math.Float64bits so that NaNs (and
// the stale marker's payload) count.

func sameFloat(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }

func sameFloats(a, b []float64) bool {
	return slices.EqualFunc(a, b, sameFloat) && (a == nil) == (b == nil)
}

func sameInts(a, b []int64) bool { return slices.Equal(a, b) && (a == nil) == (b == nil) }

func sameSpans(a, b []histogram.Span) bool { return slices.Equal(a, b) && (a == nil) == (b == nil) }

func sameLabels(a, b labels.Labels) bool { return labels.Equal(a, b) }

func sameHistogram(a, b *histogram.Histogram) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.CounterResetHint == b.CounterResetHint && a.Schema == b.Schema && sameFloat(a.ZeroThreshold, b.ZeroThreshold) &&
		a.ZeroCount == b.ZeroCount && a.Count == b.Count && sameFloat(a.Sum, b.Sum) &&
		sameSpans(a.PositiveSpans, b.PositiveSpans) && sameSpans(a.NegativeSpans, b.NegativeSpans) &&
		sameInts(a.PositiveBuckets, b.PositiveBuckets) && sameInts(a.NegativeBuckets, b.NegativeBuckets) &&
		sameFloats(a.CustomValues, b.CustomValues)
}

func sameFloatHistogram(a, b *histogram.FloatHistogram) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.CounterResetHint == b.CounterResetHint && a.Schema == b.Schema && sameFloat(a.ZeroThreshold, b.ZeroThreshold) &&
		sameFloat(a.ZeroCount, b.ZeroCount) && sameFloat(a.Count, b.Count) && sameFloat(a.Sum, b.Sum) &&
		sameSpans(a.PositiveSpans, b.PositiveSpans) && sameSpans(a.NegativeSpans, b.NegativeSpans) &&
		sameFloats(a.PositiveBuckets, b.PositiveBuckets) && sameFloats(a.NegativeBuckets, b.NegativeBuckets) &&
		sameFloats(a.CustomValues, b.CustomValues)
}

func diffSeries(a, b []RefSeries) error {
	return diffSlices(a, b, func(x, y RefSeries) bool { return x.Ref == y.Ref && sameLabels(x.Labels, y.Labels) })
}

func diffSamples(a, b []RefSample) error {
	return diffSlices(a, b, func(x, y RefSample) bool { return x.Ref == y.Ref && x.T == y.T && sameFloat(x.V, y.V) })
}

func diffHistogramSamples(a, b []RefHistogramSample) error {
	return diffSlices(a, b, func(x, y RefHistogramSample) bool { return x.Ref == y.Ref && x.T == y.T && sameHistogram(x.H, y.H) })
}

func diffFloatHistogramSamples(a, b []RefFloatHistogramSample) error {
	return diffSlices(a, b, func(x, y RefFloatHistogramSample) bool {
		return x.Ref == y.Ref && x.T == y.T && sameFloatHistogram(x.FH, y.FH)
	})
}

func diffExemplars(a, b []RefExemplar) error {
	return diffSlices(a, b, func(x, y RefExemplar) bool {
		return x.Ref == y.Ref && x.T == y.T && sameFloat(x.V, y.V) && sameLabels(x.Labels, y.Labels)
	})
}

func diffMetadata(a, b []RefMetadata) error {
	return diffSlices(a, b, func(x, y RefMetadata) bool { return x == y })
}

func diffSlices[T any](a, b []T, eq func(x, y T) bool) error {
	if len(a) != len(b) {
		return fmt.Errorf("length %d != %d", len(a), len(b))
	}
	for i := range a {
		if !eq(a[i], b[i]) {
			return fmt.Errorf("element %d differs:\n%+v\n%+v", i, a[i], b[i])
		}
	}
	return nil
}
