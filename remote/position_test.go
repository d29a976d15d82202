package remote

import (
	"path/filepath"
	"testing"

	"mytsdb/storage/wal"
)

func TestPositionFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "abc.position")
	if _, ok, err := readPosition(path); ok || err != nil {
		t.Fatalf("missing file: ok %v err %v, want neither", ok, err)
	}
	for _, p := range []wal.Position{{}, {Segment: 7, Offset: 12345}, {Segment: 1<<32 - 1, Offset: 1<<63 - 1}} {
		if err := writePosition(path, p); err != nil {
			t.Fatal(err)
		}
		got, ok, err := readPosition(path)
		if err != nil || !ok || got != p {
			t.Fatalf("read back %+v ok %v err %v, want %+v", got, ok, err, p)
		}
	}
	for _, bad := range []string{"", "x\n1 2\n", positionMagic + "\n1 2", positionMagic + "\n1\n", positionMagic + "\n-1 2\n", positionMagic + "\n1 -2\n", positionMagic + "\n4294967296 0\n"} {
		if _, err := decodePosition([]byte(bad)); err == nil {
			t.Errorf("decodePosition(%q) accepted it", bad)
		}
	}
}

// FuzzDecodePosition: no input panics, and whatever decodes encodes to a
// text that decodes to the same position.
func FuzzDecodePosition(f *testing.F) {
	f.Add(encodePosition(wal.Position{Segment: 3, Offset: 99}))
	f.Add([]byte(positionMagic + "\n007 +1\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePosition(b)
		if err != nil {
			return
		}
		q, err := decodePosition(encodePosition(p))
		if err != nil || q != p {
			t.Fatalf("%q decoded to %+v, re-encoded to %+v (%v)", b, p, q, err)
		}
	})
}
