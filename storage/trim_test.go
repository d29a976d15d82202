package storage

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"
)

// TestHeadChunksTrimmedAsUpstream: the same samples (floats over several
// chunks, native histograms with a counter reset, float histograms, and
// histograms so large that the head cuts their chunks by size, as the
// compliance suite's histograms do) appended to a tenant and to the upstream TSDB give the same chunks from
// a chunk querier for ranges that cut chunks, that hold them whole, with
// trimming disabled, and for a Select without matchers (none). Chunk bytes
// are compared, so a histogram chunk's counter-reset header counts.
func TestHeadChunksTrimmedAsUpstream(t *testing.T) {
	db, err := Open(Options{Dir: t.TempDir(), MaintenanceInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	up, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()

	const step = 15_000
	base := time.Now().Add(-time.Hour).Truncate(time.Hour).UnixMilli()
	hs := tsdbutil.GenerateTestHistograms(200)
	fhs := tsdbutil.GenerateTestFloatHistograms(200)
	for _, app := range []promstorage.Appender{db.Default().Appender(context.Background()), up.Appender(context.Background())} {
		for i := range 200 {
			ts := base + int64(i)*step
			if _, err := app.Append(0, labels.FromStrings("__name__", "f", "k", "a"), ts, float64(i)*1.5); err != nil {
				t.Fatal(err)
			}
			h := hs[i%100] // a counter reset at 100
			if _, err := app.AppendHistogram(0, labels.FromStrings("__name__", "h", "k", "b"), ts, h, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := app.AppendHistogram(0, labels.FromStrings("__name__", "fh", "k", "c"), ts, nil, fhs[i]); err != nil {
				t.Fatal(err)
			}
			if _, err := app.AppendHistogram(0, labels.FromStrings("__name__", "hbig", "k", "d"), ts, bigHistogram(i%120), nil); err != nil { // a counter reset at 120
				t.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	end := base + 199*step
	dump := func(q promstorage.ChunkQueryable, mint, maxt int64, hints *promstorage.SelectHints, ms ...*labels.Matcher) string {
		t.Helper()
		cq, err := q.ChunkQuerier(mint, maxt)
		if err != nil {
			t.Fatal(err)
		}
		defer cq.Close()
		var b bytes.Buffer
		ss := cq.Select(context.Background(), true, hints, ms...)
		for ss.Next() {
			s := ss.At()
			fmt.Fprintf(&b, "%s\n", s.Labels())
			it := s.Iterator(nil)
			for it.Next() {
				m := it.At()
				fmt.Fprintf(&b, "  [%d,%d] %s %x\n", m.MinTime-base, m.MaxTime-base, m.Chunk.Encoding(), m.Chunk.Bytes())
			}
			if err := it.Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := ss.Err(); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	all := labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")
	for _, c := range []struct {
		name       string
		mint, maxt int64
		hints      *promstorage.SelectHints
		ms         []*labels.Matcher
	}{
		{"everything", base, end, nil, []*labels.Matcher{all}},
		{"wider than the data", base - 1e6, end + 1e6, nil, []*labels.Matcher{all}},
		{"cuts chunks at both ends", base + 37*step, base + 150*step + 1, nil, []*labels.Matcher{all}},
		// the chunk after the reset at 120 holds twice the target size; a
		// re-encode of a part of it stays one chunk, as in Prometheus
		{"cuts a large chunk", base + 125*step, end, nil, []*labels.Matcher{all}},
		{"one sample", base + 120*step, base + 120*step, nil, []*labels.Matcher{all}},
		{"hints' range", base, end, &promstorage.SelectHints{Start: base + 10*step, End: base + 20*step}, []*labels.Matcher{all}},
		{"trimming disabled", base, end, &promstorage.SelectHints{Start: base + 10*step, End: base + 20*step, DisableTrimming: true}, []*labels.Matcher{all}},
		{"no matchers", base, end, nil, nil},
	} {
		want := dump(up, c.mint, c.maxt, c.hints, c.ms...)
		got := dump(db.Default(), c.mint, c.maxt, c.hints, c.ms...)
		if got != want {
			t.Errorf("%s:\nmytsdb:\n%s\nupstream:\n%s", c.name, got, want)
		}
		if c.ms != nil && !bytes.Contains([]byte(want), []byte(chunkenc.EncHistogram.String())) {
			t.Errorf("%s: the upstream answer holds no histogram chunk, the case proves little:\n%s", c.name, want)
		}
	}
}

// bigHistogram is the i-th sample of a counter histogram of 24 buckets
// whose counts grow irregularly, so each sample costs tens of bytes in a
// histogram chunk.
func bigHistogram(i int) *histogram.Histogram {
	const n = 24
	h := &histogram.Histogram{
		Schema:          0,
		ZeroThreshold:   1e-128,
		PositiveSpans:   []histogram.Span{{Offset: 0, Length: n}},
		PositiveBuckets: make([]int64, n),
	}
	var prev int64
	for b := range n {
		// absolute count: grows by at least 1 per sample (so no counter
		// reset) but by an irregular amount, so the deltas do not compress
		c := int64(i)*int64(11+(b*7919)%97) + int64((i*i*7+b*i*3)%11)
		h.PositiveBuckets[b] = c - prev // buckets are deltas
		prev = c
		h.Count += uint64(c)
	}
	h.Sum = float64(h.Count) * 0.37
	return h
}
