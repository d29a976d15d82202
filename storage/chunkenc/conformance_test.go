package chunkenc

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	upstream "github.com/prometheus/prometheus/tsdb/chunkenc"
)

// One table for every implementation: each chunk built from the same
// samples must give upstream XOR's iterator results for the same calls.

type sequence struct {
	name string
	ts   []int64
	vs   []float64
}

func conformanceSequences() []sequence {
	r := rand.New(rand.NewPCG(1, 2))
	seqs := []sequence{
		{"empty", nil, nil},
		{"one", []int64{1000}, []float64{1.5}},
		{"two", []int64{1000, 16000}, []float64{1, math.Float64frombits(staleNaN)}},
		{"three", []int64{-5, 0, 5}, []float64{-0.0, 0, math.Inf(-1)}},
		{"duplicate-timestamps", []int64{10, 10, 20, 20, 20, 30}, []float64{1, 2, 3, 4, 5, 6}},
		{"extreme-timestamps", []int64{math.MinInt64, -1, 0, math.MaxInt64}, []float64{1, 2, 3, 4}},
		{"wide-values", []int64{1, 2, 3, 4}, []float64{math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 4503599627370497}},
	}
	for _, k := range dataKinds {
		for _, n := range []int{2, 3, 17, 120, 1000} {
			ts, vs := k.gen(r, n)
			seqs = append(seqs, sequence{fmt.Sprintf("%s/%d", k.name, n), ts, vs})
		}
	}
	return seqs
}

type op struct {
	seek bool
	t    int64
}

// trace runs ops and records every result, the value as bits so NaNs compare.
func trace(it upstream.Iterator, ops []op) []string {
	var out []string
	last := int64(math.MinInt64)
	for _, o := range ops {
		var typ upstream.ValueType
		if o.seek {
			typ = it.Seek(o.t)
		} else {
			typ = it.Next()
		}
		s := typ.String()
		if typ == upstream.ValFloat {
			t, v := it.At()
			if it.AtT() != t {
				s += " AtT differs from At"
			}
			s += fmt.Sprintf(" %d %016x", t, math.Float64bits(v))
			last = t
		}
		out = append(out, s)
		if typ == upstream.ValNone {
			// After the end only calls that Prometheus's contract defines
			// (and XOR keeps: see TestSeekAfterExhaustionStaysExhausted).
			out = append(out, it.Next().String())
			if last < math.MaxInt64 {
				out = append(out, it.Seek(math.MaxInt64).String())
			}
			break
		}
	}
	return append(out, fmt.Sprintf("err=%v", it.Err()))
}

func nexts(n int) []op { return make([]op, n) }

func scripts(seq sequence, r *rand.Rand) map[string][]op {
	n := len(seq.ts)
	s := map[string][]op{
		"next-all":       nexts(n + 1),
		"seek-min":       {{true, math.MinInt64}, {}, {}},
		"seek-max":       {{true, math.MaxInt64}},
		"seek-then-next": append([]op{{true, 0}}, nexts(n+1)...),
	}
	for k := range seq.ts {
		if n > 150 && k%13 != 0 {
			continue // long sequences: a spread of positions keeps the test fast
		}
		t := seq.ts[k]
		s[fmt.Sprintf("seek-%d", k)] = []op{
			{true, t}, {true, t}, {true, t - 1}, {true, math.MinInt64}, // no effect: never backwards
			{}, {true, t + 1}, {true, t}, {},
		}
		if k > 0 && k%7 == 0 {
			// Skip ahead after some Nexts.
			s[fmt.Sprintf("next-seek-%d", k)] = append(nexts(k/2), op{true, t}, op{}, op{true, t + 15000}, op{})
		}
	}
	lo, hi := int64(-100), int64(100)
	if n > 0 {
		lo, hi = seq.ts[0]-20_000, seq.ts[n-1]+20_000
	}
	for i := range 10 {
		var ops []op
		for range 2*n + 4 {
			if r.IntN(3) == 0 {
				ops = append(ops, op{})
				continue
			}
			t := lo
			if hi > lo && hi-lo < math.MaxInt64 {
				t = lo + r.Int64N(hi-lo)
			}
			ops = append(ops, op{true, t})
		}
		s[fmt.Sprintf("random-%d", i)] = ops
	}
	return s
}

func buildXOR(t testing.TB, seq sequence) *upstream.XORChunk {
	c := upstream.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for i := range seq.ts {
		app.Append(0, seq.ts[i], seq.vs[i])
	}
	return c
}

func buildOpen(seq sequence) *FloatChunk {
	c := NewFloatChunk()
	app, _ := c.Appender()
	for i := range seq.ts {
		app.Append(0, seq.ts[i], seq.vs[i])
	}
	return c
}

