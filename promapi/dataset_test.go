package promapi

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"
)

// testSeries is one series of the shared data set.
type testSeries struct {
	labels    labels.Labels
	floats    []prompb.Sample // or
	hists     []*histogram.Histogram
	exemplars []prompb.Exemplar
}

const (
	dataPoints = 40
	dataStepMs = 15000
)

// testDataSet returns the series loaded into both servers: floats with
// awkward values (tiny, huge, negative, NaN), counters with exemplars, a
// native histogram, labels that need JSON escaping and UTF-8 names.
func testDataSet(base int64) []testSeries {
	odd := []float64{0, 1e-7, 1.5e21, -0.5, 123456789.123, math.NaN(), 3, math.Inf(1), 2.5e-6, 42}
	var set []testSeries
	gauge := func(ls labels.Labels, f func(i int) float64) {
		s := testSeries{labels: ls}
		for i := range dataPoints {
			s.floats = append(s.floats, prompb.Sample{Timestamp: base + int64(i)*dataStepMs, Value: f(i)})
		}
		set = append(set, s)
	}
	gauge(labels.FromStrings("__name__", "test_gauge", "job", "api", "instance", "a"), func(i int) float64 { return odd[i%len(odd)] })
	gauge(labels.FromStrings("__name__", "test_gauge", "job", "api", "instance", "b"), func(i int) float64 { return float64(i) * 0.25 })
	gauge(labels.FromStrings("__name__", "test_gauge", "job", "db", "instance", "c"), func(i int) float64 { return float64(-i) }) // -0 would not survive remote write's proto3 encoding
	for _, inst := range []string{"a", "b", "c"} {
		s := testSeries{labels: labels.FromStrings("__name__", "test_requests_total", "job", "api", "instance", inst)}
		for i := range dataPoints {
			ts := base + int64(i)*dataStepMs
			s.floats = append(s.floats, prompb.Sample{Timestamp: ts, Value: float64(i * (len(inst) + i%3))})
			if i%10 == 3 {
				s.exemplars = append(s.exemplars, prompb.Exemplar{
					Labels:    []prompb.Label{{Name: "trace_id", Value: "t" + inst + string(rune('0'+i/10))}},
					Value:     float64(i),
					Timestamp: ts,
				})
			}
		}
		set = append(set, s)
	}
	gauge(labels.FromStrings("__name__", "test_escape", "path", "/a<b>&\"c\"\n\t\u2028é\x01"), func(i int) float64 { return 1 })
	gauge(labels.FromStrings("__name__", "test.utf8.name", "label.with.dots", "x", "job", "utf8"), func(i int) float64 { return float64(i % 7) })
	h := testSeries{labels: labels.FromStrings("__name__", "test_histogram", "job", "api")}
	for i := range dataPoints {
		h.hists = append(h.hists, tsdbutil.GenerateTestHistogram(int64(i)))
	}
	set = append(set, h)
	return set
}

// writeRequest is the data set as a remote-write 1.0 request.
func writeRequest(set []testSeries, base int64) *prompb.WriteRequest {
	req := &prompb.WriteRequest{}
	for _, s := range set {
		ts := prompb.TimeSeries{Samples: s.floats, Exemplars: s.exemplars}
		s.labels.Range(func(l labels.Label) { ts.Labels = append(ts.Labels, prompb.Label{Name: l.Name, Value: l.Value}) })
		for i, hh := range s.hists {
			ts.Histograms = append(ts.Histograms, prompb.FromIntHistogram(base+int64(i)*dataStepMs, hh))
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	return req
}

// appendDataSet appends the data set to a storage as the remote-write
// receiver would.
func appendDataSet(t testing.TB, st storage.Appendable, set []testSeries, base int64) {
	app := st.Appender(context.Background())
	for _, s := range set {
		var ref storage.SeriesRef
		var err error
		for _, smp := range s.floats {
			if ref, err = app.Append(ref, s.labels, smp.Timestamp, smp.Value); err != nil {
				t.Fatal(err)
			}
		}
		for _, e := range s.exemplars {
			var el []string
			for _, l := range e.Labels {
				el = append(el, l.Name, l.Value)
			}
			if _, err = app.AppendExemplar(ref, s.labels, exemplar.Exemplar{Labels: labels.FromStrings(el...), Value: e.Value, Ts: e.Timestamp, HasTs: true}); err != nil {
				t.Fatal(err)
			}
		}
		for i, hh := range s.hists {
			if ref, err = app.AppendHistogram(ref, s.labels, base+int64(i)*dataStepMs, hh, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

// dataBase is the first sample's timestamp: a whole minute 20 minutes ago,
// inside the head's appendable window of a fresh Prometheus.
func dataBase() int64 {
	base := time.Now().Truncate(time.Minute).Add(-20 * time.Minute).UnixMilli()
	// The reference server cuts chunks at 2h boundaries and the test
	// storage does not: data across one would differ in chunk layout
	// (remote read streams chunks), so it ends before the boundary.
	const r = 2 * 3600 * 1000
	if end := base + (dataPoints-1)*dataStepMs; end/r != base/r {
		base = end/r*r - (dataPoints-1)*dataStepMs - 60_000
	}
	return base
}
