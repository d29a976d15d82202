package head

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// TestConcurrentAppendersPinSameSeries: two open appenders on one series,
// the second pinning it while the first holds it (its pin index then lives
// in the appender, not the series). Each validates against its own pending
// samples, and garbage collection leaves the series alone until both end.
func TestConcurrentAppendersPinSameSeries(t *testing.T) {
	h, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := labels.FromStrings("__name__", "m")
	a1 := h.Appender(context.Background())
	a2 := h.Appender(context.Background())
	ref, err := a1.Append(0, l, 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a2.Append(ref, l, 2000, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := a2.Append(ref, l, 2000, 3); !errors.Is(err, storage.ErrDuplicateSampleForTimestamp) {
		t.Fatalf("a2 duplicate: got %v", err)
	}
	if _, err := a2.Append(ref, l, 1500, 3); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Fatalf("a2 out of order: got %v", err)
	}
	if _, err := a1.Append(ref, l, 500, 3); !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Fatalf("a1 out of order: got %v", err)
	}
	if _, err := a1.Append(ref, l, 1000, 1); err != nil { // Identical duplicate: fine.
		t.Fatalf("a1 identical duplicate: %v", err)
	}
	if err := h.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if h.NumSeries() != 1 {
		t.Fatal("a pinned series was garbage-collected")
	}
	if err := a1.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := a2.Commit(); err != nil {
		t.Fatal(err)
	}
	q, err := h.Querier(0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m"))
	var got []int64
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() != 0 {
			ts, _ := it.At()
			got = append(got, ts)
		}
	}
	if len(got) != 2 || got[0] != 1000 || got[1] != 2000 {
		t.Fatalf("samples at %v, want [1000 2000]", got)
	}
	for _, s := range []*memSeries{h.series.getByID(1)} {
		if s == nil || s.pending.Load() != 0 {
			t.Fatal("pins not released")
		}
	}
}
