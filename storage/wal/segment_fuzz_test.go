package wal

import (
	"bytes"
	"testing"
)

// FuzzSegment opens arbitrary bytes as the only segment of a WAL: Open and
// Replay must not fail or panic, must return exactly the valid frames before
// the first damage (per the reference parser of FORMAT.md), and the repair
// must leave a WAL that replays the same records without damage.
func FuzzSegment(f *testing.F) {
	var seg []byte
	for i := range 5 {
		seg = appendFrame(seg, frameRecord, testRecord(i, i*7))
	}
	f.Add(seg)
	f.Add(append(bytes.Clone(seg), endFrame...))
	f.Add(append(bytes.Clone(seg), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1))
	f.Add(seg[:len(seg)-3])
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1})
	f.Add(append(bytes.Clone(endFrame), seg...))
	// Compressed frames of both kinds, mixed with plain ones, and a
	// compressed frame whose payload is not what its codec wrote.
	var mixed []byte
	for i := range 6 {
		mixed = appendRecordFrame(mixed, []byte{frameRecord, frameSnappy, frameZstd}[i%3], testRecord(i, 200+i*50))
	}
	f.Add(mixed)
	f.Add(append(bytes.Clone(mixed), endFrame...))
	f.Add(appendFrame(bytes.Clone(mixed), frameSnappy, []byte{0xff, 0xff, 0xff, 0x7f, 1}))
	f.Add(appendFrame(bytes.Clone(mixed), frameZstd, []byte("not zstd")))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs := NewMemFS()
		if err := fs.MkdirAll("/w"); err != nil {
			t.Fatal(err)
		}
		file, err := fs.Create("/w/00000001")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := file.WriteAt(data, 0); err != nil {
			t.Fatal(err)
		}
		file.Close()
		want, _, _, _ := refParse(data)
		o := Options{Dir: "/w", FS: fs, SegmentSize: MinSegmentSize}
		for round := range 2 {
			w, err := Open(o)
			if err != nil {
				t.Fatalf("round %d: Open: %v", round, err)
			}
			got, st := replayAll(t, w)
			if len(got) != len(want) {
				t.Fatalf("round %d: %d records, reference parser finds %d", round, len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i].payload) {
					t.Fatalf("round %d: record %d differs", round, i)
				}
			}
			if round == 1 && st.Corrupted {
				t.Fatalf("damage left after repair: %+v", st)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
