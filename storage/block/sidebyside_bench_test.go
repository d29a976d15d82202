package block

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
)

// The same samples in one of our blocks and in one of Prometheus's (its own
// tsdb.BlockWriter), read back through each one's block querier. Run with
//
//	go test ./storage/block/ -run '^$' -bench SideBySide -benchtime=20x
//
// B/sample is the block's size on disk (chunks and index) per sample;
// ns/sample the time to select every series and iterate all its samples.

const (
	sbsSeries  = 2000
	sbsSamples = 480 // 2h at 15 s
)

// sbsValue is sample k of series i, FACTS.md's storage mix: half integer
// counters with uneven increments, a quarter 2-decimal gauges, a quarter
// full-precision gauges; timestamps with ±5 ms of scrape jitter.
func sbsData() ([]labels.Labels, [][]chunks.Sample) {
	r := rand.New(rand.NewPCG(31, 32))
	lsets := make([]labels.Labels, sbsSeries)
	data := make([][]chunks.Sample, sbsSeries)
	for i := range lsets {
		lsets[i] = labels.FromStrings(labels.MetricName, fmt.Sprintf("metric_%d", i%50), "instance", fmt.Sprintf("host-%04d", i/50))
		v := float64(r.IntN(1 << 20))
		for k := range sbsSamples {
			t := int64(k)*15000 + int64(r.IntN(11)-5)
			switch i % 4 {
			case 0, 1:
				if r.IntN(8) != 0 {
					v += float64(r.IntN(2000))
				}
			case 2:
				v = float64(int64(v*100)+int64(r.IntN(61)-30)) / 100
			case 3:
				v += r.NormFloat64()
			}
			data[i] = append(data[i], sample{t: t, f: v})
		}
	}
	return lsets, data
}

func blockBytes(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func iterateAll(b *testing.B, q storage.Querier) int {
	n := 0
	var it chunkenc.Iterator
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+"))
	for ss.Next() {
		it = ss.At().Iterator(it)
		for it.Next() != chunkenc.ValNone {
			_, _ = it.At()
			n++
		}
		if it.Err() != nil {
			b.Fatal(it.Err())
		}
	}
	if ss.Err() != nil {
		b.Fatal(ss.Err())
	}
	return n
}

func BenchmarkSelectIterateSideBySide(b *testing.B) {
	lsets, data := sbsData()
	const maxt = sbsSamples * 15000
	total := sbsSeries * sbsSamples

	b.Run("mytsdb", func(b *testing.B) {
		m := &model{del: map[string]Intervals{}}
		for i, l := range lsets {
			// The head hands over chunks of 120 samples.
			s := &refSeries{lset: l}
			for c := 0; c < sbsSamples; c += 120 {
				var chk []sample
				for _, x := range data[i][c : c+120] {
					chk = append(chk, x.(sample))
				}
				s.chunks = append(s.chunks, chk)
			}
			m.series = append(m.series, s)
		}
		slices.SortFunc(m.series, func(a, b *refSeries) int { return labels.Compare(a.lset, b.lset) })
		dir := b.TempDir()
		meta, err := Write(context.Background(), dir, m.set(), WriteOptions{MinTime: -1000, MaxTime: maxt})
		if err != nil {
			b.Fatal(err)
		}
		bdir := filepath.Join(dir, meta.ULID.String())
		blk, err := Open(bdir, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer blk.Close()
		b.ReportAllocs()
		for b.Loop() {
			q, err := blk.Querier(-1000, maxt)
			if err != nil {
				b.Fatal(err)
			}
			if n := iterateAll(b, q); n != total {
				b.Fatalf("%d samples, want %d", n, total)
			}
			q.Close()
		}
		b.ReportMetric(float64(blockBytes(b, bdir))/float64(total), "B/sample")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*total), "ns/sample")
	})

	b.Run("prometheus", func(b *testing.B) {
		dir := b.TempDir()
		w, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), dir, 2*maxt)
		if err != nil {
			b.Fatal(err)
		}
		app := w.Appender(context.Background())
		for i, l := range lsets {
			var ref storage.SeriesRef
			for _, s := range data[i] {
				if ref, err = app.Append(ref, l, s.T(), s.F()); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
		id, err := w.Flush(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		w.Close()
		bdir := filepath.Join(dir, id.String())
		blk, err := tsdb.OpenBlock(slog.New(slog.DiscardHandler), bdir, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer blk.Close()
		b.ReportAllocs()
		for b.Loop() {
			q, err := tsdb.NewBlockQuerier(blk, -1000, maxt)
			if err != nil {
				b.Fatal(err)
			}
			if n := iterateAll(b, q); n != total {
				b.Fatalf("%d samples, want %d", n, total)
			}
			q.Close()
		}
		b.ReportMetric(float64(blockBytes(b, bdir))/float64(total), "B/sample")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*total), "ns/sample")
	})
}

