package wal

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkLog measures group commit: b.RunParallel with 1 and 8 writers per
// core (GOMAXPROCS=2 here: 2 and 16 goroutines), both writers, both
// policies. ns/op is wall time per record across all writers, so records/s =
// 1e9/(ns/op); fsyncs/op shows the batching.
func BenchmarkLog(b *testing.B) {
	rec := AppendSamplesRecord(nil, genSamples(rand.New(rand.NewPCG(1, 1)), 40)) // ~500 B: a scrape-sized batch
	for _, kind := range []string{WriterPwrite, WriterIOUring} {
		for _, policy := range []SyncPolicy{SyncAlways, SyncInterval} {
			for _, par := range []int{1, 8} {
				b.Run(fmt.Sprintf("%s/%s/par=%d", kind, policy, par), func(b *testing.B) {
					w, err := Open(Options{Dir: b.TempDir(), Writer: kind, Sync: policy})
					if err != nil {
						b.Fatal(err)
					}
					defer w.Close()
					b.SetBytes(int64(len(rec)))
					b.ReportAllocs()
					b.SetParallelism(par)
					flushes0 := counterValue(w.metrics.pageFlushes)
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := w.Log(rec); err != nil {
								b.Error(err)
								return
							}
						}
					})
					b.StopTimer()
					b.ReportMetric((counterValue(w.metrics.pageFlushes)-flushes0)/float64(b.N), "writes/op")
				})
			}
		}
	}
}

func benchCodec[T any](b *testing.B, gen func(*rand.Rand, int) []T, enc func([]byte, []T) []byte,
	dec func([]byte, []T) ([]T, error), n int) {
	entries := gen(rand.New(rand.NewPCG(2, 2)), n)
	rec := enc(nil, entries)
	b.Run("encode", func(b *testing.B) {
		buf := make([]byte, 0, len(rec))
		b.SetBytes(int64(len(rec)))
		b.ReportAllocs()
		for b.Loop() {
			buf = enc(buf[:0], entries)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
	})
	b.Run("decode", func(b *testing.B) {
		dst := make([]T, 0, n)
		b.SetBytes(int64(len(rec)))
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if dst, err = dec(rec, dst[:0]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
	})
}

// realisticSamples is a scrape-like batch: consecutive refs, one timestamp,
// half integer counters, half 2-decimal gauges.
func realisticSamples(r *rand.Rand, n int) []RefSample {
	s := make([]RefSample, n)
	for i := range s {
		v := float64(r.IntN(1_000_000))
		if i%2 == 1 {
			v = float64(r.IntN(100_000)) / 100
		}
		s[i] = RefSample{Ref: SeriesRef(1000 + i), T: 1_700_000_000_000, V: v}
	}
	return s
}

func BenchmarkSamplesRecord(b *testing.B) {
	benchCodec(b, realisticSamples, AppendSamplesRecord, DecodeSamplesRecord, 1000)
	rec := AppendSamplesRecord(nil, realisticSamples(rand.New(rand.NewPCG(2, 2)), 1000))
	b.Logf("realistic samples: %.2f bytes/sample", float64(len(rec))/1000)
}

func BenchmarkSeriesRecord(b *testing.B) {
	benchCodec(b, genSeries, AppendSeriesRecord, DecodeSeriesRecord, 100)
}

func BenchmarkHistogramsRecord(b *testing.B) {
	benchCodec(b, genHistogramSamples, AppendHistogramsRecord, DecodeHistogramsRecord, 100)
}

func BenchmarkFloatHistogramsRecord(b *testing.B) {
	benchCodec(b, genFloatHistogramSamples, AppendFloatHistogramsRecord, DecodeFloatHistogramsRecord, 100)
}

func BenchmarkExemplarsRecord(b *testing.B) {
	benchCodec(b, genExemplars, AppendExemplarsRecord, DecodeExemplarsRecord, 100)
}

func BenchmarkMetadataRecord(b *testing.B) {
	benchCodec(b, genMetadata, AppendMetadataRecord, DecodeMetadataRecord, 100)
}

// BenchmarkReplay measures reading a WAL back.
func BenchmarkReplay(b *testing.B) {
	dir := b.TempDir()
	w, err := Open(Options{Dir: dir, SegmentSize: 8 << 20, Writer: WriterPwrite, Sync: SyncInterval})
	if err != nil {
		b.Fatal(err)
	}
	rec := AppendSamplesRecord(nil, realisticSamples(rand.New(rand.NewPCG(3, 3)), 1000))
	const n = 2000
	for range n {
		if err := w.Log(rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	w, err = Open(Options{Dir: dir, SegmentSize: 8 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.SetBytes(int64(n * (len(rec) + frameHeaderSize)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Replay(func([]byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
