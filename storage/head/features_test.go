package head

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"

	"mytsdb/storage/wal"
)

func TestExemplarsAndMetadataSurviveReplay(t *testing.T) {
	fs := wal.NewMemFS()
	h, w := openTestHead(t, fs, 0)
	l := labels.FromStrings("__name__", "req_total", "job", "api")
	app := h.AppenderV2(context.Background()).(storage.ExemplarAppenderV2)
	ex1 := exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "abc"), Value: 1, Ts: 1000, HasTs: true}
	ex2 := exemplar.Exemplar{Labels: labels.FromStrings("trace_id", "def"), Value: 2, Ts: 2000, HasTs: true}
	meta := metadata.Metadata{Type: "counter", Help: "Requests.", Unit: ""}
	ref, err := app.Append(0, l, 0, 1000, 1, nil, nil, storage.AOptions{Exemplars: []exemplar.Exemplar{ex1}, Metadata: meta})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Append(ref, l, 0, 2000, 2, nil, nil, storage.AOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.AppendExemplars(ref, l, []exemplar.Exemplar{ex2}); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	// Errors like Prometheus: out of order is reported, a duplicate is silent,
	// a too long label set is reported.
	app = h.AppenderV2(context.Background()).(storage.ExemplarAppenderV2)
	long := exemplar.Exemplar{Labels: labels.FromStrings("trace_id", strings.Repeat("x", 130)), Value: 3, Ts: 3000, HasTs: true}
	_, err = app.AppendExemplars(ref, l, []exemplar.Exemplar{ex2, ex1, long})
	var pe *storage.AppendPartialError
	if !errors.As(err, &pe) || len(pe.ExemplarErrors) != 2 ||
		!errors.Is(pe.ExemplarErrors[0].Err, storage.ErrOutOfOrderExemplar) || pe.ExemplarErrors[0].Index != 1 ||
		!errors.Is(pe.ExemplarErrors[1].Err, storage.ErrExemplarLabelLength) {
		t.Fatalf("AppendExemplars error = %v", err)
	}
	_ = app.Rollback()

	check := func(h *Head) {
		t.Helper()
		eq, _ := h.ExemplarQuerier(context.Background())
		res, err := eq.Select(0, 5000, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "job", "api")})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 1 || !labels.Equal(res[0].SeriesLabels, l) || len(res[0].Exemplars) != 2 ||
			!res[0].Exemplars[0].Equals(ex1) || !res[0].Exemplars[1].Equals(ex2) {
			t.Fatalf("exemplars: %+v", res)
		}
		if res, _ := eq.Select(1500, 5000, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "job", "nope")}); len(res) != 0 {
			t.Fatalf("non-matching exemplar query returned %v", res)
		}
		s := h.series.getByHash(l.Hash(), l)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.mu.meta == nil || *s.mu.meta != meta {
			t.Fatalf("metadata %+v, want %+v", s.mu.meta, meta)
		}
	}
	check(h)
	crashed := fs.CrashClone()
	_ = h.Close()
	_ = w.Close()
	h2, w2 := openTestHead(t, crashed, 0)
	defer w2.Close()
	check(h2)
	if err := h2.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	_ = h2.Close()
	_ = w2.Close()
	h3, w3 := openTestHead(t, crashed, 0)
	defer w3.Close()
	check(h3)
}

