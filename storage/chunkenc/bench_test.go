package chunkenc

import (
	"runtime"
	"testing"
	"time"

	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"
)

// Benchmarks beside upstream's XOR on the same data. Run with
//
//	go test ./storage/chunkenc/ -run '^$' -bench . -benchtime=200ms
//
// ns/sample and B/sample are per sample; the Size benchmark reports both
// codecs' bytes per sample and their ratio for every kind and for the mix.

const (
	benchSeries  = 64
	benchSamples = 120 // Prometheus's samples per chunk
)

var benchKinds = []string{"counter", "gauge2dec", "fullprec", "constant", "regular-counter"}

func benchData(kind string) []sequence {
	r := newRand(42)
	seqs := make([]sequence, benchSeries)
	for i := range seqs {
		ts, vs := kindByName(kind).gen(r, benchSamples)
		seqs[i] = sequence{ts: ts, vs: vs}
	}
	return seqs
}

func encodeOurs(seq sequence) *FloatChunk {
	c := NewFloatChunk()
	app, _ := c.Appender()
	for i := range seq.ts {
		app.Append(0, seq.ts[i], seq.vs[i])
	}
	c.Compact()
	return c
}

func encodeXOR(seq sequence) *upstream.XORChunk {
	c := upstream.NewXORChunk()
	app, _ := c.Appender()
	for i := range seq.ts {
		app.Append(0, seq.ts[i], seq.vs[i])
	}
	c.Compact()
	return c
}

func bytesPerSample[C upstream.Chunk](seqs []sequence, enc func(sequence) C) float64 {
	total, n := 0, 0
	for _, s := range seqs {
		total += len(enc(s).Bytes())
		n += len(s.ts)
	}
	return float64(total) / float64(n)
}

func BenchmarkSize(b *testing.B) {
	mixOurs, mixXOR := 0.0, 0.0
	for _, kind := range benchKinds {
		seqs := benchData(kind)
		ours, xor := bytesPerSample(seqs, encodeOurs), bytesPerSample(seqs, encodeXOR)
		mixOurs += mixWeights[kind] * ours
		mixXOR += mixWeights[kind] * xor
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
			}
			b.ReportMetric(ours, "mytsdb-B/sample")
			b.ReportMetric(xor, "xor-B/sample")
			b.ReportMetric(ours/xor, "ratio")
		})
	}
	b.Run("mix", func(b *testing.B) {
		for b.Loop() {
		}
		b.ReportMetric(mixOurs, "mytsdb-B/sample")
		b.ReportMetric(mixXOR, "xor-B/sample")
		b.ReportMetric(mixOurs/mixXOR, "ratio")
	})
}

func benchEncode[C upstream.Chunk](b *testing.B, seqs []sequence, enc func(sequence) C) {
	b.ReportAllocs()
	b.ReportMetric(bytesPerSample(seqs, enc), "B/sample")
	for b.Loop() {
		for _, s := range seqs {
			enc(s)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchSeries*benchSamples), "ns/sample")
}

func BenchmarkEncode(b *testing.B) {
	for _, kind := range benchKinds {
		seqs := benchData(kind)
		b.Run(kind+"/mytsdb", func(b *testing.B) { benchEncode(b, seqs, encodeOurs) })
		b.Run(kind+"/xor", func(b *testing.B) { benchEncode(b, seqs, encodeXOR) })
	}
}

