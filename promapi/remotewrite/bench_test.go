package remotewrite

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/prometheus/prometheus/storage"
)

const benchSeries = 2000 // Prometheus's default max_samples_per_send, one sample per series

func benchLabels(i int) []string {
	return []string{
		"__name__", "http_requests_total",
		"cluster", "eu-west-1",
		"code", strconv.Itoa(200 + i%5),
		"handler", "/api/v1/query_range",
		"instance", "10.0.0." + strconv.Itoa(i%250) + ":9100",
		"job", "node-exporter",
		"method", "GET",
		"pod", "node-exporter-" + strconv.Itoa(i),
	}
}

func benchV1(t0 int64) []byte {
	req := &prompb.WriteRequest{}
	for i := range benchSeries {
		req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: lbls(benchLabels(i)...), Samples: []prompb.Sample{{Timestamp: t0, Value: float64(i) * 1.5}}})
	}
	b, err := req.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

func benchV2(t0 int64) []byte {
	b := newV2()
	for i := range benchSeries {
		b.series(writev2.TimeSeries{LabelsRefs: b.refs(benchLabels(i)...), Samples: []writev2.Sample{{Timestamp: t0, Value: float64(i) * 1.5}},
			Metadata: writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER, HelpRef: b.sym("Total requests.")}})
	}
	out, err := b.req.Marshal()
	if err != nil {
		panic(err)
	}
	return out
}

func reportPerSample(b *testing.B, samples int) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(samples)
	b.ReportMetric(ns, "ns/sample")
	b.ReportMetric(1e9/ns, "samples/s")
}

func BenchmarkDecodeV1(b *testing.B) {
	data := benchV1(1_700_000_000_000)
	var r v1Request
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.decode(data); err != nil {
			b.Fatal(err)
		}
	}
	reportPerSample(b, benchSeries)
}

func BenchmarkDecodeV2(b *testing.B) {
	data := benchV2(1_700_000_000_000)
	var r v2Request
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.decode(data); err != nil {
			b.Fatal(err)
		}
	}
	reportPerSample(b, benchSeries)
}

// BenchmarkUpstreamUnmarshalV1/V2 are the gogo decoders, for comparison.
func BenchmarkUpstreamUnmarshalV1(b *testing.B) {
	data := benchV1(1_700_000_000_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var r prompb.WriteRequest
		if err := r.Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
	reportPerSample(b, benchSeries)
}

func BenchmarkUpstreamUnmarshalV2(b *testing.B) {
	data := benchV2(1_700_000_000_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var r writev2.Request
		if err := r.Unmarshal(data); err != nil {
			b.Fatal(err)
		}
	}
	reportPerSample(b, benchSeries)
}

// sink is a counting Appendable: not a model of a storage, just the end of
// the pipe so that the benchmark measures the handler alone.
type sink struct{ samples, nextRef atomic.Int64 }

func (s *sink) AppenderV2(context.Context) storage.AppenderV2 { return sinkApp{s} }

type sinkApp struct{ s *sink }

func (a sinkApp) Append(ref storage.SeriesRef, _ labels.Labels, _, _ int64, _ float64, _ *histogram.Histogram, _ *histogram.FloatHistogram, _ storage.AOptions) (storage.SeriesRef, error) {
	a.s.samples.Add(1)
	if ref == 0 {
		ref = storage.SeriesRef(a.s.nextRef.Add(1))
	}
	return ref, nil
}

func (a sinkApp) AppendExemplars(ref storage.SeriesRef, _ labels.Labels, _ []exemplar.Exemplar) (storage.SeriesRef, error) {
	return ref, nil
}
func (sinkApp) Commit() error   { return nil }
func (sinkApp) Rollback() error { return nil }

// nopWriter is a reusable ResponseWriter.
type nopWriter struct {
	h    http.Header
	code int
	body []byte
}

func (w *nopWriter) Header() http.Header { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) {
	w.body = append(w.body[:0], b...)
	return len(b), nil
}
func (w *nopWriter) WriteHeader(c int) { w.code = c }

func BenchmarkHandler(b *testing.B) {
	for _, bc := range []struct {
		name, ct string
		data     []byte
	}{{"v1", ctV1, benchV1(nowMs())}, {"v2", ctV2, benchV2(nowMs())}} {
		b.Run(bc.name, func(b *testing.B) {
			s := &sink{}
			h := NewHandler(Options{Appendable: func(string) (storage.AppendableV2, error) { return s, nil }})
			body := snappy.Encode(nil, bc.data)
			rd := bytes.NewReader(body)
			req, _ := http.NewRequest(http.MethodPost, "/api/v1/write", rd)
			req.Header.Set("Content-Type", bc.ct)
			req.Header.Set("Content-Encoding", "snappy")
			req.ContentLength = int64(len(body))
			w := &nopWriter{h: http.Header{}}
			b.SetBytes(int64(len(bc.data)))
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				h.ServeHTTP(w, req)
				if w.code != http.StatusNoContent {
					b.Fatalf("status %d", w.code)
				}
			}
			reportPerSample(b, benchSeries)
		})
	}
}