// implementations builds the chunks under test for seq, each a different
// path to the same samples.
func implementations(t *testing.T, seq sequence) map[string]upstream.Chunk {
	open := buildOpen(seq)
	sealed := buildOpen(seq)
	sealed.Compact()
	fromData, err := FromData(EncFloat, append([]byte(nil), sealed.Bytes()...))
	if err != nil {
		t.Fatal(err)
	}
	// Half appended, sealed, read back and appended to.
	half := len(seq.ts) / 2
	reopened := buildOpen(sequence{ts: seq.ts[:half], vs: seq.vs[:half]})
	reopenedData, err := FromData(EncFloat, reopened.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	app, err := reopenedData.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for i := half; i < len(seq.ts); i++ {
		app.Append(0, seq.ts[i], seq.vs[i])
	}
	toXOR, err := ToXOR(sealed)
	if err != nil {
		t.Fatal(err)
	}
	fromXOR, err := FromXOR(buildXOR(t, seq))
	if err != nil {
		t.Fatal(err)
	}
	encoded, err := AppendEncoded([]byte("prefix"), seq.ts, seq.vs)
	if err != nil {
		t.Fatal(err)
	}
	impls := map[string]upstream.Chunk{
		"open": open, "sealed": sealed, "fromdata": fromData, "reopened": reopenedData,
		"toxor": toXOR, "fromxor": fromXOR, "sealedchunk": NewSealedChunk(encoded[len("prefix"):]),
	}
	if len(seq.ts) > 0 {
		// As blocks store it: without the first timestamp.
		elided, t0, err := ElideFirstTimestamp(nil, sealed.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		impls["elided"] = NewSealedChunkAt(elided, t0)
	}
	return impls
}

func TestConformanceWithXOR(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var reused upstream.Iterator // one iterator reused across all chunks
	for _, seq := range conformanceSequences() {
		t.Run(seq.name, func(t *testing.T) {
			ref := buildXOR(t, seq)
			impls := implementations(t, seq)
			for name, ops := range scripts(seq, r) {
				want := trace(ref.Iterator(nil), ops)
				for impl, c := range impls {
					if c.NumSamples() != len(seq.ts) {
						t.Fatalf("%s: NumSamples %d, want %d", impl, c.NumSamples(), len(seq.ts))
					}
					reused = c.Iterator(reused)
					got := trace(reused, ops)
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("%s, script %s:\n got %v\nwant %v", impl, name, got, want)
					}
				}
			}
		})
	}
}

// Upstream's XOR iterator answers Seek(t) with ValFloat after it is
// exhausted when t is at most its last timestamp; the contract says an
// exhausted iterator stays exhausted, and ours does.
func TestSeekAfterExhaustionStaysExhausted(t *testing.T) {
	seq := sequence{ts: []int64{10, 20, 30}, vs: []float64{1, 2, 3}}
	c := buildOpen(seq)
	c.Compact()
	it := c.Iterator(nil)
	if typ := it.Seek(31); typ != upstream.ValNone {
		t.Fatalf("Seek past the end: %s", typ)
	}
	for _, ts := range []int64{30, 10, math.MinInt64} {
		if typ := it.Seek(ts); typ != upstream.ValNone {
			t.Fatalf("Seek(%d) after the end: %s", ts, typ)
		}
	}
	if typ := it.Next(); typ != upstream.ValNone {
		t.Fatalf("Next after the end: %s", typ)
	}
}

func TestPoolAndFromData(t *testing.T) {
	seq := conformanceSequences()[10]
	ours := buildOpen(seq)
	xor := buildXOR(t, seq)
	p := NewPool()
	for _, c := range []upstream.Chunk{ours, xor} {
		got, err := p.Get(c.Encoding(), c.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if got.Encoding() != c.Encoding() {
			t.Fatalf("pool gave %s for %s", EncodingString(got.Encoding()), EncodingString(c.Encoding()))
		}
		checkSamples(t, "pooled "+EncodingString(c.Encoding()), got.Iterator(nil), seq.ts, seq.vs)
		if err := p.Put(got); err != nil {
			t.Fatal(err)
		}
		fd, err := FromData(c.Encoding(), c.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		checkSamples(t, "FromData "+EncodingString(c.Encoding()), fd.Iterator(nil), seq.ts, seq.vs)
		empty, err := NewEmptyChunk(c.Encoding())
		if err != nil || empty.NumSamples() != 0 || empty.Encoding() != c.Encoding() {
			t.Fatalf("NewEmptyChunk(%s): %v", EncodingString(c.Encoding()), err)
		}
	}
	if _, err := p.Get(upstream.Encoding(0x7f), nil); err == nil {
		t.Fatal("pool accepted an unknown encoding")
	}
	if _, err := FromData(upstream.Encoding(0x7f), nil); err == nil {
		t.Fatal("FromData accepted an unknown encoding")
	}
	if IsValidEncoding(0x7f) || !IsValidEncoding(EncFloat) || !IsValidEncoding(upstream.EncXOR) {
		t.Fatal("IsValidEncoding")
	}
	if upstream.IsValidEncoding(EncFloat) {
		t.Fatal("EncFloat collides with an upstream encoding")
	}
}

func TestSealedChunk(t *testing.T) {
	seq := conformanceSequences()[10]
	b, err := AppendEncoded(nil, seq.ts, seq.vs)
	if err != nil {
		t.Fatal(err)
	}
	c := NewSealedChunk(b)
	if c.Encoding() != EncFloat || c.NumSamples() != len(seq.ts) || &c.Bytes()[0] != &b[0] {
		t.Fatalf("sealed chunk: encoding %s, %d samples", EncodingString(c.Encoding()), c.NumSamples())
	}
	if _, err := c.Appender(); !errors.Is(err, ErrSealed) {
		t.Fatalf("Appender on a sealed chunk: %v", err)
	}
	if _, err := AppendEncoded(nil, seq.ts, seq.vs[1:]); err == nil {
		t.Fatal("AppendEncoded accepted mismatched lengths")
	}
	if _, err := AppendEncoded(nil, make([]int64, MaxSamples+1), make([]float64, MaxSamples+1)); err == nil {
		t.Fatal("AppendEncoded accepted more than MaxSamples")
	}
	it := NewSealedChunk(b[:len(b)-1]).Iterator(nil)
	if it.Next() != upstream.ValNone || !errors.Is(it.Err(), ErrCorrupt) {
		t.Fatalf("truncated sealed chunk: %v", it.Err())
	}
	if it := NewSealedChunk(nil).Iterator(nil); it.Next() != upstream.ValNone {
		t.Fatal("empty sealed chunk yields a sample")
	}
}
