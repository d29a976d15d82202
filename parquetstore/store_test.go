package parquetstore

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

const tenant = "default"

// TestRoundTrip writes a real local block of random series (floats with
// NaNs, stale markers and infinities, integer and float native histograms,
// series changing type) to a filesystem bucket, verifies it, and compares
// what the Store's queriers return with the reference model over many
// ranges and matchers, sample by sample and bit by bit.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const step = 15_000
	m := genModel(r, 60, 0, 6*3600_000, step)
	lb := localBlock(t, m)
	bkt := fsBucket(t)
	meta := upload(t, bkt, tenant, lb)

	ctx := context.Background()
	s, err := Open(ctx, bkt, tenant, Options{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if bs := s.Blocks(); len(bs) != 1 || bs[0].ULID != meta.ULID || bs[0].NumSeries != uint64(len(m.series)) {
		t.Fatalf("blocks %+v", bs)
	}
	var nSamples int
	for _, rs := range m.series {
		nSamples += len(rs.samples)
	}
	if got := s.Blocks()[0].NumSamples; got != uint64(nSamples) {
		t.Fatalf("meta counts %d samples, model has %d", got, nSamples)
	}

	matchers := [][]*labels.Matcher{
		{labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+")},
		{labels.MustNewMatcher(labels.MatchEqual, labels.MetricName, m.series[7].lset.Get(labels.MetricName))},
		{labels.MustNewMatcher(labels.MatchEqual, "job", "api")},
		{labels.MustNewMatcher(labels.MatchNotEqual, "job", "api"), labels.MustNewMatcher(labels.MatchRegexp, "instance", "host-1.*")},
		{labels.MustNewMatcher(labels.MatchNotRegexp, "le", ".+")},
		{labels.MustNewMatcher(labels.MatchEqual, "nope", "x")},
		// Set regexps take the postings; one with "" must not.
		{labels.MustNewMatcher(labels.MatchRegexp, "job", "api|db"), labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, "metric_1|metric_2|metric_3")},
		{labels.MustNewMatcher(labels.MatchRegexp, "job", "api|"), labels.MustNewMatcher(labels.MatchEqual, "instance", m.series[3].lset.Get("instance"))},
		{labels.MustNewMatcher(labels.MatchEqual, "job", ""), labels.MustNewMatcher(labels.MatchNotRegexp, labels.MetricName, "metric_1.*")},
	}
	ranges := [][2]int64{{m.mint, m.maxt - 1}, {-1000, 10}, {3600_000, 2 * 3600_000}, {m.maxt - 60_000, m.maxt + 3600_000}}
	for range 6 {
		a := r.Int64N(m.maxt)
		ranges = append(ranges, [2]int64{a, a + r.Int64N(m.maxt-a)})
	}
	for _, rg := range ranges {
		q, err := s.Querier(rg[0], rg[1])
		if err != nil {
			t.Fatal(err)
		}
		cq, err := s.ChunkQuerier(rg[0], rg[1])
		if err != nil {
			t.Fatal(err)
		}
		for _, ms := range matchers {
			want := m.want(rg[0], rg[1], ms...)
			compareSeries(t, "querier", gotSeries(t, q.Select(ctx, false, nil, ms...)), want)
			compareSeries(t, "chunk querier", gotChunkSeries(t, cq.Select(ctx, true, nil, ms...)), want)
			// Hints narrow the range, as in Prometheus's block querier.
			mid := (rg[0] + rg[1]) / 2
			hints := &storage.SelectHints{Start: mid, End: rg[1]}
			compareSeries(t, "querier with hints", gotSeries(t, q.Select(ctx, true, hints, ms...)), m.want(mid, rg[1], ms...))
		}
		q.Close()
		cq.Close()
	}
}

// TestSelectHints checks Func "series" (labels only) and sharding.
func TestSelectHints(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m := genModel(r, 40, 0, 2*3600_000, 30_000)
	bkt := fsBucket(t)
	upload(t, bkt, tenant, localBlock(t, m))
	ctx := context.Background()
	s, err := Open(ctx, bkt, tenant, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	q, err := s.Querier(m.mint, m.maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	all := labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+")

	ss := q.Select(ctx, true, &storage.SelectHints{Start: m.mint, End: m.maxt, Func: "series"}, all)
	got := gotSeries(t, ss)
	want := m.want(m.mint, m.maxt, all)
	if len(got) != len(want) {
		t.Fatalf("series hint: %d series, want %d", len(got), len(want))
	}
	for i := range want {
		if !labels.Equal(got[i].lset, want[i].lset) {
			t.Fatalf("series hint: series %d is %s, want %s", i, got[i].lset, want[i].lset)
		}
	}

	const shards = 3
	var total int
	for idx := uint64(0); idx < shards; idx++ {
		got := gotSeries(t, q.Select(ctx, true, &storage.SelectHints{Start: m.mint, End: m.maxt, ShardCount: shards, ShardIndex: idx}, all))
		var want []refSeries
		for _, w := range m.want(m.mint, m.maxt, all) {
			if labels.StableHash(w.lset)%shards == idx {
				want = append(want, w)
			}
		}
		compareSeries(t, "shard", got, want)
		total += len(got)
	}
	if total != len(m.series) {
		t.Fatalf("shards hold %d series, want %d", total, len(m.series))
	}
}

// TestConcurrentQueries runs queriers of one Store from several goroutines
// over a cache much smaller than the block (so pieces are evicted under
// the readers' feet) while Sync runs; run it with -race.
func TestConcurrentQueries(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	m := genModel(r, 30, 0, 4*3600_000, 15_000)
	bkt := fsBucket(t)
	upload(t, bkt, tenant, localBlock(t, m))
	ctx := context.Background()
	s, err := Open(ctx, bkt, tenant, Options{CacheBytes: 96 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all := labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".+")
	type result struct {
		mint int64
		got  []refSeries
		err  error
	}
	results := make(chan result, 20)
	for g := range 4 {
		go func() {
			for i := range 5 {
				mint := int64((g*5 + i) * 600_000)
				res := result{mint: mint}
				q, err := s.Querier(mint, mint+3600_000)
				if err != nil {
					res.err = err
				} else {
					res.got, res.err = collect(q.Select(ctx, true, nil, all))
					q.Close()
				}
				if err := s.Sync(ctx); err != nil && res.err == nil {
					res.err = err
				}
				results <- res
			}
		}()
	}
	for range 20 {
		res := <-results
		if res.err != nil {
			t.Fatal(res.err)
		}
		compareSeries(t, "concurrent", res.got, m.want(res.mint, res.mint+3600_000, all))
	}
}

// collect is gotSeries for other goroutines than the test's.
func collect(ss storage.SeriesSet) ([]refSeries, error) {
	var out []refSeries
	for ss.Next() {
		rs := refSeries{lset: ss.At().Labels()}
		it := ss.At().Iterator(nil)
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			rs.samples = append(rs.samples, atSample(it, vt))
		}
		out = append(out, rs)
	}
	if len(ss.Warnings()) > 0 {
		return nil, ss.Warnings().AsErrors()[0]
	}
	return out, ss.Err()
}
