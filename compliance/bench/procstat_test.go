package bench

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestProcStatOfSelf(t *testing.T) {
	pid := os.Getpid()
	rss, err := peakRSS(pid)
	if err != nil || rss < 1<<20 {
		t.Fatalf("peakRSS(self) = %d, %v", rss, err)
	}
	// Burn about 150 ms of CPU (by getrusage, so that a loaded machine only
	// makes it take longer) and see /proc/<pid>/stat count it (10 ms ticks).
	before, err := cpuTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for self0, start := selfCPU(), time.Now(); selfCPU()-self0 < 150*time.Millisecond && time.Since(start) < 10*time.Second; {
		for range 10_000 {
			x++
		}
	}
	after, err := cpuTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	if d := after - before; d < 100*time.Millisecond || d > 5*time.Second {
		t.Fatalf("150 ms of spinning counted as %s (x=%d)", d, x)
	}
}

func TestWALBytesCountsWrittenBytesOnly(t *testing.T) {
	dir := t.TempDir()
	write := func(path string, b []byte) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	padded := make([]byte, 3<<20) // a "preallocated" segment: 100 bytes written, then zeros
	for i := range 100 {
		padded[i] = 1
	}
	write(filepath.Join(dir, "wal", "00000000"), padded)
	write(filepath.Join(dir, "wal", "checkpoint.00000001", "00000000"), []byte("abc\x00\x00"))
	write(filepath.Join(dir, "default", "wal", "00000003"), []byte("0123456789"))
	write(filepath.Join(dir, "chunks_head", "000001"), []byte("not counted"))
	got, err := walBytes(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != 100+3+10 {
		t.Fatalf("walBytes = %d, want %d", got, 113)
	}
	if _, err := walBytes(t.TempDir()); err == nil {
		t.Fatal("no wal directory, no error")
	}
}