// TestExemplarRingEvicts: the ring keeps the newest exemplars only.
func TestExemplarRingEvicts(t *testing.T) {
	h, err := New(Options{MaxExemplars: 3})
	if err != nil {
		t.Fatal(err)
	}
	l := labels.FromStrings("__name__", "m")
	for i := range 5 {
		app := h.Appender(context.Background())
		ts := int64(i+1) * 1000
		if _, err := app.Append(0, l, ts, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := app.AppendExemplar(0, l, exemplar.Exemplar{Value: float64(i), Ts: ts, HasTs: true}); err != nil {
			t.Fatal(err)
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	eq, _ := h.ExemplarQuerier(context.Background())
	res, _ := eq.Select(0, math.MaxInt64, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "m")})
	if len(res) != 1 || len(res[0].Exemplars) != 3 || res[0].Exemplars[0].Ts != 3000 || res[0].Exemplars[2].Ts != 5000 {
		t.Fatalf("ring: %+v", res)
	}
}

// TestStaleMarkerOnHistogramSeries: a float stale marker on a histogram
// series is stored as a histogram stale marker, like Prometheus.
func TestStaleMarkerOnHistogramSeries(t *testing.T) {
	h, _ := New(Options{})
	l := labels.FromStrings("__name__", "h")
	app := h.Appender(context.Background())
	if _, err := app.AppendHistogram(0, l, 1000, tsdbutil.GenerateTestHistogram(1), nil); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	app = h.Appender(context.Background())
	if _, err := app.Append(0, l, 2000, math.Float64frombits(value.StaleNaN)); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	q, _ := h.Querier(0, 3000)
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "h"))
	if !set.Next() {
		t.Fatal("no series")
	}
	it := set.At().Iterator(nil)
	var types []chunkenc.ValueType
	var last *histogram.Histogram
	for typ := it.Next(); typ != chunkenc.ValNone; typ = it.Next() {
		types = append(types, typ)
		_, last = it.AtHistogram(nil)
	}
	if !slices.Equal(types, []chunkenc.ValueType{chunkenc.ValHistogram, chunkenc.ValHistogram}) || !value.IsStaleNaN(last.Sum) {
		t.Fatalf("types %v, last %v", types, last)
	}
}

