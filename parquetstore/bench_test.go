package parquetstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// mixModel is FACTS.md's realistic mix over 24h, one sample a minute: half
// integer counters with uneven increments, a quarter 2-decimal gauges, a
// quarter full-precision gauges.
func mixModel(series int) *model {
	r := rand.New(rand.NewPCG(21, 22))
	const step, day = 60_000, 24 * 3600_000
	m := &model{mint: 0, maxt: day}
	for i := range series {
		lset := labels.FromStrings(labels.MetricName, fmt.Sprintf("metric_%03d", i/10), "instance", fmt.Sprintf("host-%02d:9100", i%10), "job", "node")
		s := refSeries{lset: lset}
		var chk []sample
		v := float64(r.IntN(1000))
		for t := int64(0); t < day; t += step {
			switch i % 4 {
			case 0, 1:
				v += float64(r.IntN(50))
			case 2:
				v = float64(r.IntN(100000)) / 100
			default:
				v = r.Float64() * 1000
			}
			chk = append(chk, sample{t: t, f: v})
			if len(chk) == 120 {
				s.chunks = append(s.chunks, chk)
				chk = nil
			}
		}
		if len(chk) > 0 {
			s.chunks = append(s.chunks, chk)
		}
		m.series = append(m.series, s)
	}
	return m
}

// BenchmarkWrite writes a 24h block of 2,000 series (FACTS.md's mix, 2.9M
// samples) to a filesystem bucket and reports the Parquet objects' and
// the local block's bytes per sample (target: Parquet ≤ local).
func BenchmarkWrite(b *testing.B) {
	m := mixModel(2000)
	lb := localBlock(b, m)
	lm := lb.Meta()
	q, err := lb.ChunkQuerier(lm.MinTime, lm.MaxTime-1)
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	samples := float64(lm.Stats.NumSamples)
	b.ReportAllocs()
	b.ResetTimer()
	var parquetBytes int64
	for i := 0; i < b.N; i++ {
		bkt := fsBucket(b)
		meta := BlockMeta{ULID: lm.ULID, MinTime: lm.MinTime, MaxTime: lm.MaxTime}
		if err := Write(context.Background(), bkt, tenant, meta, q); err != nil {
			b.Fatal(err)
		}
		s, err := Open(context.Background(), bkt, tenant, Options{})
		if err != nil {
			b.Fatal(err)
		}
		parquetBytes = 0
		for _, f := range s.Blocks()[0].Files {
			parquetBytes += f.Size
		}
		s.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(parquetBytes)/samples, "parquet-B/sample")
	b.ReportMetric(float64(lb.Size())/samples, "local-B/sample")
	b.ReportMetric(samples*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkQuery1h10Series is the query target: a 1h range over
// the 10 series of one metric in a 24h block of 2,000 series, cold (a new
// Store, empty cache, every iteration: GetRange calls and bytes per query)
// and warm (the cache holds what the query reads).
func BenchmarkQuery1h10Series(b *testing.B) {
	m := mixModel(2000)
	bkt := &countingBucket{Bucket: fsBucket(b)}
	upload(b, bkt, tenant, localBlock(b, m))
	ctx := context.Background()
	mint, maxt := int64(10*3600_000), int64(11*3600_000)
	ms := labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, "metric_123")
	run := func(b *testing.B, s *Store) {
		q, err := s.Querier(mint, maxt)
		if err != nil {
			b.Fatal(err)
		}
		ss := q.Select(ctx, true, nil, ms)
		var it chunkenc.Iterator
		n := 0
		for ss.Next() {
			it = ss.At().Iterator(it)
			for it.Next() != chunkenc.ValNone {
				n++
			}
		}
		if ss.Err() != nil || len(ss.Warnings()) > 0 || n != 10*61 {
			b.Fatalf("%d samples, err %v, warnings %v", n, ss.Err(), ss.Warnings())
		}
		q.Close()
	}
	b.Run("cold", func(b *testing.B) {
		bkt.reset()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			s, err := Open(ctx, bkt, tenant, Options{})
			if err != nil {
				b.Fatal(err)
			}
			run(b, s)
			s.Close()
		}
		b.ReportMetric(float64(bkt.getRange.Load())/float64(b.N), "getrange/op")
		b.ReportMetric(float64(bkt.bytes.Load())/float64(b.N), "bucket-B/op")
	})
	b.Run("warm", func(b *testing.B) {
		s, err := Open(ctx, bkt, tenant, Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, s)
		bkt.reset()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			run(b, s)
		}
		b.ReportMetric(float64(bkt.getRange.Load())/float64(b.N), "getrange/op")
	})
}

// BenchmarkSelectVsLocal runs the same Selects on the local block and on
// its Parquet copy in a filesystem bucket (warm cache: the dashboard
// case; the target is Parquet ≤ 2× local): 1h and 24h of one
// metric's 10 series, and 1h of all 2,000 series.
func BenchmarkSelectVsLocal(b *testing.B) {
	m := mixModel(2000)
	lb := localBlock(b, m)
	bkt := fsBucket(b)
	upload(b, bkt, tenant, lb)
	ctx := context.Background()
	s, err := Open(ctx, bkt, tenant, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	type shape struct {
		name       string
		mint, maxt int64
		m          *labels.Matcher
	}
	shapes := []shape{
		{"1h-10series", 10 * 3600_000, 11 * 3600_000, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, "metric_123")},
		{"24h-10series", 0, 24 * 3600_000, labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, "metric_123")},
		{"1h-2000series", 10 * 3600_000, 11 * 3600_000, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+")},
	}
	type querier interface {
		Select(context.Context, bool, *storage.SelectHints, ...*labels.Matcher) storage.SeriesSet
		Close() error
	}
	run := func(b *testing.B, open func(mint, maxt int64) (querier, error), sh shape) {
		b.ReportAllocs()
		var it chunkenc.Iterator
		for i := 0; i < b.N; i++ {
			q, err := open(sh.mint, sh.maxt)
			if err != nil {
				b.Fatal(err)
			}
			ss := q.Select(ctx, true, nil, sh.m)
			n := 0
			for ss.Next() {
				it = ss.At().Iterator(it)
				for it.Next() != chunkenc.ValNone {
					n++
				}
			}
			if ss.Err() != nil || n == 0 {
				b.Fatalf("%d samples, %v", n, ss.Err())
			}
			q.Close()
		}
	}
	for _, sh := range shapes {
		b.Run(sh.name+"/local", func(b *testing.B) {
			run(b, func(mint, maxt int64) (querier, error) { return lb.Querier(mint, maxt) }, sh)
		})
		b.Run(sh.name+"/parquet", func(b *testing.B) {
			run(b, func(mint, maxt int64) (querier, error) { return s.Querier(mint, maxt) }, sh)
		})
	}
}
