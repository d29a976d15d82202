package wal

import (
	"bytes"
	"errors"
	"io/fs"
	"testing"
)

// tailAll follows w from pos like a follower does: segment by segment, up to
// what is written, and returns the records read and the position reached.
func tailAll(t *testing.T, tl *Tail, pos Position) ([][]byte, Position) {
	t.Helper()
	var recs [][]byte
	for {
		next, closed, err := tl.ReadSegment(pos.Segment, pos.Offset, func(rec []byte) error {
			recs = append(recs, bytes.Clone(rec))
			return nil
		})
		if err != nil {
			t.Fatalf("tail %+v: %v", pos, err)
		}
		pos.Offset = next
		if !closed {
			return recs, pos
		}
		files, err := tl.w.Files()
		if err != nil {
			t.Fatal(err)
		}
		moved := false
		for _, s := range files.Segments {
			if s > pos.Segment {
				pos, moved = Position{Segment: s}, true
				break
			}
		}
		if !moved {
			return recs, pos
		}
	}
}

// TestTailFollowsWrites reads the log while it is written, across segment
// boundaries, resuming from positions: the concatenation of what the tail
// returns is exactly what was logged, in order, with nothing twice, and its
// positions are the writer's, compressed frames (shorter than their
// records) included.
func TestTailFollowsWrites(t *testing.T) {
	for _, comp := range compressions {
		t.Run(comp, func(t *testing.T) { testTailFollowsWrites(t, comp) })
	}
}

func testTailFollowsWrites(t *testing.T, comp string) {
	fsys := NewMemFS()
	w := openWAL(t, Options{Dir: "/wal", FS: fsys, SegmentSize: MinSegmentSize, Compression: comp})
	tl := w.NewTail()
	var want, got [][]byte
	pos := Position{Segment: 1}
	n := 0
	rounds := 40
	if comp != CompressionNone {
		rounds = 200 // compressed records fill segments more slowly
	}
	for round := range rounds {
		for range round % 7 {
			r := testRecord(n, 100+n%300)
			n++
			want = append(want, r)
			if err := w.Log(r); err != nil {
				t.Fatal(err)
			}
		}
		if round == 0 {
			continue // nothing written: segment 1 does not exist yet
		}
		recs, p := tailAll(t, tl, pos)
		got = append(got, recs...)
		pos = p
		if p != w.Written() {
			t.Fatalf("round %d: tail stopped at %+v, written up to %+v", round, p, w.Written())
		}
	}
	if err := sameRecords(got, want); err != nil {
		t.Fatal(err)
	}
	if pos.Segment < 3 {
		t.Fatalf("only %d segments: the test should cross segments", pos.Segment)
	}
	// A refusing fn leaves the position at the refused record.
	r := testRecord(n, 50)
	if err := w.Log(r, r); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	next, _, err := tl.ReadSegment(pos.Segment, pos.Offset, func([]byte) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || next <= pos.Offset {
		t.Fatalf("refused read: next %d err %v, want past %d and %v", next, err, pos.Offset, stop)
	}
	// Resuming there reads the refused record, and only it.
	var rest [][]byte
	if _, _, err := tl.ReadSegment(pos.Segment, next, func(rec []byte) error {
		rest = append(rest, bytes.Clone(rec))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := sameRecords(rest, [][]byte{r}); err != nil {
		t.Fatalf("resumed after the refused record: %v", err)
	}
}

// TestTailAfterCheckpoint: a checkpoint deletes the segments it covers; the
// tail reads the checkpoint's records and reports the deleted segment as
// not existing, so a follower can tell the gap.
func TestTailAfterCheckpoint(t *testing.T) {
	fsys := NewMemFS()
	w := openWAL(t, Options{Dir: "/wal", FS: fsys, SegmentSize: MinSegmentSize})
	for i := range 30 {
		if err := w.Log(testRecord(i, 200)); err != nil {
			t.Fatal(err)
		}
	}
	// Where each segment's data ends, as a tail reads it before the
	// checkpoint (the last one is still open then).
	ends := map[SegmentNum]int64{}
	before, err := w.Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range before.Segments {
		end, _, err := w.NewTail().ReadSegment(n, 0, func([]byte) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		ends[n] = end
	}
	state := [][]byte{[]byte("live-1"), []byte("live-2")}
	if err := w.Checkpoint(func(emit func([]byte) error) error {
		for _, r := range state {
			if err := emit(r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	files, err := w.Files()
	if err != nil {
		t.Fatal(err)
	}
	if !files.HasCheckpoint || len(files.Segments) != 0 {
		t.Fatalf("files after checkpoint: %+v", files)
	}
	// The WAL remembers where the deleted segments ended: a follower that had
	// read them to the end lost nothing.
	if len(ends) < 2 {
		t.Fatalf("only %d segments before the checkpoint", len(ends))
	}
	for n, want := range ends {
		end, ok := w.ClosedEnd(n)
		if !ok || end != want {
			t.Fatalf("segment %d: closed end %d (%v), a tail read to %d", n, end, ok, want)
		}
	}
	if _, ok := w.ClosedEnd(files.Checkpoint + 1); ok {
		t.Fatal("an open or missing segment has a closed end")
	}
	tl := w.NewTail()
	if _, _, err := tl.ReadSegment(1, 0, func([]byte) error { return nil }); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("deleted segment: %v, want ErrNotExist", err)
	}
	var got [][]byte
	if err := tl.ReadCheckpoint(files.Checkpoint, func(rec []byte) error {
		got = append(got, bytes.Clone(rec))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := sameRecords(got, state); err != nil {
		t.Fatal(err)
	}
}
