package head

import (
	"context"
	"testing"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"mytsdb/storage/wal"
)

// TestMemSeriesLayout guards the layout that appends and memory depend on:
// a series fits the 208-byte size class (every byte of it is paid per
// active series, times the GC's headroom), and the fields an append touches
// lie in its first two cache lines.
func TestMemSeriesLayout(t *testing.T) {
	var s memSeries
	if n := unsafe.Sizeof(s); n > 208 {
		t.Errorf("memSeries is %d bytes, want ≤ 208", n)
	}
	hot := map[string]uintptr{
		"mu.open.maxTime": unsafe.Offsetof(s.mu.open) + unsafe.Offsetof(s.mu.open.maxTime) + 8,
		"mu.xor.trailing": unsafe.Offsetof(s.mu.xor) + unsafe.Offsetof(s.mu.xor.trailing) + 1,
		"mu.nextAt":       unsafe.Offsetof(s.mu.nextAt) + 8,
	}
	for name, end := range hot {
		if end > 128 {
			t.Errorf("%s ends at byte %d, past the first two cache lines", name, end)
		}
	}
}

// TestChunkRangeCutsChunks checks that a head's chunk range (Options) is the
// one its series cut chunks at: no chunk spans a range boundary.
func TestChunkRangeCutsChunks(t *testing.T) {
	for _, r := range []int64{1000, 7777, DefaultChunkRange} {
		h, err := New(Options{ChunkRange: r})
		if err != nil {
			t.Fatal(err)
		}
		app := h.Appender(context.Background())
		var ref storage.SeriesRef
		for ts := int64(0); ts < 3*r; ts += r / 10 {
			if ref, err = app.Append(ref, labels.FromStrings("__name__", "x"), ts, float64(ts)); err != nil {
				t.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
		s := h.series.getByID(wal.SeriesRef(ref))
		s.mu.Lock()
		n := s.numChunksLocked()
		for i := range n {
			c := s.chunkRefLocked(i)
			if c.minTime/r != c.maxTime/r {
				t.Errorf("range %d: chunk %d spans [%d, %d]", r, i, c.minTime, c.maxTime)
			}
		}
		s.mu.Unlock()
		if want := 3; n != want {
			t.Errorf("range %d: %d chunks, want %d", r, n, want)
		}
	}
}
