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
	for _, s := range []saved{{}, {Safe: wal.Position{Segment: 7, Offset: 12345}, Handed: wal.Position{Segment: 8}}, {Safe: wal.Position{Segment: 1<<32 - 1, Offset: 1<<63 - 1}, Handed: wal.Position{Segment: 1<<32 - 1, Offset: 1<<63 - 1}}} {
		if err := writePosition(path, s); err != nil {
			t.Fatal(err)
		}
		got, ok, err := readPosition(path)
		if err != nil || !ok || got != s {
			t.Fatalf("read back %+v ok %v err %v, want %+v", got, ok, err, s)
		}
	}
	for _, bad := range []string{"", "x\n1 2\n1 2\n", positionMagic + "\n1 2\n1 2", positionMagic + "\n1\n1 2\n", positionMagic + "\n-1 2\n1 2\n", positionMagic + "\n1 -2\n1 2\n", positionMagic + "\n4294967296 0\n1 2\n", positionMagic + "\n2 0\n1 0\n"} {
		if _, err := decodePosition([]byte(bad)); err == nil {
			t.Errorf("decodePosition(%q) accepted it", bad)
		}
	}
}

// FuzzDecodePosition: no input panics, and whatever decodes encodes to a
// text that decodes to the same positions.
func FuzzDecodePosition(f *testing.F) {
	f.Add(encodePosition(saved{Safe: wal.Position{Segment: 3, Offset: 99}, Handed: wal.Position{Segment: 4, Offset: 1}}))
	f.Add([]byte(positionMagic + "\n007 +1\n7 1\n"))
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

// FuzzDecodeSent: no input panics, and a decoded set encodes to one that
// decodes the same.
func FuzzDecodeSent(f *testing.F) {
	s := newSentSet()
	s.note(1, 1000)
	s.note(1<<63, -5)
	f.Add(s.encode())
	f.Add([]byte(sentMagic + "\x05"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeSent(b)
		if err != nil {
			return
		}
		e, err := decodeSent(d.encode())
		if err != nil || len(e.max) != len(d.max) {
			t.Fatalf("re-decoded %v (%v), want %v", e.max, err, d.max)
		}
		for h, v := range d.max {
			if e.max[h] != v {
				t.Fatalf("hash %d: %d, want %d", h, e.max[h], v)
			}
		}
	})
}
