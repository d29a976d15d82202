package head

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"unsafe"
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
		"mu.rangeIdx":     unsafe.Offsetof(s.mu.rangeIdx) + 1,
	}
	for name, end := range hot {
		if end > 128 {
			t.Errorf("%s ends at byte %d, past the first two cache lines", name, end)
		}
	}
}

// TestChunkRangeIndex checks that series keep their head's chunk range
// through the index, whatever the order heads register their ranges in.
func TestChunkRangeIndex(t *testing.T) {
	for _, r := range []int64{DefaultChunkRange, 1000, 7777, DefaultChunkRange, 1000} {
		if _, err := New(Options{ChunkRange: r}); err != nil {
			t.Fatal(err)
		}
		if got := newMemSeries(1, labels.EmptyLabels(), r).chunkRange(); got != r {
			t.Errorf("chunk range %d: series has %d", r, got)
		}
	}
	if got := (&memSeries{}).chunkRange(); got != DefaultChunkRange {
		t.Errorf("zero series: chunk range %d, want the default", got)
	}
}
