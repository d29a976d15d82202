package head

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"

	"mytsdb/storage/wal"
)

// headSamples reads every sample of every series in the head, keyed by the
// series' labels, floats as bits so NaNs compare.
func headSamples(t *testing.T, h *Head) map[string][]string {
	t.Helper()
	q, err := h.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	out := map[string][]string{}
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	for ss.Next() {
		s := ss.At()
		it := s.Iterator(nil)
		var got []string
		for typ := it.Next(); typ != chunkenc.ValNone; typ = it.Next() {
			switch typ {
			case chunkenc.ValFloat:
				ts, v := it.At()
				got = append(got, fmt.Sprintf("%d:%x", ts, math.Float64bits(v)))
			case chunkenc.ValHistogram:
				ts, hh := it.AtHistogram(nil)
				got = append(got, fmt.Sprintf("%d:h%s", ts, hh.String()))
			}
		}
		if len(got) > 0 {
			out[s.Labels().String()] = got
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDeleteMatchesReference deletes intervals of matching series and
// compares the head with a reference (what was appended, minus what each
// delete covers), live, after a crash and replay, and after a checkpoint.
func TestDeleteMatchesReference(t *testing.T) {
	for _, window := range []int64{0, 3600_000} {
		t.Run(fmt.Sprintf("window=%d", window), func(t *testing.T) {
			fs := wal.NewMemFS()
			h, w := openTestHead(t, fs, window)
			r := rand.New(rand.NewSource(window + 1))
			type ref struct {
				lset labels.Labels
				ts   []int64
				vals []string
			}
			want := map[string][]string{}
			var series []labels.Labels
			for i := range 12 {
				series = append(series, labels.FromStrings("__name__", "m", "job", fmt.Sprintf("j%d", i%3), "i", fmt.Sprint(i)))
			}
			hists := tsdbutil.GenerateTestHistograms(200)
			app := h.Appender(context.Background())
			for step := range 200 {
				ts := int64(step) * 15_000
				for i, l := range series {
					var err error
					if i == 11 {
						_, err = app.AppendHistogram(0, l, ts, hists[step], nil)
						want[l.String()] = append(want[l.String()], fmt.Sprintf("%d:h%s", ts, hists[step].String()))
					} else {
						v := r.Float64() * 100
						if step == 50 {
							v = math.Float64frombits(0x7ff0000000000002) // a stale marker
						}
						_, err = app.Append(0, l, ts, v)
						want[l.String()] = append(want[l.String()], fmt.Sprintf("%d:%x", ts, math.Float64bits(v)))
					}
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
			del := func(mint, maxt int64, ms ...*labels.Matcher) {
				t.Helper()
				if err := h.Delete(context.Background(), mint, maxt, ms...); err != nil {
					t.Fatal(err)
				}
				for _, l := range series {
					if !matchesAll(l, ms) {
						continue
					}
					var kept []string
					for _, s := range want[l.String()] {
						var ts int64
						fmt.Sscanf(s, "%d:", &ts)
						if ts < mint || ts > maxt {
							kept = append(kept, s)
						}
					}
					if len(kept) == 0 {
						delete(want, l.String())
					} else {
						want[l.String()] = kept
					}
				}
			}
			check := func(what string) {
				t.Helper()
				got := headSamples(t, h)
				if len(got) != len(want) {
					t.Fatalf("%s: %d series, want %d", what, len(got), len(want))
				}
				for k, ws := range want {
					gs := got[k]
					if fmt.Sprint(gs) != fmt.Sprint(ws) {
						t.Fatalf("%s: series %s:\n got %d samples %v\nwant %d samples %v", what, k, len(gs), gs, len(ws), ws)
					}
				}
			}
			del(100_000, 600_000, labels.MustNewMatcher(labels.MatchEqual, "job", "j0"))
			del(math.MinInt64, math.MaxInt64, labels.MustNewMatcher(labels.MatchEqual, "i", "4"))
			del(2_000_000, 2_100_000, labels.MustNewMatcher(labels.MatchRegexp, "i", "1.|2"))
			del(0, 14_999) // no matcher: every series, first sample
			check("live")

			// More appends after the deletes stay (the interval was clamped).
			app = h.Appender(context.Background())
			ts := int64(200) * 15_000
			for _, l := range series[:11] {
				if _, err := app.Append(0, l, ts, 1); err != nil {
					t.Fatal(err)
				}
				want[l.String()] = append(want[l.String()], fmt.Sprintf("%d:%x", ts, math.Float64bits(1)))
			}
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
			check("after appending")

			crashed := fs.CrashClone()
			_ = h.Close()
			_ = w.Close()
			h, w = openTestHead(t, crashed, window)
			check("after replay")
			if err := h.Checkpoint(); err != nil {
				t.Fatal(err)
			}
			_ = h.Close()
			_ = w.Close()
			h, w = openTestHead(t, crashed, window)
			defer w.Close()
			check("after checkpoint and replay")
		})
	}
}

func matchesAll(l labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}

var _ storage.Appendable = (*Head)(nil)

// TestCheckpointDuringCommits: commits from several goroutines go on while
// checkpoints are written (they wait only for the segment to close); after a
// crash and replay every acknowledged sample is there exactly once.
func TestCheckpointDuringCommits(t *testing.T) {
	fs := wal.NewMemFS()
	h, w := openTestHead(t, fs, 0)
	const writers, perWriter, steps = 4, 25, 300
	want := make([]map[string][]string, writers)
	errs := make(chan error, writers+1)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				errs <- nil
				return
			default:
			}
			if err := h.Checkpoint(); err != nil {
				errs <- err
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range writers {
		want[g] = map[string][]string{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var series []labels.Labels
			for i := range perWriter {
				series = append(series, labels.FromStrings("__name__", "c", "g", fmt.Sprint(g), "i", fmt.Sprint(i)))
			}
			for step := range steps {
				app := h.Appender(context.Background())
				ts := int64(step) * 1000
				for i, l := range series {
					if _, err := app.Append(0, l, ts, float64(step*100+i)); err != nil {
						errs <- err
						return
					}
				}
				if err := app.Commit(); err != nil {
					errs <- err
					return
				}
				for i, l := range series {
					want[g][l.String()] = append(want[g][l.String()], fmt.Sprintf("%d:%x", ts, math.Float64bits(float64(step*100+i))))
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	crashed := fs.CrashClone()
	_ = h.Close()
	_ = w.Close()
	h, w = openTestHead(t, crashed, 0)
	defer w.Close()
	got := headSamples(t, h)
	for _, wg := range want {
		for k, ws := range wg {
			if fmt.Sprint(got[k]) != fmt.Sprint(ws) {
				t.Fatalf("series %s after replay: %d samples, want %d", k, len(got[k]), len(ws))
			}
		}
	}
}
