package datagen

import (
	"math"
	"math/rand/v2"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/value"
)

// Native histogram layout shared by the generators: schema 3, a zero bucket,
// two positive spans with a gap between them and one negative span.
var (
	posSpans = []histogram.Span{{Offset: -2, Length: 6}, {Offset: 3, Length: 4}}
	negSpans = []histogram.Span{{Offset: 1, Length: 3}}
)

func spanLen(s []histogram.Span) int {
	n := 0
	for _, sp := range s {
		n += int(sp.Length)
	}
	return n
}

func deltas(counts []int64) []int64 {
	d := make([]int64, len(counts))
	prev := int64(0)
	for i, c := range counts {
		d[i] = c - prev
		prev = c
	}
	return d
}

// histogramSeries returns the native histogram series of the data set:
// cmp_native_hist (integer, one with a schema change at +20m, one with a
// counter reset at +30m, one plain), cmp_native_hist_float (float counters and
// a gauge histogram) and cmp_native_hist_nhcb (custom buckets).
func histogramSeries(base int64) []Series {
	r := rand.New(rand.NewPCG(7, 3))
	var out []Series
	for _, kind := range []string{"plain", "schema_change", "reset"} {
		s := Series{Labels: lbls("__name__", "cmp_native_hist", "job", "native", "kind", kind)}
		pos := make([]int64, spanLen(posSpans))
		neg := make([]int64, spanLen(negSpans))
		var zero uint64
		sum := 0.0
		for i := 0; i < Points(); i++ {
			if kind == "reset" && i == 120 {
				clear(pos)
				clear(neg)
				zero, sum = 0, 0
			}
			for b := range pos {
				pos[b] += int64(r.IntN(4))
			}
			for b := range neg {
				neg[b] += int64(r.IntN(2))
			}
			zero += uint64(r.IntN(2))
			sum += r.Float64()*10 - 2
			count := zero
			for _, c := range pos {
				count += uint64(c)
			}
			for _, c := range neg {
				count += uint64(c)
			}
			h := &histogram.Histogram{
				Schema:          3,
				ZeroThreshold:   0.001,
				ZeroCount:       zero,
				Count:           count,
				Sum:             sum,
				PositiveSpans:   append([]histogram.Span(nil), posSpans...),
				PositiveBuckets: deltas(pos),
				NegativeSpans:   append([]histogram.Span(nil), negSpans...),
				NegativeBuckets: deltas(neg),
			}
			if kind == "schema_change" && i >= 80 {
				_ = h.ReduceResolution(1) // a valid histogram always reduces
			}
			s.Hists = append(s.Hists, HistSample{T: base + int64(i)*ms(Step), H: h})
		}
		out = append(out, s)
	}
	for _, kind := range []string{"counter", "gauge"} {
		s := Series{Labels: lbls("__name__", "cmp_native_hist_float", "job", "native", "kind", kind)}
		pos := make([]float64, spanLen(posSpans))
		zero, sum := 0.0, 0.0
		for i := 0; i < Points(); i++ {
			for b := range pos {
				if kind == "gauge" {
					pos[b] = math.Round(r.Float64()*500) / 100
				} else {
					pos[b] += math.Round(r.Float64()*300) / 100
				}
			}
			zero += 0.25
			sum += r.Float64() * 3
			count := zero
			for _, c := range pos {
				count += c
			}
			fh := &histogram.FloatHistogram{
				Schema:          0,
				ZeroThreshold:   1e-128,
				ZeroCount:       zero,
				Count:           count,
				Sum:             sum,
				PositiveSpans:   append([]histogram.Span(nil), posSpans...),
				PositiveBuckets: append([]float64(nil), pos...),
			}
			if kind == "gauge" {
				fh.CounterResetHint = histogram.GaugeType
			}
			s.Hists = append(s.Hists, HistSample{T: base + int64(i)*ms(Step), FH: fh})
		}
		out = append(out, s)
	}
	nhcb := Series{Labels: lbls("__name__", "cmp_native_hist_nhcb", "job", "native")}
	custom := []float64{0.1, 0.5, 1, 5}
	counts := make([]int64, len(custom)+1)
	sum := 0.0
	for i := 0; i < Points(); i++ {
		total := uint64(0)
		for b := range counts {
			counts[b] += int64(r.IntN(6))
			total += uint64(counts[b])
		}
		sum += r.Float64() * 4
		nhcb.Hists = append(nhcb.Hists, HistSample{T: base + int64(i)*ms(Step), H: &histogram.Histogram{
			Schema:          histogram.CustomBucketsSchema,
			Count:           total,
			Sum:             sum,
			PositiveSpans:   []histogram.Span{{Offset: 0, Length: uint32(len(counts))}},
			PositiveBuckets: deltas(counts),
			CustomValues:    custom,
		}})
	}
	out = append(out, nhcb)
	return out
}

// histogramStaleMarkers returns, for a later request, a stale marker ending
// the "plain" native histogram series 30s after its last sample.
func histogramStaleMarkers(base int64) []Series {
	return []Series{{
		Labels: lbls("__name__", "cmp_native_hist", "job", "native", "kind", "plain"),
		Floats: []FloatSample{{T: base + ms(Span) + 30000, V: math.Float64frombits(value.StaleNaN)}},
	}}
}
