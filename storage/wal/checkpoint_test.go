package wal

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckpointFailure: a failing write function leaves the WAL as it was:
// no temporary file, no segment deleted, the failure counted.
func TestCheckpointFailure(t *testing.T) {
	fs := NewMemFS()
	o := Options{Dir: "/w", FS: fs, SegmentSize: MinSegmentSize}
	w := openWAL(t, o)
	mustLog(t, w, []byte("a"), []byte("b"))
	boom := errors.New("head went away")
	err := w.Checkpoint(func(emit func([]byte) error) error {
		if err := emit([]byte("partial")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Checkpoint = %v", err)
	}
	if n := counterValue(w.metrics.checkpointFailed); n != 1 {
		t.Fatalf("checkpoint failures counted %v", n)
	}
	names, _ := fs.List("/w")
	if strings.Join(names, " ") != "00000001" {
		t.Fatalf("directory after a failed checkpoint: %v", names)
	}
	mustLog(t, w, []byte("c"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := replayAll(t, openWAL(t, o))
	if err := sameRecords(got, [][]byte{[]byte("a"), []byte("b"), []byte("c")}); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointLarge: a checkpoint bigger than a segment and than the
// write buffer replays whole.
func TestCheckpointLarge(t *testing.T) {
	fs := NewMemFS()
	o := Options{Dir: "/w", FS: fs, SegmentSize: MinSegmentSize}
	w := openWAL(t, o)
	var want [][]byte
	err := w.Checkpoint(func(emit func([]byte) error) error {
		for i := range 600 {
			r := testRecord(i, 3000)
			want = append(want, r)
			if err := emit(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, st := replayAll(t, openWAL(t, o))
	if err := sameRecords(got, want); err != nil || st.Segments != 0 {
		t.Fatalf("%v %+v", err, st)
	}
}

// TestReplayProgress: while Replay runs, its progress names the checkpoint
// as Min, the last segment as Max, and as Current the last file read whole;
// at the end Current is Max. A WAL opened with a shared Progress reports
// there.
func TestReplayProgress(t *testing.T) {
	fs := NewMemFS()
	o := Options{Dir: "/w", FS: fs, SegmentSize: MinSegmentSize}
	w := openWAL(t, o)
	for i := range 40 {
		mustLog(t, w, testRecord(i, 900))
	}
	err := w.Checkpoint(func(emit func([]byte) error) error { return emit([]byte("state")) })
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		mustLog(t, w, testRecord(100+i, 900))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := listDir(fs, "/w")
	if err != nil || !st.hasCkpt || len(st.segments) < 3 {
		t.Fatalf("test WAL: %+v %v", st, err)
	}
	ckpt, last := int(st.checkpoint), int(st.segments[len(st.segments)-1])

	o.Progress = &ReplayProgress{}
	w = openWAL(t, o)
	if w.ReplayProgress() != o.Progress {
		t.Fatal("the WAL does not report to Options.Progress")
	}
	var seen [][3]int
	if _, err := w.Replay(func([]byte) error {
		mn, mx, cur := o.Progress.Get()
		seen = append(seen, [3]int{mn, mx, cur})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen[0] != [3]int{ckpt, last, ckpt} {
		t.Fatalf("progress during the checkpoint: %v, want min %d max %d current %d", seen[0], ckpt, last, ckpt)
	}
	prev := ckpt
	for _, s := range seen[1:] {
		if s[0] != ckpt || s[1] != last || s[2] < prev || s[2] >= last {
			t.Fatalf("progress %v after %d (checkpoint %d, last %d)", s, prev, ckpt, last)
		}
		prev = s[2]
	}
	if prev == ckpt {
		t.Fatal("Current never moved past the checkpoint during the segments")
	}
	if mn, mx, cur := o.Progress.Get(); mn != ckpt || mx != last || cur != last {
		t.Fatalf("progress after replay: %d %d %d, want %d %d %d", mn, mx, cur, ckpt, last, last)
	}
}