// BenchmarkRate24hSideBySide runs a 24h sum(rate()) range query (step 2m)
// with the upstream PromQL engine over 1000 series of 24h at 15 s (5.76M
// samples), stored once in one of our blocks and once in one of
// Prometheus's: the engine is the same, the difference is the storage's
// Select, decoding and iteration. Run with
//
//	go test ./storage/block/ -run '^$' -bench Rate24h -benchtime=5x
func BenchmarkRate24hSideBySide(b *testing.B) {
	const (
		series = 1000
		step   = 15000
		n      = 24 * 3600 * 1000 / step
		maxt   = n * step
	)
	r := rand.New(rand.NewPCG(41, 42))
	lsets := make([]labels.Labels, series)
	vals := make([][]float64, series)
	for i := range lsets {
		lsets[i] = labels.FromStrings(labels.MetricName, "bench_requests_total", "instance", fmt.Sprintf("host-%04d", i))
		v := float64(r.IntN(1 << 20))
		vals[i] = make([]float64, n)
		for k := range n {
			if r.IntN(8) != 0 {
				v += float64(r.IntN(2000))
			}
			vals[i][k] = v
		}
	}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1 << 30, Timeout: time.Hour, LookbackDelta: 5 * time.Minute})
	// Both storages must give the same answer: the first run's result is
	// compared with the second's, bit for bit.
	var first []promql.FPoint
	run := func(b *testing.B, q storage.Queryable) {
		start, end := time.UnixMilli(0), time.UnixMilli(maxt)
		var got []promql.FPoint
		b.ReportAllocs()
		for b.Loop() {
			qry, err := engine.NewRangeQuery(context.Background(), q, nil, `sum(rate(bench_requests_total[5m]))`, start, end, 2*time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			res := qry.Exec(context.Background())
			if res.Err != nil {
				b.Fatal(res.Err)
			}
			m, err := res.Matrix()
			// 721 steps; at the first one the window holds one sample, no rate.
			if err != nil || len(m) != 1 || len(m[0].Floats) != 720 {
				b.Fatalf("%d result series, %d points, want 1 of 720 (%v)", len(m), len(m[0].Floats), err)
			}
			got = slices.Clone(m[0].Floats)
			qry.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*series*n), "ns/sample")
		if first == nil {
			first = got
			return
		}
		for i := range got {
			if got[i].T != first[i].T || math.Float64bits(got[i].F) != math.Float64bits(first[i].F) {
				b.Fatalf("point %d: %v here, %v in the other storage", i, got[i], first[i])
			}
		}
	}
	b.Run("mytsdb", func(b *testing.B) {
		m := &model{del: map[string]Intervals{}}
		for i, l := range lsets {
			s := &refSeries{lset: l}
			for c := 0; c < n; c += 120 {
				var chk []sample
				for k := c; k < min(c+120, n); k++ {
					chk = append(chk, sample{t: int64(k) * step, f: vals[i][k]})
				}
				s.chunks = append(s.chunks, chk)
			}
			m.series = append(m.series, s)
		}
		slices.SortFunc(m.series, func(a, b *refSeries) int { return labels.Compare(a.lset, b.lset) })
		dir := b.TempDir()
		meta, err := Write(context.Background(), dir, m.set(), WriteOptions{MinTime: 0, MaxTime: maxt})
		if err != nil {
			b.Fatal(err)
		}
		blk, err := Open(filepath.Join(dir, meta.ULID.String()), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer blk.Close()
		run(b, storage.QueryableFunc(blk.Querier))
	})
	b.Run("prometheus", func(b *testing.B) {
		dir := b.TempDir()
		w, err := tsdb.NewBlockWriter(slog.New(slog.DiscardHandler), dir, 2*maxt)
		if err != nil {
			b.Fatal(err)
		}
		app := w.Appender(context.Background())
		for i, l := range lsets {
			var ref storage.SeriesRef
			for k := range n {
				if ref, err = app.Append(ref, l, int64(k)*step, vals[i][k]); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
		id, err := w.Flush(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		w.Close()
		blk, err := tsdb.OpenBlock(slog.New(slog.DiscardHandler), filepath.Join(dir, id.String()), nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer blk.Close()
		run(b, storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) { return tsdb.NewBlockQuerier(blk, mint, maxt) }))
	})
}
