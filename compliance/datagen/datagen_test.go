package datagen

import (
	"bytes"
	"testing"
	"time"
)

func TestWritesDeterministic(t *testing.T) {
	base := Base(time.Date(2026, 11, 26, 16, 0, 30, 0, time.UTC))
	if want := time.Date(2026, 11, 26, 15, 10, 0, 0, time.UTC).UnixMilli(); base != want {
		t.Fatalf("Base = %d, want %d", base, want)
	}
	a, err := Writes(base)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Writes(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) || len(a) < 10 {
		t.Fatalf("got %d and %d writes", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Body, b[i].Body) {
			t.Fatalf("write %d (%s) differs between two calls", i, a[i].Name)
		}
	}
}

func TestSeriesInOrderAndInSpan(t *testing.T) {
	base := Base(time.Now())
	all := append(append(floatSeries(base), histogramSeries(base)...), v2Series(base)...)
	for _, s := range all {
		last := int64(-1 << 62)
		for _, f := range s.Floats {
			if f.T <= last || f.T < base || f.T > base+ms(Span) {
				t.Fatalf("%s: float sample at %d out of order or span", s.Labels, f.T-base)
			}
			last = f.T
		}
		last = -1 << 62
		for _, h := range s.Hists {
			if h.T <= last || h.T < base || h.T > base+ms(Span) {
				t.Fatalf("%s: histogram sample at %d out of order or span", s.Labels, h.T-base)
			}
			last = h.T
			var err error
			if h.H != nil {
				err = h.H.Validate()
			} else {
				err = h.FH.Validate()
			}
			if err != nil {
				t.Fatalf("%s at %d: invalid histogram: %v", s.Labels, h.T-base, err)
			}
		}
	}
}

func TestTimeOrderedWrites(t *testing.T) {
	base := Base(time.Date(2026, 11, 26, 16, 0, 30, 0, time.UTC))
	a, err := TimeOrderedWrites(base)
	if err != nil {
		t.Fatal(err)
	}
	b, err := TimeOrderedWrites(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) || len(a) < int(Span/Window) {
		t.Fatalf("got %d and %d writes", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Body, b[i].Body) {
			t.Fatalf("write %d (%s) differs between two calls", i, a[i].Name)
		}
	}
	// The rounds together hold every sample exactly once, none empty.
	all := append(append(floatSeries(base), histogramSeries(base)...), v2Series(base)...)
	for _, s := range all {
		n := 0
		for lo := base; lo <= base+ms(Span); lo += ms(Window) {
			if w, ok := s.within(lo, lo+ms(Window)); ok {
				n += len(w.Floats) + len(w.Hists)
			} else if len(w.Floats)+len(w.Hists) != 0 {
				t.Fatalf("%s: within reported an empty window with samples", s.Labels)
			}
		}
		if n != len(s.Floats)+len(s.Hists) {
			t.Fatalf("%s: rounds hold %d samples, the series %d", s.Labels, n, len(s.Floats)+len(s.Hists))
		}
	}
}
