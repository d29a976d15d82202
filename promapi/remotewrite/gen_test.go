package remotewrite

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"
)

// Random requests built with the upstream types, for the equivalence tests.

var testStrings = []string{"", "__name__", "job", "instance", "le", "a", "zzz", "métrique_ü", "日本語", "🔥", "with space", "x\x00y", "http_requests_total", "node_cpu_seconds_total"}

func randString(rng *rand.Rand) string {
	if rng.IntN(3) == 0 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return string(b)
	}
	return testStrings[rng.IntN(len(testStrings))]
}

func randFloat(rng *rand.Rand) float64 {
	switch rng.IntN(8) {
	case 0:
		return math.NaN()
	case 1:
		return math.Float64frombits(0x7ff0000000000002) // a NaN with payload (stale-marker-like)
	case 2:
		return math.Inf(-1 + 2*rng.IntN(2))
	case 3:
		return 0
	case 4:
		return float64(rng.IntN(1000))
	default:
		return rng.NormFloat64() * 1e6
	}
}

func randInt64(rng *rand.Rand) int64 {
	switch rng.IntN(4) {
	case 0:
		return 0
	case 1:
		return -rng.Int64()
	default:
		return rng.Int64N(2e12)
	}
}

func randSpans(rng *rand.Rand) []histogram.Span {
	n := rng.IntN(4)
	if n == 0 {
		return nil
	}
	s := make([]histogram.Span, n)
	for i := range s {
		s[i] = histogram.Span{Offset: rng.Int32N(20) - 10, Length: uint32(rng.IntN(5))}
	}
	return s
}

func randDeltas(rng *rand.Rand) []int64 {
	n := rng.IntN(6)
	if n == 0 {
		return nil
	}
	d := make([]int64, n)
	for i := range d {
		d[i] = rng.Int64N(200) - 100
	}
	return d
}

func randFloats(rng *rand.Rand) []float64 {
	n := rng.IntN(6)
	if n == 0 {
		return nil
	}
	d := make([]float64, n)
	for i := range d {
		d[i] = randFloat(rng)
	}
	return d
}

func randIntHistogram(rng *rand.Rand) *histogram.Histogram {
	h := &histogram.Histogram{
		CounterResetHint: histogram.CounterResetHint(rng.IntN(4)),
		Schema:           rng.Int32N(12) - 4,
		ZeroThreshold:    randFloat(rng),
		ZeroCount:        rng.Uint64N(1000),
		Count:            rng.Uint64N(1 << 40),
		Sum:              randFloat(rng),
		PositiveSpans:    randSpans(rng),
		PositiveBuckets:  randDeltas(rng),
		NegativeSpans:    randSpans(rng),
		NegativeBuckets:  randDeltas(rng),
	}
	if rng.IntN(4) == 0 {
		h.Schema = histogram.CustomBucketsSchema
		h.CustomValues = randFloats(rng)
	}
	return h
}

func randFloatHistogram(rng *rand.Rand) *histogram.FloatHistogram {
	h := &histogram.FloatHistogram{
		CounterResetHint: histogram.CounterResetHint(rng.IntN(4)),
		Schema:           rng.Int32N(12) - 4,
		ZeroThreshold:    randFloat(rng),
		ZeroCount:        randFloat(rng),
		Count:            randFloat(rng),
		Sum:              randFloat(rng),
		PositiveSpans:    randSpans(rng),
		PositiveBuckets:  randFloats(rng),
		NegativeSpans:    randSpans(rng),
		NegativeBuckets:  randFloats(rng),
	}
	if rng.IntN(4) == 0 {
		h.Schema = histogram.CustomBucketsSchema
		h.CustomValues = randFloats(rng)
	}
	return h
}

func randLabelsV1(rng *rand.Rand) []prompb.Label {
	n := rng.IntN(6)
	ls := make([]prompb.Label, n)
	for i := range ls {
		ls[i] = prompb.Label{Name: randString(rng), Value: randString(rng)}
	}
	return ls
}

