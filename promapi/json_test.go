package promapi

import (
	"bytes"
	"math"
	"testing"

	jsoniter "github.com/json-iterator/go"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"
	"github.com/prometheus/prometheus/util/jsonutil"
)

// The reference for every encoder here is what Prometheus's codec calls:
// jsoniter streams and the upstream util/jsonutil helpers.

func refStream(f func(s *jsoniter.Stream)) []byte {
	s := jsoniter.ConfigCompatibleWithStandardLibrary.BorrowStream(nil)
	defer jsoniter.ConfigCompatibleWithStandardLibrary.ReturnStream(s)
	f(s)
	return append([]byte(nil), s.Buffer()...)
}

func checkString(t *testing.T, in string) {
	t.Helper()
	want := refStream(func(s *jsoniter.Stream) { s.WriteString(in) })
	if got := appendRawString([]byte("x"), in); !bytes.Equal(got[1:], want) {
		t.Errorf("raw %q: got %s, want %s", in, got[1:], want)
	}
	want, err := jsoniter.ConfigCompatibleWithStandardLibrary.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendString([]byte("x"), in); !bytes.Equal(got[1:], want) {
		t.Errorf("escaped %q: got %s, want %s", in, got[1:], want)
	}
}

func TestJSONStrings(t *testing.T) {
	for _, s := range []string{"", "plain", `"q" \ /`, "<a href='x'>&amp;</a>", "\n\r\t\b\f\x00\x1f\x7f",
		"é ü 日本", "\u2028\u2029", "bad \xff\xfe utf8", "\xed\xa0\x80", "trailing \xe2\x82"} {
		checkString(t, s)
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "a<b>&c", "\u2028", "\xff", "\"\\\n", "日本\x01"} {
		f.Add(s)
	}
	f.Fuzz(checkString)
}

func checkFloat(t *testing.T, v float64) {
	t.Helper()
	want := refStream(func(s *jsoniter.Stream) { jsonutil.MarshalFloat(v, s) })
	if got := appendFloat(nil, v); !bytes.Equal(got, want) {
		t.Errorf("float %v (%#x): got %s, want %s", v, math.Float64bits(v), got, want)
	}
}

func TestJSONFloats(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99e-7, 1e21, 9.99e20, -1e21, 123456789.123,
		math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64, 1.5e300} {
		checkFloat(t, v)
	}
}

func FuzzJSONFloat(f *testing.F) {
	for _, v := range []float64{0, 1e-7, 1e21, math.NaN(), math.Inf(-1), 42.5} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) { checkFloat(t, math.Float64frombits(bits)) })
}

func checkTimestamp(t *testing.T, ms int64) {
	t.Helper()
	if ms == math.MinInt64 {
		return // upstream negates it into garbage; no sample carries it
	}
	want := refStream(func(s *jsoniter.Stream) { jsonutil.MarshalTimestamp(ms, s) })
	if got := appendTimestamp(nil, ms); !bytes.Equal(got, want) {
		t.Errorf("timestamp %d: got %s, want %s", ms, got, want)
	}
}

func TestJSONTimestamps(t *testing.T) {
	for _, ms := range []int64{0, 1, 10, 100, 999, 1000, 1001, 1500, -1, -999, -1000, -1500, 1795708800123, math.MaxInt64, math.MinInt64 + 1} {
		checkTimestamp(t, ms)
	}
}

func FuzzJSONTimestamp(f *testing.F) {
	for _, ms := range []int64{0, 7, -7, 1795708800123, math.MaxInt64} {
		f.Add(ms)
	}
	f.Fuzz(checkTimestamp)
}

func testHistograms() []*histogram.FloatHistogram {
	var out []*histogram.FloatHistogram
	for i := range int64(5) {
		out = append(out,
			tsdbutil.GenerateTestFloatHistogram(i),
			tsdbutil.GenerateTestHistogram(i).ToFloat(nil),
			tsdbutil.GenerateTestGaugeFloatHistogram(i),
			tsdbutil.GenerateTestCustomBucketsFloatHistogram(i),
		)
	}
	out = append(out, &histogram.FloatHistogram{}, &histogram.FloatHistogram{Count: math.NaN(), Sum: math.Inf(-1)},
		&histogram.FloatHistogram{Schema: 3, ZeroThreshold: 0.001, ZeroCount: 2, Count: 2})
	return out
}

func TestJSONHistograms(t *testing.T) {
	for i, h := range testHistograms() {
		want := refStream(func(s *jsoniter.Stream) { jsonutil.MarshalHistogram(h, s) })
		if got := appendHistogram(nil, h); !bytes.Equal(got, want) {
			t.Errorf("histogram %d: got %s, want %s", i, got, want)
		}
	}
}

// TestJSONLabelsThroughJsoniter checks that labels inside generic structures
// (targets, metadata) use the label encoder.
func TestJSONLabelsThroughJsoniter(t *testing.T) {
	v := struct {
		L labels.Labels `json:"l"`
		E labels.Labels `json:"e,omitempty"`
	}{L: labels.FromStrings("a", "<&>", "b", "\u2028")}
	got, err := jsonAPI.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\"l\":{\"a\":\"<&>\",\"b\":\"\u2028\"}}"; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func benchMatrix() promql.Matrix {
	var m promql.Matrix
	for s := range 100 {
		series := promql.Series{Metric: labels.FromStrings("__name__", "http_requests_total", "job", "api", "instance", "host-"+string(rune('a'+s%26)))}
		for i := range 1000 {
			series.Floats = append(series.Floats, promql.FPoint{T: 1795708800000 + int64(i)*15000, F: float64(i) * 1.25})
		}
		m = append(m, series)
	}
	return m
}

// BenchmarkEncodeMatrix is the hot path of dashboards: 100 series × 1000 points.
func BenchmarkEncodeMatrix(b *testing.B) {
	d := &queryData{resultType: "matrix", result: benchMatrix()}
	buf := d.appendJSON(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = d.appendJSON(buf[:0])
	}
}
