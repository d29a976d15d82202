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