func randV1(rng *rand.Rand) *prompb.WriteRequest {
	req := &prompb.WriteRequest{}
	for range rng.IntN(6) {
		ts := prompb.TimeSeries{Labels: randLabelsV1(rng)}
		for range rng.IntN(5) {
			ts.Samples = append(ts.Samples, prompb.Sample{Value: randFloat(rng), Timestamp: randInt64(rng)})
		}
		for range rng.IntN(3) {
			ts.Exemplars = append(ts.Exemplars, prompb.Exemplar{Labels: randLabelsV1(rng), Value: randFloat(rng), Timestamp: randInt64(rng)})
		}
		for range rng.IntN(3) {
			if rng.IntN(2) == 0 {
				ts.Histograms = append(ts.Histograms, prompb.FromIntHistogram(randInt64(rng), randIntHistogram(rng)))
			} else {
				ts.Histograms = append(ts.Histograms, prompb.FromFloatHistogram(randInt64(rng), randFloatHistogram(rng)))
			}
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	for range rng.IntN(3) {
		req.Metadata = append(req.Metadata, prompb.MetricMetadata{Type: prompb.MetricMetadata_MetricType(rng.IntN(8)), MetricFamilyName: randString(rng), Help: randString(rng), Unit: randString(rng)})
	}
	return req
}

func randRefs(rng *rand.Rand, nsym int) []uint32 {
	n := rng.IntN(5) * 2
	if rng.IntN(20) == 0 {
		n++ // odd: invalid, but decodable
	}
	if n == 0 {
		return nil
	}
	r := make([]uint32, n)
	for i := range r {
		r[i] = uint32(rng.IntN(nsym + 2)) // sometimes out of range
	}
	return r
}

func randV2(rng *rand.Rand) *writev2.Request {
	req := &writev2.Request{}
	for range rng.IntN(10) {
		req.Symbols = append(req.Symbols, randString(rng))
	}
	ns := len(req.Symbols)
	for range rng.IntN(6) {
		ts := writev2.TimeSeries{LabelsRefs: randRefs(rng, ns)}
		for range rng.IntN(5) {
			ts.Samples = append(ts.Samples, writev2.Sample{Value: randFloat(rng), Timestamp: randInt64(rng), StartTimestamp: randInt64(rng)})
		}
		for range rng.IntN(3) {
			ts.Exemplars = append(ts.Exemplars, writev2.Exemplar{LabelsRefs: randRefs(rng, ns), Value: randFloat(rng), Timestamp: randInt64(rng)})
		}
		for range rng.IntN(3) {
			if rng.IntN(2) == 0 {
				ts.Histograms = append(ts.Histograms, writev2.FromIntHistogram(randInt64(rng), randInt64(rng), randIntHistogram(rng)))
			} else {
				ts.Histograms = append(ts.Histograms, writev2.FromFloatHistogram(randInt64(rng), randInt64(rng), randFloatHistogram(rng)))
			}
		}
		ts.Metadata = writev2.Metadata{Type: writev2.Metadata_MetricType(rng.IntN(9)), HelpRef: uint32(rng.IntN(ns + 1)), UnitRef: uint32(rng.IntN(ns + 1))}
		req.Timeseries = append(req.Timeseries, ts)
	}
	return req
}

// histFields is a histogram with floats as bits and empty slices as nil, so
// that require.Equal compares NaNs bit for bit.
type histFields struct {
	CountKind, ZeroKind         uint8
	CountInt, ZeroInt           uint64
	CountFloat, ZeroFloat       uint64
	Sum, ZeroThreshold          uint64
	Schema, ResetHint           int32
	T, ST                       int64
	NegSpans, PosSpans          []histogram.Span
	NegDeltas, PosDeltas        []int64
	NegCounts, PosCounts, Cvals []uint64
}

func bitsOf(f []float64) []uint64 {
	if len(f) == 0 {
		return nil
	}
	b := make([]uint64, len(f))
	for i, v := range f {
		b[i] = math.Float64bits(v)
	}
	return b
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func spansV1(s []prompb.BucketSpan) []histogram.Span {
	var out []histogram.Span
	for _, x := range s {
		out = append(out, histogram.Span{Offset: x.Offset, Length: x.Length})
	}
	return out
}

func spansV2(s []writev2.BucketSpan) []histogram.Span {
	var out []histogram.Span
	for _, x := range s {
		out = append(out, histogram.Span{Offset: x.Offset, Length: x.Length})
	}
	return out
}

func fieldsOfRaw(h *rawHistogram, b *histBufs) histFields {
	return histFields{
		CountKind: h.countKind, ZeroKind: h.zeroKind,
		CountInt: h.countInt, ZeroInt: h.zeroCountInt,
		CountFloat: math.Float64bits(h.countFloat), ZeroFloat: math.Float64bits(h.zeroCountFloat),
		Sum: math.Float64bits(h.sum), ZeroThreshold: math.Float64bits(h.zeroThreshold),
		Schema: h.schema, ResetHint: h.resetHint, T: h.timestamp, ST: h.startTimestamp,
		NegSpans:  nilIfEmpty(b.negSpans[h.negSpans.lo:h.negSpans.hi]),
		PosSpans:  nilIfEmpty(b.posSpans[h.posSpans.lo:h.posSpans.hi]),
		NegDeltas: nilIfEmpty(b.negDeltas[h.negDeltas.lo:h.negDeltas.hi]),
		PosDeltas: nilIfEmpty(b.posDeltas[h.posDeltas.lo:h.posDeltas.hi]),
		NegCounts: bitsOf(b.negCounts[h.negCounts.lo:h.negCounts.hi]),
		PosCounts: bitsOf(b.posCounts[h.posCounts.lo:h.posCounts.hi]),
		Cvals:     bitsOf(b.customs[h.customs.lo:h.customs.hi]),
	}
}

func fieldsOfV1(h *prompb.Histogram) histFields {
	f := histFields{
		Sum: math.Float64bits(h.Sum), ZeroThreshold: math.Float64bits(h.ZeroThreshold),
		Schema: h.Schema, ResetHint: int32(h.ResetHint), T: h.Timestamp,
		NegSpans: spansV1(h.NegativeSpans), PosSpans: spansV1(h.PositiveSpans),
		NegDeltas: nilIfEmpty(h.NegativeDeltas), PosDeltas: nilIfEmpty(h.PositiveDeltas),
		NegCounts: bitsOf(h.NegativeCounts), PosCounts: bitsOf(h.PositiveCounts), Cvals: bitsOf(h.CustomValues),
	}
	switch c := h.Count.(type) {
	case *prompb.Histogram_CountInt:
		f.CountKind, f.CountInt = kindInt, c.CountInt
	case *prompb.Histogram_CountFloat:
		f.CountKind, f.CountFloat = kindFloat, math.Float64bits(c.CountFloat)
	}
	switch c := h.ZeroCount.(type) {
	case *prompb.Histogram_ZeroCountInt:
		f.ZeroKind, f.ZeroInt = kindInt, c.ZeroCountInt
	case *prompb.Histogram_ZeroCountFloat:
		f.ZeroKind, f.ZeroFloat = kindFloat, math.Float64bits(c.ZeroCountFloat)
	}
	return f
}

func fieldsOfV2(h *writev2.Histogram) histFields {
	f := histFields{
		Sum: math.Float64bits(h.Sum), ZeroThreshold: math.Float64bits(h.ZeroThreshold),
		Schema: h.Schema, ResetHint: int32(h.ResetHint), T: h.Timestamp, ST: h.StartTimestamp,
		NegSpans: spansV2(h.NegativeSpans), PosSpans: spansV2(h.PositiveSpans),
		NegDeltas: nilIfEmpty(h.NegativeDeltas), PosDeltas: nilIfEmpty(h.PositiveDeltas),
		NegCounts: bitsOf(h.NegativeCounts), PosCounts: bitsOf(h.PositiveCounts), Cvals: bitsOf(h.CustomValues),
	}
	switch c := h.Count.(type) {
	case *writev2.Histogram_CountInt:
		f.CountKind, f.CountInt = kindInt, c.CountInt
	case *writev2.Histogram_CountFloat:
		f.CountKind, f.CountFloat = kindFloat, math.Float64bits(c.CountFloat)
	}
	switch c := h.ZeroCount.(type) {
	case *writev2.Histogram_ZeroCountInt:
		f.ZeroKind, f.ZeroInt = kindInt, c.ZeroCountInt
	case *writev2.Histogram_ZeroCountFloat:
		f.ZeroKind, f.ZeroFloat = kindFloat, math.Float64bits(c.ZeroCountFloat)
	}
	return f
}

// normInt/normFloat make converted histograms comparable (bits, nil slices).
type convHist struct {
	Hint          histogram.CounterResetHint
	Schema        int32
	ZT, ZC, C, S  uint64
	PS, NS        []histogram.Span
	PBi, NBi      []int64
	PBf, NBf, CVf []uint64
}

func normInt(h *histogram.Histogram) convHist {
	return convHist{Hint: h.CounterResetHint, Schema: h.Schema, ZT: math.Float64bits(h.ZeroThreshold), ZC: h.ZeroCount, C: h.Count, S: math.Float64bits(h.Sum),
		PS: nilIfEmpty(h.PositiveSpans), NS: nilIfEmpty(h.NegativeSpans), PBi: nilIfEmpty(h.PositiveBuckets), NBi: nilIfEmpty(h.NegativeBuckets), CVf: bitsOf(h.CustomValues)}
}

func normFloat(h *histogram.FloatHistogram) convHist {
	return convHist{Hint: h.CounterResetHint, Schema: h.Schema, ZT: math.Float64bits(h.ZeroThreshold), ZC: math.Float64bits(h.ZeroCount), C: math.Float64bits(h.Count), S: math.Float64bits(h.Sum),
		PS: nilIfEmpty(h.PositiveSpans), NS: nilIfEmpty(h.NegativeSpans), PBf: bitsOf(h.PositiveBuckets), NBf: bitsOf(h.NegativeBuckets), CVf: bitsOf(h.CustomValues)}
}

func requireLabelsV1(t testing.TB, ours []bytesLabel, up []prompb.Label) {
	t.Helper()
	require.Equal(t, len(up), len(ours))
	for i := range up {
		require.Equal(t, up[i].Name, ours[i].name)
		require.Equal(t, up[i].Value, ours[i].value)
	}
}

// requireSameV1 compares our decoding with upstream's, field by field.
func requireSameV1(t testing.TB, ours *v1Request, up *prompb.WriteRequest) {
	t.Helper()
	require.Equal(t, len(up.Timeseries), len(ours.series))
	for i, ts := range up.Timeseries {
		s := ours.series[i]
		requireLabelsV1(t, ours.labels[s.labels.lo:s.labels.hi], ts.Labels)
		smp := ours.samples[s.samples.lo:s.samples.hi]
		require.Equal(t, len(ts.Samples), len(smp))
		for j, us := range ts.Samples {
			require.Equal(t, math.Float64bits(us.Value), math.Float64bits(smp[j].v))
			require.Equal(t, us.Timestamp, smp[j].t)
		}
		ex := ours.exemplars[s.exemplars.lo:s.exemplars.hi]
		require.Equal(t, len(ts.Exemplars), len(ex))
		for j, ue := range ts.Exemplars {
			requireLabelsV1(t, ours.exLabels[ex[j].labels.lo:ex[j].labels.hi], ue.Labels)
			require.Equal(t, math.Float64bits(ue.Value), math.Float64bits(ex[j].v))
			require.Equal(t, ue.Timestamp, ex[j].t)
		}
		hs := ours.histograms[s.histograms.lo:s.histograms.hi]
		require.Equal(t, len(ts.Histograms), len(hs))
		for j := range ts.Histograms {
			uh := &ts.Histograms[j]
			require.Equal(t, fieldsOfV1(uh), fieldsOfRaw(&hs[j], &ours.hbufs))
			require.Equal(t, uh.IsFloatHistogram(), hs[j].isFloat())
			if uh.IsFloatHistogram() {
				require.Equal(t, normFloat(uh.ToFloatHistogram()), normFloat(hs[j].toFloat(&ours.hbufs)))
			} else {
				require.Equal(t, normInt(uh.ToIntHistogram()), normInt(hs[j].toInt(&ours.hbufs)))
			}
		}
	}
}

func requireSameV2(t testing.TB, ours *v2Request, up *writev2.Request) {
	t.Helper()
	require.Equal(t, nilIfEmpty(up.Symbols), nilIfEmpty(ours.symbols))
	require.Equal(t, len(up.Timeseries), len(ours.series))
	for i := range up.Timeseries {
		ts := &up.Timeseries[i]
		s := ours.series[i]
		require.Equal(t, nilIfEmpty(ts.LabelsRefs), nilIfEmpty(ours.refs[s.labelRefs.lo:s.labelRefs.hi]))
		require.Equal(t, int32(ts.Metadata.Type), s.meta.typ)
		require.Equal(t, ts.Metadata.HelpRef, s.meta.helpRef)
		require.Equal(t, ts.Metadata.UnitRef, s.meta.unitRef)
		smp := ours.samples[s.samples.lo:s.samples.hi]
		require.Equal(t, len(ts.Samples), len(smp))
		for j, us := range ts.Samples {
			require.Equal(t, math.Float64bits(us.Value), math.Float64bits(smp[j].v))
			require.Equal(t, us.Timestamp, smp[j].t)
			require.Equal(t, us.StartTimestamp, smp[j].st)
		}
		ex := ours.exemplars[s.exemplars.lo:s.exemplars.hi]
		require.Equal(t, len(ts.Exemplars), len(ex))
		for j, ue := range ts.Exemplars {
			require.Equal(t, nilIfEmpty(ue.LabelsRefs), nilIfEmpty(ours.exRefs[ex[j].labelRefs.lo:ex[j].labelRefs.hi]))
			require.Equal(t, math.Float64bits(ue.Value), math.Float64bits(ex[j].v))
			require.Equal(t, ue.Timestamp, ex[j].t)
		}
		hs := ours.histograms[s.histograms.lo:s.histograms.hi]
		require.Equal(t, len(ts.Histograms), len(hs))
		for j := range ts.Histograms {
			uh := &ts.Histograms[j]
			require.Equal(t, fieldsOfV2(uh), fieldsOfRaw(&hs[j], &ours.hbufs))
			require.Equal(t, uh.IsFloatHistogram(), hs[j].isFloat())
			if uh.IsFloatHistogram() {
				require.Equal(t, normFloat(uh.ToFloatHistogram()), normFloat(hs[j].toFloat(&ours.hbufs)))
			} else {
				require.Equal(t, normInt(uh.ToIntHistogram()), normInt(hs[j].toInt(&ours.hbufs)))
			}
		}
	}
}
