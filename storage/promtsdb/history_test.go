package promtsdb

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"
)

// sample is one sample of any kind, printed for comparison.
type sample struct {
	t int64
	v string
}

// readSeries reads every sample of every series q holds.
func readSeries(t *testing.T, q storage.Querier) map[string][]sample {
	t.Helper()
	defer q.Close()
	set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	out := map[string][]sample{}
	for set.Next() {
		var ss []sample
		it := set.At().Iterator(nil)
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			switch vt {
			case chunkenc.ValFloat:
				ts, v := it.At()
				ss = append(ss, sample{ts, fmt.Sprint(math.Float64bits(v))})
			case chunkenc.ValHistogram:
				ts, h := it.AtHistogram(nil)
				ss = append(ss, sample{ts, h.String()})
			case chunkenc.ValFloatHistogram:
				ts, h := it.AtFloatHistogram(nil)
				ss = append(ss, sample{ts, "f" + h.String()})
			}
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		out[set.At().Labels().String()] = ss
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHistoryMatchesUpstreamTSDB writes a Prometheus TSDB with the upstream
// tsdb package (floats, integer and float native histograms, out-of-order
// samples through the WBL, deletes in blocks and in the head, compactions
// that leave blocks, a checkpoint and WAL segments after it), reads it back
// with the upstream DB as the reference, closes it and opens it as a
// History: every series and sample is the same, and no file changed.
func TestHistoryMatchesUpstreamTSDB(t *testing.T) {
	dir := t.TempDir()
	opts := tsdb.DefaultOptions()
	opts.MinBlockDuration = (10 * time.Minute).Milliseconds()
	opts.MaxBlockDuration = (30 * time.Minute).Milliseconds()
	opts.RetentionDuration = (30 * 24 * time.Hour).Milliseconds()
	opts.OutOfOrderTimeWindow = (30 * time.Minute).Milliseconds()
	opts.WALSegmentSize = 32 << 10 // several segments, so that a compaction checkpoints
	db, err := tsdb.Open(dir, nil, nil, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.DisableCompactions() // compactions run when the test says
	ctx := context.Background()
	base := time.Now().Add(-3 * time.Hour).UnixMilli()
	base -= base % opts.MinBlockDuration
	step := int64(15_000)
	end := base + (100 * time.Minute).Milliseconds()
	for ts := base; ts < end; ts += step {
		app := db.Appender(ctx)
		for i := range 12 {
			l := labels.FromStrings("__name__", fmt.Sprintf("m%d", i%3), "i", fmt.Sprint(i))
			if _, err := app.Append(0, l, ts, float64(ts/1000%97)+float64(i)/4); err != nil {
				t.Fatal(err)
			}
		}
		n := (ts - base) / step
		if _, err := app.AppendHistogram(0, labels.FromStrings("__name__", "h"), ts, tsdbutil.GenerateTestHistogram(n), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := app.AppendHistogram(0, labels.FromStrings("__name__", "fh"), ts, nil, tsdbutil.GenerateTestFloatHistogram(n)); err != nil {
			t.Fatal(err)
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
		if ts == base+(60*time.Minute).Milliseconds() {
			if err := db.Compact(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Compact(ctx); err != nil { // with several segments now: a checkpoint
		t.Fatal(err)
	}

	// Out-of-order samples: into the WBL.
	app := db.Appender(ctx)
	for k := int64(1); k <= 20; k++ {
		if _, err := app.Append(0, labels.FromStrings("__name__", "ooo"), end-k*step-step/2, float64(k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	// Deletes over blocks and the head (tombstones in both).
	if err := db.Delete(ctx, base+(20*time.Minute).Milliseconds(), end-(10*time.Minute).Milliseconds(), labels.MustNewMatcher(labels.MatchEqual, "i", "4")); err != nil {
		t.Fatal(err)
	}
	if len(db.Blocks()) < 2 {
		t.Fatalf("%d blocks: the test wants several", len(db.Blocks()))
	}
	if _, err := os.Stat(filepath.Join(dir, "wbl")); err != nil {
		t.Fatalf("no wbl: %v", err)
	}
	if cps, _ := filepath.Glob(filepath.Join(dir, "wal", "checkpoint.*")); len(cps) == 0 {
		t.Fatal("no WAL checkpoint: the test wants one")
	}
	q, err := db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	want := readSeries(t, q)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before := treeOf(t, dir)

	h, st, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if st.Blocks < 2 || st.WALSamples == 0 || st.WALDamage != nil || st.WALTombstones == 0 {
		t.Fatalf("stats: %+v", st)
	}
	q, err = h.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	got := readSeries(t, q)
	if d := diff(want, got); d != "" {
		t.Fatal(d)
	}
	// Windows across block boundaries and into the head: the reference's
	// samples in the window.
	for _, w := range [][2]int64{{55, 75}, {85, 95}, {0, 5}, {99, 200}} {
		mint, maxt := base+w[0]*60_000, base+w[1]*60_000
		q, err = h.Querier(mint, maxt)
		if err != nil {
			t.Fatal(err)
		}
		ref := map[string][]sample{}
		for k, ss := range want {
			for _, s := range ss {
				if s.t >= mint && s.t <= maxt {
					ref[k] = append(ref[k], s)
				}
			}
		}
		if d := diff(ref, readSeries(t, q)); d != "" {
			t.Fatalf("window %v min: %s", w, d)
		}
	}
	if after := treeOf(t, dir); after != before {
		t.Fatalf("files changed:\nbefore %s\nafter  %s", before, after)
	}
}

func diff(want, got map[string][]sample) string {
	var b strings.Builder
	for k, ws := range want {
		gs := got[k]
		if fmt.Sprint(ws) != fmt.Sprint(gs) {
			fmt.Fprintf(&b, "%s: want %d samples, got %d\n", k, len(ws), len(gs))
			for i := range min(len(ws), len(gs)) {
				if ws[i] != gs[i] {
					fmt.Fprintf(&b, "  first difference at %d: want %v, got %v\n", i, ws[i], gs[i])
					break
				}
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "%s: not in the reference\n", k)
		}
	}
	return b.String()
}

// treeOf lists every path under dir with its size and modification time.
func treeOf(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %d;", p, fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