func benchDecode(b *testing.B, chunks []upstream.Chunk) {
	b.ReportAllocs()
	var it upstream.Iterator
	var sum float64
	it = chunks[0].Iterator(nil)
	for b.Loop() {
		for _, c := range chunks {
			it = c.Iterator(it)
			for it.Next() != upstream.ValNone {
				_, v := it.At()
				sum += v
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchSeries*benchSamples), "ns/sample")
	_ = sum
}

func BenchmarkDecode(b *testing.B) {
	for _, kind := range benchKinds {
		seqs := benchData(kind)
		ours := make([]upstream.Chunk, len(seqs))
		xor := make([]upstream.Chunk, len(seqs))
		for i, s := range seqs {
			c, err := FromData(EncFloat, encodeOurs(s).Bytes())
			if err != nil {
				b.Fatal(err)
			}
			ours[i], xor[i] = c, encodeXOR(s)
		}
		b.Run(kind+"/mytsdb", func(b *testing.B) { benchDecode(b, ours) })
		b.Run(kind+"/xor", func(b *testing.B) { benchDecode(b, xor) })
	}
}

// The machine these run on is shared: the side-by-side benchmarks alternate
// the two codecs chunk set by chunk set inside one loop and measure the
// thread's CPU time (threadCPU), so other load hits neither, and report each
// one's CPU ns/sample and their ratio.

func iterateAll(chunks []upstream.Chunk, it upstream.Iterator) (upstream.Iterator, float64) {
	var sum float64
	for _, c := range chunks {
		it = c.Iterator(it)
		for it.Next() != upstream.ValNone {
			_, v := it.At()
			sum += v
		}
	}
	return it, sum
}

func BenchmarkDecodeSideBySide(b *testing.B) {
	for _, kind := range benchKinds {
		seqs := benchData(kind)
		ours := make([]upstream.Chunk, len(seqs))
		xor := make([]upstream.Chunk, len(seqs))
		for i, s := range seqs {
			c, err := FromData(EncFloat, encodeOurs(s).Bytes())
			if err != nil {
				b.Fatal(err)
			}
			ours[i], xor[i] = c, encodeXOR(s)
		}
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			var itOurs, itXOR upstream.Iterator
			var dOurs, dXOR time.Duration
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for b.Loop() {
				t0 := threadCPU()
				itOurs, _ = iterateAll(ours, itOurs)
				t1 := threadCPU()
				itXOR, _ = iterateAll(xor, itXOR)
				dOurs += t1 - t0
				dXOR += threadCPU() - t1
			}
			perSample := float64(b.N * benchSeries * benchSamples)
			b.ReportMetric(float64(dOurs.Nanoseconds())/perSample, "mytsdb-ns/sample")
			b.ReportMetric(float64(dXOR.Nanoseconds())/perSample, "xor-ns/sample")
			b.ReportMetric(float64(dOurs)/float64(dXOR), "ratio")
		})
	}
}

func BenchmarkEncodeSideBySide(b *testing.B) {
	for _, kind := range benchKinds {
		seqs := benchData(kind)
		b.Run(kind, func(b *testing.B) {
			var dOurs, dXOR time.Duration
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for b.Loop() {
				t0 := threadCPU()
				for _, s := range seqs {
					encodeOurs(s)
				}
				t1 := threadCPU()
				for _, s := range seqs {
					encodeXOR(s)
				}
				dOurs += t1 - t0
				dXOR += threadCPU() - t1
			}
			perSample := float64(b.N * benchSeries * benchSamples)
			b.ReportMetric(float64(dOurs.Nanoseconds())/perSample, "mytsdb-ns/sample")
			b.ReportMetric(float64(dXOR.Nanoseconds())/perSample, "xor-ns/sample")
			b.ReportMetric(float64(dOurs)/float64(dXOR), "ratio")
		})
	}
}

// BenchmarkDecodeBulk decodes whole chunks into arrays, without the
// per-sample iterator calls: the cost a vectorised reader would pay, and
// where the AVX-512 kernels show (GOEXPERIMENT=simd).
func BenchmarkDecodeBulk(b *testing.B) {
	for _, kind := range benchKinds {
		seqs := benchData(kind)
		chunks := make([][]byte, len(seqs))
		for i, s := range seqs {
			chunks[i] = encodeOurs(s).Bytes()
		}
		b.Run(kind, func(b *testing.B) {
			b.ReportAllocs()
			ts := make([]int64, benchSamples)
			vs := make([]float64, benchSamples)
			scratch := make([]uint64, scratchLen(benchSamples))
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			t0 := threadCPU()
			for b.Loop() {
				for _, c := range chunks {
					if err := decodeChunk(c, ts, vs, scratch); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64((threadCPU()-t0).Nanoseconds())/float64(b.N*benchSeries*benchSamples), "cpu-ns/sample")
		})
	}
}
