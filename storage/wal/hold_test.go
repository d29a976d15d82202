package wal

import (
	"fmt"
	"testing"
)

// TestHoldKeepsCoveredSegments: a checkpoint deletes the covered segments
// before the lowest hold and keeps the others; Replay reads the checkpoint
// and the segments after it only, never a kept covered one; a released
// hold lets the next checkpoint delete; HoldAtOpen keeps covered segments
// across a reopen until ReleaseOpenHold.
func TestHoldKeepsCoveredSegments(t *testing.T) {
	fs := NewMemFS()
	open := func(hold bool) *WAL {
		w, err := Open(Options{Dir: "/wal", FS: fs, SegmentSize: MinSegmentSize, HoldAtOpen: hold})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := open(false)
	rec := func(i int) []byte { return AppendSamplesRecord(nil, []RefSample{{Ref: 1, T: int64(i), V: 1}}) }
	logSome := func(from, n int) {
		for i := from; i < from+n; i++ {
			// Padding to cross segments quickly.
			if err := w.Log(append(rec(i), make([]byte, 4000)...)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ckpt := func() {
		if err := w.Checkpoint(func(emit func([]byte) error) error { return emit(rec(-1)) }); err != nil {
			t.Fatal(err)
		}
	}
	covered := func() []SegmentNum {
		f, err := w.Files()
		if err != nil {
			t.Fatal(err)
		}
		return f.Covered
	}
	replayed := func() int {
		n := 0
		if _, err := w.Replay(func([]byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	logSome(0, 100)
	h := w.Hold(3)
	ckpt()
	first := w.Written().Segment - 1 // the checkpoint's number
	got := covered()
	if len(got) == 0 || got[0] != 3 || got[len(got)-1] != first {
		t.Fatalf("covered kept %v, want 3..%d", got, first)
	}
	logSome(100, 10)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w = open(true)
	if got2 := covered(); fmt.Sprint(got2) != fmt.Sprint(got) {
		t.Fatalf("after reopening with HoldAtOpen: covered %v, want %v", got2, got)
	}
	if n := replayed(); n != 1+10 {
		t.Fatalf("replay read %d records, want the checkpoint's 1 and the 10 after it", n)
	}
	_ = h // the last process's hold is gone with it
	logSome(110, 5)
	ckpt() // the open hold keeps everything
	if c := covered(); len(c) == 0 || c[0] != 3 {
		t.Fatalf("HoldAtOpen: covered %v, want from 3", c)
	}
	h2 := w.Hold(first + 1)
	w.ReleaseOpenHold()
	ckpt()
	if c := covered(); len(c) == 0 || c[0] != first+1 {
		t.Fatalf("after ReleaseOpenHold with a hold at %d: covered %v", first+1, c)
	}
	h2.Release()
	ckpt()
	if c := covered(); len(c) != 0 {
		t.Fatalf("every hold released: covered %v, want none", c)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = open(false) // without HoldAtOpen, Open removes covered leftovers as before
	defer w.Close()
	if c := covered(); len(c) != 0 {
		t.Fatalf("covered %v after a plain Open", c)
	}
}
