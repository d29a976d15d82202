package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"

	"mytsdb/storage"
)

// chunkShape is what the cost estimator reads of a sampled chunk.
type chunkShape struct {
	series           string
	minT, maxT       int64
	samples          int
	firstT, lastT    int64
	valueTypeOfFirst chunkenc.ValueType
}

// sampledChunks lists the chunks a sampling source's chunk querier gives
// for [mint, maxt], with the first and last sample of each.
func sampledChunks(t *testing.T, src promstorage.ChunkQueryable, mint, maxt int64) []chunkShape {
	t.Helper()
	q, err := src.ChunkQuerier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	set := q.Select(context.Background(), true, &promstorage.SelectHints{Start: mint, End: maxt}, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	var out []chunkShape
	for set.Next() {
		s := set.At()
		it := s.Iterator(nil)
		for it.Next() {
			m := it.At()
			c := chunkShape{series: s.Labels().String(), minT: m.MinTime, maxT: m.MaxTime, samples: m.Chunk.NumSamples()}
			si := m.Chunk.Iterator(nil)
			for vt := si.Next(); vt != chunkenc.ValNone; vt = si.Next() {
				if c.valueTypeOfFirst == chunkenc.ValNone {
					c.valueTypeOfFirst, c.firstT = vt, si.AtT()
				}
				c.lastT = si.AtT()
			}
			out = append(out, c)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCostSamplingAsPrometheusTSDB: the sampling source of a tenant gives
// the cost estimator the chunks Prometheus's TSDB gives it for the same
// appends (chunks cut to the window, so their sample counts and bounds
// match), floats and native histograms; and it refuses windows that the
// head and a block both serve, as Prometheus's does.
func TestCostSamplingAsPrometheusTSDB(t *testing.T) {
	db, err := storage.Open(storage.Options{Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = 0
	ref, err := tsdb.Open(t.TempDir(), nil, nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	// 100 points 15 s apart: one chunk per series in both heads.
	const n, step = 100, 15_000
	for _, app := range []promstorage.Appender{db.Default().Appender(context.Background()), ref.Appender(context.Background())} {
		for i := range n {
			ts := int64(i) * step
			for _, s := range []string{"a", "b"} {
				if _, err := app.Append(0, labels.FromStrings("__name__", "g", "s", s), ts, float64(i)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := app.AppendHistogram(0, labels.FromStrings("__name__", "h"), ts, tsdbutil.GenerateTestHistogram(int64(i)), nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	ls := &localStorage{db: db}
	ours := ls.costSampling(db.Default())
	theirs, ok := ref.CostSamplingQueryable()
	if !ok {
		t.Fatal("Prometheus's TSDB offers no cost sampling")
	}
	last := int64(n-1) * step
	for _, w := range [][2]int64{
		{0, last}, {-step, last + step}, {1, last - 1}, {30 * step, 30 * step}, {30*step + 1, 40*step - 1},
		{10 * step, 60 * step}, {last, last + 10*step}, {last + 1, last + 100}, {-100, -1}, {7, 8},
	} {
		got, want := sampledChunks(t, ours, w[0], w[1]), sampledChunks(t, theirs, w[0], w[1])
		if !slices.Equal(got, want) {
			t.Errorf("window %v:\n mytsdb     %v\n prometheus %v", w, got, want)
		}
	}

	// A block beside the head: a window reaching both is refused.
	tn := db.Default()
	blockAt := int64(3 * 3600 * 1000)
	app := tn.Appender(context.Background())
	for i := range 200 {
		if _, err := app.Append(0, labels.FromStrings("__name__", "g", "s", "a"), blockAt+int64(i)*60_000, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tn.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	bs := tn.Blocks()
	if len(bs) == 0 {
		t.Fatal("no block was cut")
	}
	b, lastB := bs[0], bs[len(bs)-1]
	headMin := tn.Head().MinTime()
	t.Logf("blocks %v, head from %d", bs, headMin)
	for _, c := range []struct {
		mint, maxt int64
		ok         bool
	}{
		{b.MinTime, b.MinTime + 1, headMin > b.MinTime+1},
		{b.MinTime, headMin, false},
		{headMin, headMin + 1, lastB.MaxTime <= headMin},
	} {
		cq, err := ours.ChunkQuerier(c.mint, c.maxt)
		if err == nil {
			_ = cq.Close()
		}
		q, qerr := ours.Querier(c.mint, c.maxt)
		if qerr == nil {
			_ = q.Close()
		}
		for _, e := range []error{err, qerr} {
			if unsupported := errors.Is(e, promstorage.ErrCostSamplingUnsupported); unsupported == c.ok || (e != nil && !unsupported) {
				t.Errorf("window [%d, %d] (block [%d, %d), head from %d): err %v, want supported %v", c.mint, c.maxt, b.MinTime, b.MaxTime, headMin, e, c.ok)
			}
		}
	}
}
