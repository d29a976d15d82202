package head

import (
	"testing"
	"unsafe"
)

// TestMemSeriesLayout guards the layout that appends depend on: a series
// fits the 256-byte size class (so it is 64-byte aligned), and the fields an
// append touches lie in its first two cache lines.
func TestMemSeriesLayout(t *testing.T) {
	var s memSeries
	if n := unsafe.Sizeof(s); n > 256 {
		t.Errorf("memSeries is %d bytes, want ≤ 256", n)
	}
	hot := map[string]uintptr{
		"mu.open.maxTime": unsafe.Offsetof(s.mu.open) + unsafe.Offsetof(s.mu.open.maxTime) + 8,
		"mu.xor.trailing": unsafe.Offsetof(s.mu.xor) + unsafe.Offsetof(s.mu.xor.trailing) + 1,
		"mu.nextAt":       unsafe.Offsetof(s.mu.nextAt) + 8,
		"mu.lastH":        unsafe.Offsetof(s.mu.lastH) + 8,
	}
	for name, end := range hot {
		if end > 128 {
			t.Errorf("%s ends at byte %d, past the first two cache lines", name, end)
		}
	}
}
