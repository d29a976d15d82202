package wal

import (
	"bytes"
	"runtime"
	"testing"
)

// writerWorkloads run through both writers; the files must be byte-identical.
var writerWorkloads = []struct {
	name string
	opts Options
	run  func(t *testing.T, w *WAL)
}{
	{"small records", Options{SegmentSize: 64 << 10}, func(t *testing.T, w *WAL) {
		for i := range 500 {
			mustLog(t, w, testRecord(i, 10+i%90))
		}
	}},
	{"crossing segments", Options{SegmentSize: 4096}, func(t *testing.T, w *WAL) {
		for i := range 200 {
			mustLog(t, w, testRecord(i, (i*389)%4096))
		}
	}},
	{"multi-record calls and syncs", Options{SegmentSize: 16 << 10, Sync: SyncInterval}, func(t *testing.T, w *WAL) {
		for i := range 100 {
			mustLog(t, w, testRecord(i, 100), testRecord(i+1000, 3000), testRecord(i+2000, 1))
			if i%10 == 0 {
				if err := w.Sync(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}},
	{"checkpoint", Options{SegmentSize: 8192}, func(t *testing.T, w *WAL) {
		for i := range 50 {
			mustLog(t, w, testRecord(i, 700))
		}
		if err := w.Checkpoint(func(emit func([]byte) error) error {
			for i := range 30 {
				if err := emit(testRecord(i, 3000)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			mustLog(t, w, testRecord(i+50, 700))
		}
	}},
	{"large batch", Options{SegmentSize: 4 << 20}, func(t *testing.T, w *WAL) {
		recs := make([][]byte, 0, 64)
		for i := range 64 {
			recs = append(recs, testRecord(i, 40<<10))
		}
		mustLog(t, w, recs...)
	}},
}

func mustLog(t *testing.T, w *WAL, recs ...[]byte) {
	t.Helper()
	if err := w.Log(recs...); err != nil {
		t.Fatal(err)
	}
}

func TestWritersByteIdentical(t *testing.T) {
	for _, wl := range writerWorkloads {
		t.Run(wl.name, func(t *testing.T) {
			files := map[string]map[string][]byte{}
			for _, kind := range []string{WriterPwrite, WriterIOUring} {
				dir := t.TempDir()
				o := wl.opts
				o.Dir, o.Writer = dir, kind
				w, err := Open(o)
				if err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				if w.WriterName() != kind {
					t.Fatalf("asked for %s, got %s", kind, w.WriterName())
				}
				wl.run(t, w)
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				names, _ := OSFS{}.List(dir)
				files[kind] = map[string][]byte{}
				for _, n := range names {
					files[kind][n] = readFile(t, OSFS{}, joinPath(dir, n))
				}
			}
			a, b := files[WriterPwrite], files[WriterIOUring]
			if len(a) != len(b) || len(a) == 0 {
				t.Fatalf("pwrite wrote %d files, io_uring %d", len(a), len(b))
			}
			for n, data := range a {
				if !bytes.Equal(data, b[n]) {
					t.Fatalf("file %s differs between the writers (%d vs %d bytes)", n, len(data), len(b[n]))
				}
			}
		})
	}
}

func TestWriterSelection(t *testing.T) {
	if _, err := Open(Options{Dir: "/w", FS: NewMemFS(), Writer: WriterIOUring}); err == nil {
		t.Fatal("io_uring accepted a filesystem without file descriptors")
	}
	w := openWAL(t, Options{Dir: "/w", FS: NewMemFS()})
	if w.WriterName() != WriterPwrite {
		t.Fatalf("auto on MemFS chose %s", w.WriterName())
	}
	w = openWAL(t, Options{Dir: t.TempDir()})
	want := WriterPwrite
	if runtime.GOOS == "linux" {
		want = WriterIOUring // io_uring_setup works on the machines this runs on (FACTS.md)
	}
	if w.WriterName() != want {
		t.Fatalf("auto on the OS filesystem chose %s, want %s", w.WriterName(), want)
	}
}
