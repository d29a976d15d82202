package block

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// benchBlock writes series x 720 float samples (6 chunks of 120, 15 s
// apart) and opens the block.
func benchBlock(b *testing.B, series int) *Block {
	b.Helper()
	r := rand.New(rand.NewPCG(19, 20))
	m := &model{del: map[string]Intervals{}}
	for i := range series {
		s := &refSeries{lset: labels.FromStrings(labels.MetricName, "bench_metric", "instance", fmt.Sprintf("host-%05d", i), "job", fmt.Sprintf("job-%d", i%10))}
		for c := range 6 {
			var chk []sample
			for j := range 120 {
				chk = append(chk, sample{t: int64(c*120+j) * 15000, f: float64(r.IntN(1000))})
			}
			s.chunks = append(s.chunks, chk)
		}
		m.series = append(m.series, s)
	}
	m.series = m.trimmed(0, 1<<62).series // keep the model sorted
	dir := b.TempDir()
	meta, err := Write(context.Background(), dir, m.set(), WriteOptions{MinTime: 0, MaxTime: 720 * 15000})
	if err != nil {
		b.Fatal(err)
	}
	blk, err := Open(filepath.Join(dir, meta.ULID.String()), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { blk.Close() })
	return blk
}

// BenchmarkSelectIterate selects a tenth of 10k series and reads every
// sample.
func BenchmarkSelectIterate(b *testing.B) {
	blk := benchBlock(b, 10000)
	ctx := context.Background()
	m := labels.MustNewMatcher(labels.MatchEqual, "job", "job-3")
	b.ReportAllocs()
	var it chunkenc.Iterator
	samples := 0
	for b.Loop() {
		q, err := blk.Querier(0, 720*15000)
		if err != nil {
			b.Fatal(err)
		}
		ss := q.Select(ctx, true, nil, m)
		for ss.Next() {
			it = ss.At().Iterator(it)
			for it.Next() != chunkenc.ValNone {
				samples++
			}
		}
		if ss.Err() != nil {
			b.Fatal(ss.Err())
		}
		q.Close()
	}
	b.ReportMetric(float64(samples)/float64(b.N), "samples/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(samples), "ns/sample")
}

// BenchmarkChunkLookup reads chunks by ref (bounds and CRC check,
// chunkenc.FromData) in random order.
func BenchmarkChunkLookup(b *testing.B) {
	blk := benchBlock(b, 2000)
	all, err := blk.index.allSeries()
	if err != nil {
		b.Fatal(err)
	}
	var refs []chunkMeta
	var lb labels.ScratchBuilder
	var chks []chunkMeta
	for _, s := range all {
		chks, _ = blk.index.series(s, &lb, chks)
		refs = append(refs, chks...)
	}
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(refs), func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := refs[i%len(refs)]
		if _, err := blk.chunks.chunk(c.ref, c.mint); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPostingsLookup finds and decodes one label value's postings
// (a binary search of the postings offset table).
func BenchmarkPostingsLookup(b *testing.B) {
	blk := benchBlock(b, 10000)
	b.ReportAllocs()
	i := 0
	var dst []SeriesRef
	for b.Loop() {
		off, ok := blk.index.postingsOffset("instance", fmt.Sprintf("host-%05d", i%10000))
		if !ok {
			b.Fatal("not found")
		}
		dst, _ = blk.index.postingsAt(dst[:0], off)
		i++
	}
}
