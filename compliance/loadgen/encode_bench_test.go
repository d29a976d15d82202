package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkPatchBatch measures the per-request work of the timed phase:
// rewriting every sample's value and timestamp of a 2000-sample body.
func BenchmarkPatchBatch(b *testing.B) {
	for _, p := range []Protocol{V1, V2} {
		b.Run(p.String(), func(b *testing.B) {
			cfg := Config{Series: 2000, Senders: 1, BatchSize: 2000, Protocol: p, StartMs: 1_764_000_000_000, IntervalMs: 15_000}
			l, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(l.senders[0][0].body)))
			b.ResetTimer()
			for r := 0; b.Loop(); r++ {
				if _, err := l.Body(0, 0, r%1000); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*cfg.BatchSize), "ns/sample")
		})
	}
}

// BenchmarkEncodeBatch measures the setup cost of one 2000-sample body
// (protobuf encoding and the patchable snappy compression).
func BenchmarkEncodeBatch(b *testing.B) {
	series := make([]int32, 2000)
	for i := range series {
		series[i] = int32(i * 3)
	}
	for _, p := range []Protocol{V1, V2} {
		b.Run(p.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := newBatch(p, MixNode, series); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(series)), "ns/sample")
		})
	}
}

// BenchmarkRunLoopback measures the whole send path (patch, HTTP over
// loopback, a receiver that only drains the body) per sample: the load
// generator's share of the CPU in a benchmark run, plus a minimal receiver.
func BenchmarkRunLoopback(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	cfg := Config{Series: 20_000, Senders: 4, BatchSize: 2000, Protocol: V1, StartMs: 1_764_000_000_000, IntervalMs: 15_000}
	l, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	client := NewClient(cfg.Senders)
	b.ReportAllocs()
	r := 0
	for b.Loop() {
		if _, err := l.Run(context.Background(), client, srv.URL, r, r+1); err != nil {
			b.Fatal(err)
		}
		r++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*cfg.Series), "ns/sample")
}