// TestSelectHintsAndLabels covers hints (range, Func "series", Limit) and the
// label APIs with matchers and limits.
func TestSelectHintsAndLabels(t *testing.T) {
	h, _ := New(Options{})
	app := h.Appender(context.Background())
	for i := range 10 {
		l := labels.FromStrings("__name__", "m", "i", fmt.Sprint(i), "even", fmt.Sprint(i%2 == 0))
		for ts := int64(0); ts < 10; ts++ {
			if _, err := app.Append(0, l, ts*1000, float64(ts)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	q, _ := h.Querier(0, 9000)
	ctx := context.Background()
	count := func(set storage.SeriesSet) (series, samples int) {
		for set.Next() {
			series++
			it := set.At().Iterator(nil)
			for it.Next() != chunkenc.ValNone {
				samples++
			}
		}
		return
	}
	m := labels.MustNewMatcher(labels.MatchEqual, "even", "true")
	if s, n := count(q.Select(ctx, true, &storage.SelectHints{Start: 2000, End: 4000}, m)); s != 5 || n != 15 {
		t.Fatalf("hints range: %d series %d samples", s, n)
	}
	if s, n := count(q.Select(ctx, true, &storage.SelectHints{Start: 0, End: 9000, Func: "series"}, m)); s != 5 || n != 0 {
		t.Fatalf("Func series: %d series %d samples", s, n)
	}
	if s, _ := count(q.Select(ctx, true, &storage.SelectHints{Start: 0, End: 9000, Limit: 2}, m)); s != 2 {
		t.Fatalf("Limit: %d series", s)
	}
	if s, _ := count(q.Select(ctx, true, &storage.SelectHints{Start: 20000, End: 30000}, m)); s != 0 {
		t.Fatalf("out of range: %d series", s)
	}
	vals, _, _ := q.LabelValues(ctx, "i", nil, labels.MustNewMatcher(labels.MatchRegexp, "i", "[3-7]"), m)
	if !slices.Equal(vals, []string{"4", "6"}) {
		t.Fatalf("LabelValues = %v", vals)
	}
	vals, _, _ = q.LabelValues(ctx, "i", &storage.LabelHints{Limit: 3})
	if !slices.Equal(vals, []string{"0", "1", "2"}) {
		t.Fatalf("LabelValues limit = %v", vals)
	}
	names, _, _ := q.LabelNames(ctx, nil, labels.MustNewMatcher(labels.MatchEqual, "i", "1"))
	if !slices.Equal(names, []string{"__name__", "even", "i"}) {
		t.Fatalf("LabelNames = %v", names)
	}
	if vals, _, _ := q.LabelValues(ctx, "nope", nil); vals == nil || len(vals) != 0 {
		t.Fatalf("LabelValues of missing name = %#v, want empty non-nil", vals)
	}
}

// TestIteratorSeek compares Seek/Next sequences on a merged (in-order + out
// of order) series against a plain slice.
func TestIteratorSeek(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	h, _ := New(Options{OutOfOrderTimeWindow: 1 << 40})
	l := labels.FromStrings("__name__", "s")
	var all []int64
	seen := map[int64]bool{}
	for range 40 {
		app := h.Appender(context.Background())
		for range 20 {
			ts := rng.Int63n(5000) * 10
			if _, err := app.Append(0, l, ts, float64(ts)); err != nil {
				t.Fatal(err)
			}
			if !seen[ts] {
				seen[ts] = true
				all = append(all, ts)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(all)
	for trial := range 200 {
		mint := rng.Int63n(50000)
		maxt := mint + rng.Int63n(50000)
		q, _ := h.Querier(mint, maxt)
		set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "s"))
		if !set.Next() {
			continue
		}
		it := set.At().Iterator(nil)
		var want []int64
		for _, ts := range all {
			if ts >= mint && ts <= maxt {
				want = append(want, ts)
			}
		}
		pos := -1 // index in want of the iterator's current sample
		for step := 0; step < 30; step++ {
			var typ chunkenc.ValueType
			if rng.Intn(2) == 0 {
				typ = it.Next()
				pos++
			} else {
				target := mint - 100 + rng.Int63n(maxt-mint+200)
				typ = it.Seek(target)
				if pos < 0 || want[min(pos, len(want)-1)] < target {
					pos = max(pos, 0)
					for pos < len(want) && want[pos] < target {
						pos++
					}
				}
			}
			if pos >= len(want) {
				if typ != chunkenc.ValNone {
					t.Fatalf("trial %d step %d: got a sample past the end", trial, step)
				}
				break
			}
			if typ != chunkenc.ValFloat {
				t.Fatalf("trial %d step %d: type %v, want float at %d", trial, step, typ, want[pos])
			}
			if ts, v := it.At(); ts != want[pos] || v != float64(ts) {
				t.Fatalf("trial %d step %d: at %d, want %d", trial, step, ts, want[pos])
			}
		}
	}
}

// TestConcurrentAppendQueryTruncate runs appenders, queriers and
// truncation/checkpoints at once (meant for -race), then checks no committed
// sample was lost across a replay.
func TestConcurrentAppendQueryTruncate(t *testing.T) {
	fs := wal.NewMemFS()
	h, w := openTestHead(t, fs, 0)
	const writers, perWriter, rounds = 4, 50, 60
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for wi := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lsets := benchSeries(perWriter, fmt.Sprint("w", wi))
			refs := make([]storage.SeriesRef, perWriter)
			for r := range rounds {
				app := h.Appender(context.Background())
				for i, l := range lsets {
					ref, err := app.Append(refs[i], l, int64(r)*1000, float64(r))
					if err != nil {
						t.Error(err)
						return
					}
					refs[i] = ref
				}
				if err := app.Commit(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			q, _ := h.Querier(math.MinInt64, math.MaxInt64)
			set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "instance", "w.*"))
			for set.Next() {
				it := set.At().Iterator(nil)
				for it.Next() != chunkenc.ValNone {
				}
			}
			_ = h.Truncate(-1000) // Drops nothing, but walks and locks everything.
			if err := h.Checkpoint(); err != nil {
				t.Error(err)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Wait()
	close(stop)
	bg.Wait()
	crashed := fs.CrashClone()
	_ = h.Close()
	_ = w.Close()
	h2, w2 := openTestHead(t, crashed, 0)
	defer w2.Close()
	q, _ := h2.Querier(math.MinInt64, math.MaxInt64)
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, "instance", "w.*"))
	n, samples := 0, 0
	for set.Next() {
		n++
		it := set.At().Iterator(nil)
		for it.Next() != chunkenc.ValNone {
			samples++
		}
	}
	if n != writers*perWriter || samples != writers*perWriter*rounds {
		t.Fatalf("after replay: %d series, %d samples; want %d, %d", n, samples, writers*perWriter, writers*perWriter*rounds)
	}
}
