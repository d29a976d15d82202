package block

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"

	ourchunks "mytsdb/storage/chunkenc"
)

// chunkEncodings returns, for every chunk of b, its encoding and sample count.
func chunkEncodings(t *testing.T, b *Block) map[chunkenc.Encoding][]int {
	t.Helper()
	cq, err := b.ChunkQuerier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer cq.Close()
	out := map[chunkenc.Encoding][]int{}
	ss := cq.Select(context.Background(), true, nil, allMatcher())
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() {
			c := it.At().Chunk
			out[c.Encoding()] = append(out[c.Encoding()], c.NumSamples())
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkCodecChunks fails unless every float chunk without start timestamps
// is in our codec.
func checkCodecChunks(t *testing.T, b *Block) {
	t.Helper()
	encs := chunkEncodings(t, b)
	if n := len(encs[chunkenc.EncXOR]); n > 0 {
		t.Fatalf("%d XOR chunks left in a block written now", n)
	}
	if len(encs[ourchunks.EncFloat]) == 0 {
		t.Fatalf("no chunk in mytsdb's float codec: %v", encs)
	}
	for _, n := range encs[ourchunks.EncFloat] {
		if n == 0 {
			t.Fatal("an empty float chunk")
		}
	}
}

// A long float series arrives as 120-sample XOR chunks (the head's) and is
// stored in our codec with the same chunk boundaries (numChunks stays
// Prometheus's) and the same samples.
func TestWriteKeepsChunkBoundaries(t *testing.T) {
	const n = 8*120 + 40
	var in [][]chunks.Sample
	var want []sample
	for i := 0; i < n; i += 120 {
		var c []chunks.Sample
		for j := i; j < min(i+120, n); j++ {
			s := sample{t: int64(j) * 15000, f: float64(j*j) / 100}
			c = append(c, s)
			want = append(want, s)
		}
		in = append(in, c)
	}
	lset := labels.FromStrings("__name__", "m")
	set := &listChunkSet{i: -1, series: []storage.ChunkSeries{storage.NewListChunkSeriesFromSamples(lset, in...)}}
	dir := t.TempDir()
	meta, err := Write(context.Background(), dir, set, WriteOptions{MinTime: 0, MaxTime: n * 15000})
	if err != nil {
		t.Fatal(err)
	}
	if meta.Stats.NumChunks != 9 || meta.Stats.NumSamples != n || meta.Stats.NumFloatSamples != n {
		t.Fatalf("stats %+v, want 9 chunks of %d float samples", meta.Stats, n)
	}
	b, err := Open(filepath.Join(dir, meta.ULID.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	encs := chunkEncodings(t, b)
	got := encs[ourchunks.EncFloat]
	if len(encs) != 1 || len(got) != 9 || got[8] != 40 {
		t.Fatalf("chunks %v, want 8 of 120 samples and one of 40 in encoding %#x", encs, ourchunks.EncFloat)
	}
	for _, k := range got[:8] {
		if k != 120 {
			t.Fatalf("chunks %v, want 8 of 120 samples and one of 40", got)
		}
	}
	m := &model{series: []*refSeries{{lset: lset, samples: want}}, del: map[string]Intervals{}}
	checkQueries(t, rand.New(rand.NewPCG(9, 10)), b, m, 30)
}

// Float chunks that overlap or go back in time are refused, as before the codec.
func TestWriteRefusesUnorderedFloats(t *testing.T) {
	lset := labels.FromStrings("__name__", "m")
	for name, in := range map[string][][]chunks.Sample{
		"overlapping chunks": {{sample{t: 10, f: 1}, sample{t: 20, f: 2}}, {sample{t: 20, f: 3}}},
		"decreasing inside":  {{sample{t: 10, f: 1}, sample{t: 5, f: 2}}},
	} {
		set := &listChunkSet{i: -1, series: []storage.ChunkSeries{storage.NewListChunkSeriesFromSamples(lset, in...)}}
		if _, err := Write(context.Background(), t.TempDir(), set, WriteOptions{MinTime: 0, MaxTime: 100}); err == nil {
			t.Errorf("%s: written", name)
		}
	}
}

// The random model (floats, histograms, start timestamps, chunks sticking
// out of the range) written now: floats in our codec, the same answers.
func TestWriteUsesCodec(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	full := genModel(r, 60, testSpan)
	b, _ := writeModel(t, t.TempDir(), full, 1000, testSpan-1000)
	checkCodecChunks(t, b)
	checkQueries(t, r, b, full.trimmed(1000, testSpan-1001), 80)
}

// Compacting a block written before the codec re-encodes its XOR chunks.
func TestCompactLegacyBlockReencodes(t *testing.T) {
	old, err := Open(filepath.Join(legacyDir, legacyULID.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	dir := t.TempDir()
	meta, err := Compact(context.Background(), dir, []*Block{old}, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(filepath.Join(dir, meta.ULID.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	checkCodecChunks(t, b)
	checkQueries(t, rand.New(rand.NewPCG(5, 6)), b, legacyModel(), 60)
}
