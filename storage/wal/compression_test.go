package wal

import (
	"bytes"
	"fmt"
	"testing"
)

// TestCompressionMixed writes one WAL across four opens with a different
// compression each time and a compressed checkpoint in the middle: every
// record replays as logged whatever mix of frame kinds the files hold, the
// files hold the kinds each open asked for (read with the reference parser
// of FORMAT.md), and compressible records take less room compressed.
func TestCompressionMixed(t *testing.T) {
	fs := NewMemFS()
	o := Options{Dir: "/w", FS: fs, SegmentSize: 64 << 10}
	var want [][]byte
	sizes := map[string]int64{}
	for gen, comp := range []string{CompressionNone, CompressionSnappy, CompressionZstd, CompressionSnappy} {
		o.Compression = comp
		w := openWAL(t, o)
		got, st := replayAll(t, w)
		if err := sameRecords(got, want); err != nil || st.Corrupted {
			t.Fatalf("gen %d (%s): %v %+v", gen, comp, err, st)
		}
		before := walBytes(t, fs, "/w")
		var logged [][]byte
		for i := range 300 {
			r := testRecord(gen*1000+i, 50+i*7%900)
			logged = append(logged, r)
			mustLog(t, w, r)
		}
		// Incompressible bytes go into a plain frame whatever the setting.
		noise := noiseRecord(gen, 500)
		logged = append(logged, noise)
		mustLog(t, w, noise)
		if gen == 2 {
			// The checkpoint replaces everything logged so far.
			snapshot := append(append([][]byte{}, want...), logged...)
			err := w.Checkpoint(func(emit func([]byte) error) error {
				for _, r := range snapshot {
					if err := emit(r); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		want = append(want, logged...)
		if gen < 2 {
			sizes[comp] += walBytes(t, fs, "/w") - before
		}
	}
	got, st := replayAll(t, openWAL(t, o))
	if err := sameRecords(got, want); err != nil || st.Corrupted {
		t.Fatalf("final replay: %v %+v", err, st)
	}
	kinds := frameKinds(t, fs, "/w")
	for _, k := range []byte{frameRecord, frameSnappy, frameZstd} {
		if kinds[k] == 0 {
			t.Errorf("no frame of kind %d in the WAL: %v", k, kinds)
		}
	}
	if sizes[CompressionSnappy]*2 > sizes[CompressionNone] {
		t.Errorf("snappy wrote %d bytes for what took %d uncompressed", sizes[CompressionSnappy], sizes[CompressionNone])
	}
}

// TestCompressedFrameDamage: a compressed frame whose checksum holds but
// whose payload does not decode is damage like any other: replay stops
// there, truncates and keeps what came before.
func TestCompressedFrameDamage(t *testing.T) {
	for _, kind := range []byte{frameSnappy, frameZstd} {
		fs := NewMemFS()
		if err := fs.MkdirAll("/w"); err != nil {
			t.Fatal(err)
		}
		good := [][]byte{testRecord(1, 400), testRecord(2, 700)}
		var seg []byte
		for _, r := range good {
			seg = appendRecordFrame(seg, kind, r)
		}
		seg = appendFrame(seg, kind, []byte("\xff\xff\xff\xff\x0fgarbage"))
		seg = appendRecordFrame(seg, kind, testRecord(3, 400))
		seg = append(seg, endFrame...)
		f, err := fs.Create("/w/00000001")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(seg, 0); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got, st := replayAll(t, openWAL(t, Options{Dir: "/w", FS: fs}))
		if err := sameRecords(got, good); err != nil || !st.Corrupted {
			t.Fatalf("kind %d: %v %+v", kind, err, st)
		}
	}
}

// TestAppendRecordFrameAllocationFree: with room in dst, compressing a
// record into its frame allocates nothing.
func TestAppendRecordFrameAllocationFree(t *testing.T) {
	rec := testRecord(7, 4000)
	for _, kind := range []byte{frameSnappy, frameZstd} {
		dst := make([]byte, 0, 64<<10)
		appendRecordFrame(dst, kind, rec)
		if a := testing.AllocsPerRun(100, func() { appendRecordFrame(dst[:0], kind, rec) }); a != 0 {
			t.Errorf("kind %d: %v allocations", kind, a)
		}
	}
}

func noiseRecord(seed, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed*2654435761 + 1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func walBytes(t *testing.T, fs *MemFS, dir string) int64 {
	t.Helper()
	var n int64
	for _, data := range walFiles(t, fs, dir) {
		_, _, stop, _ := refParse(data)
		n += stop
	}
	return n
}

func frameKinds(t *testing.T, fs *MemFS, dir string) map[byte]int {
	t.Helper()
	kinds := map[byte]int{}
	for name, data := range walFiles(t, fs, dir) {
		frames, closed, _, bad := refParse(data)
		if bad || !closed {
			t.Fatalf("%s: bad=%v closed=%v", name, bad, closed)
		}
		for _, f := range frames {
			kinds[f.kind]++
		}
	}
	return kinds
}

func walFiles(t *testing.T, fs *MemFS, dir string) map[string][]byte {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, name := range names {
		f, err := fs.Open(dir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		size, err := f.Size()
		if err != nil {
			t.Fatal(err)
		}
		data := make([]byte, size)
		if _, err := f.ReadAt(data, 0); err != nil && size > 0 {
			t.Fatal(fmt.Errorf("%s: %w", name, err))
		}
		f.Close()
		files[name] = bytes.Clone(data)
	}
	return files
}
