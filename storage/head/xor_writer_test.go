package head

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// checkXORWriter appends ts/vs to our writer and to Prometheus's XOR chunk
// and fails unless the bytes are identical after every append and the chunk
// reads back bit for bit.
func checkXORWriter(t testing.TB, ts []int64, vs []float64) {
	t.Helper()
	ref := chunkenc.NewXORChunk()
	app, err := ref.Appender()
	if err != nil {
		t.Fatal(err)
	}
	var x xorWriter
	x.reset()
	for i := range ts {
		app.Append(0, ts[i], vs[i])
		x.append(ts[i], vs[i])
		if got, want := x.bytes(), ref.Bytes(); !bytes.Equal(got, want) {
			t.Fatalf("after sample %d (t=%d v=%v): bytes differ\n got %x\nwant %x", i, ts[i], vs[i], got, want)
		}
	}
	c, err := chunkenc.FromData(chunkenc.EncXOR, bytes.Clone(x.seal()))
	if err != nil {
		t.Fatal(err)
	}
	it := c.Iterator(nil)
	for i := range ts {
		if it.Next() != chunkenc.ValFloat {
			t.Fatalf("sample %d missing: %v", i, it.Err())
		}
		gt, gv := it.At()
		if gt != ts[i] || math.Float64bits(gv) != math.Float64bits(vs[i]) {
			t.Fatalf("sample %d: got (%d, %v), want (%d, %v)", i, gt, gv, ts[i], vs[i])
		}
	}
	if it.Next() != chunkenc.ValNone {
		t.Fatal("extra samples")
	}
}

func TestXORWriterMatchesPrometheus(t *testing.T) {
	specials := []float64{0, math.Copysign(0, -1), 1, -1, math.NaN(), math.Float64frombits(0x7ff8000000000002),
		math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64, 0.1, 1e300, -3.25}
	r := rand.New(rand.NewPCG(1, 2))
	for _, steps := range [][]int64{
		{15000}, {1, 2, 3}, {15000, 15001, 14999, 15000},
		{1000, 1000 + 8191, 1000 - 8192, 1000 + 65535, 1000 - 65536, 1000 + 524287, 1000 - 524288, 1 << 40, 1},
	} {
		for _, mode := range []string{"specials", "counter", "gauge", "random"} {
			var ts []int64
			var vs []float64
			tt := int64(-5000)
			for i := range 240 {
				tt += steps[i%len(steps)]
				ts = append(ts, tt)
				var v float64
				switch mode {
				case "specials":
					v = specials[r.IntN(len(specials))]
				case "counter":
					v = float64(i * (r.IntN(5) + 1))
				case "gauge":
					v = float64(r.IntN(10000)) / 100
				default:
					v = math.Float64frombits(r.Uint64())
				}
				vs = append(vs, v)
			}
			checkXORWriter(t, ts, vs)
		}
	}
}

// FuzzXORWriter: the input is a sequence of (timestamp step, value) pairs.
func FuzzXORWriter(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0x98, 0x3a, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, 30))
	f.Add(bytes.Repeat([]byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 5))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ts []int64
		var vs []float64
		tt := int64(0)
		for len(data) >= 10 && len(ts) < 1000 {
			step := int64(binary.LittleEndian.Uint16(data))
			if step == 0 {
				step = 1 << 33 // Exercise the 64-bit delta-of-delta.
			}
			tt += step
			ts = append(ts, tt)
			vs = append(vs, math.Float64frombits(binary.LittleEndian.Uint64(data[2:])))
			data = data[10:]
		}
		checkXORWriter(t, ts, vs)
	})
}

func BenchmarkXORWriter(b *testing.B) {
	const n = 120
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = nodeValue(i*3+2, i)
	}
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		var x xorWriter
		for b.Loop() {
			x.reset()
			for i, v := range vs {
				x.append(int64(i)*15000, v)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
	})
	b.Run("prometheus", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := chunkenc.NewXORChunk()
			app, _ := c.Appender()
			for i, v := range vs {
				app.Append(0, int64(i)*15000, v)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
	})
}

// TestXORWriterGrowth checks that the open chunk's buffer is always one of
// Go's size classes (nothing lost to rounding) and grows by about half, not
// by doubling: its capacity stays under 1.65 times its length, plus 16 (a
// doubled buffer reaches twice its length).
func TestXORWriterGrowth(t *testing.T) {
	classes := map[int]bool{}
	for _, c := range xorSizeClasses {
		classes[int(c)] = true
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var x xorWriter
	x.reset()
	for i := 0; x.size() <= chunkenc.MaxBytesPerXORChunkBeforeAppend; i++ { // As the head cuts.
		x.append(int64(i)*15000+rng.Int64N(100), rng.Float64()*1000)
		if c := cap(x.b); !classes[c] {
			t.Fatalf("sample %d: capacity %d is not a size class", i, c)
		}
		if c, l := cap(x.b), len(x.b); c > xorInitialCap && 20*c > 33*l+320 {
			t.Fatalf("sample %d: capacity %d for %d bytes", i, c, l)
		}
	}
}
