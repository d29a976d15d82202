package wal

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// refFrame is a frame as FORMAT.md describes it, parsed independently of the
// package's reader.
type refFrame struct {
	off     int64
	kind    byte
	payload []byte
}

// refParse walks a file by FORMAT.md: frames until an end frame, a zero
// header or the end of the data. It returns the record frames, whether an
// end frame closed the file, and where the data stops (the offset of the end
// frame, zero header or first bad frame).
func refParse(data []byte) (frames []refFrame, closed bool, stop int64, bad bool) {
	tab := crc32.MakeTable(crc32.Castagnoli)
	off := 0
	for {
		if len(data)-off < 9 {
			return frames, false, int64(off), !isZero(data[off:])
		}
		h := data[off : off+9]
		if isZero(h) {
			return frames, false, int64(off), !isZero(data[off:])
		}
		length := int(binary.LittleEndian.Uint32(h[0:4]))
		if length > len(data)-off-9 {
			return frames, false, int64(off), true
		}
		payload := data[off+9 : off+9+length]
		covered := append(append(bytes.Clone(h[0:4]), h[8]), payload...)
		if crc32.Checksum(covered, tab) != binary.LittleEndian.Uint32(h[4:8]) {
			return frames, false, int64(off), true
		}
		switch h[8] {
		case 1:
			frames = append(frames, refFrame{off: int64(off), kind: 1, payload: payload})
		case 3, 4: // snappy block, zstd frame: the record compressed
			rec, err := refDecompress(h[8], payload)
			if err != nil {
				return frames, false, int64(off), true
			}
			frames = append(frames, refFrame{off: int64(off), kind: h[8], payload: rec})
		case 2:
			return frames, length == 0, int64(off), length != 0
		default:
			return frames, false, int64(off), true
		}
		off += 9 + length
	}
}

// refDecompress decodes a compressed frame's payload with the codecs'
// libraries directly, not through the WAL's code.
func refDecompress(kind byte, payload []byte) ([]byte, error) {
	if kind == 3 {
		return snappy.Decode(nil, payload)
	}
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<28))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.DecodeAll(payload, nil)
}

func isZero(b []byte) bool { return bytes.Count(b, []byte{0}) == len(b) }

// TestFormatDump writes real segments and checks them against FORMAT.md.
func TestFormatDump(t *testing.T) {
	// 1. The example of FORMAT.md, byte for byte.
	dir := t.TempDir()
	w, err := Open(Options{Dir: dir, SegmentSize: MinSegmentSize, Writer: WriterPwrite})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Log([]byte("AB")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "00000001"))
	if err != nil {
		t.Fatal(err)
	}
	// A closed segment is cut just after its end frame (its preallocation
	// given back).
	if len(data) != 20 {
		t.Fatalf("closed segment is %d bytes, want 20 (the record and the end frame)", len(data))
	}
	dump := hex.Dump(data[:20])
	doc, err := os.ReadFile("FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	var docDump strings.Builder
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "000000") && len(line) > 9 && line[8] == ' ' {
			docDump.WriteString(line + "\n")
		}
	}
	if docDump.String() != dump {
		t.Fatalf("FORMAT.md's example differs from the real file:\ndoc:\n%sfile:\n%s", docDump.String(), dump)
	}

	// 2. A multi-segment WAL walked by the reference parser.
	dir = t.TempDir()
	const segSize = 4096
	w, err = Open(Options{Dir: dir, SegmentSize: segSize})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for i := range 100 {
		r := testRecord(i, 20+(i*37)%900)
		want = append(want, r)
		if err := w.Log(r); err != nil {
			t.Fatal(err)
		}
	}
	big := testRecord(1000, segSize) // alone in a segment that outgrows its preallocation
	want = append(want, big)
	if err := w.Log(big); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	names, _ := OSFS{}.List(dir)
	var got [][]byte
	for i, name := range names {
		if name != fmt.Sprintf("%08d", i+1) {
			t.Fatalf("file %d named %q", i, name)
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		frames, closed, stop, bad := refParse(data)
		if !closed || bad {
			t.Fatalf("%s: closed=%v bad=%v at %d", name, closed, bad, stop)
		}
		if int64(len(data)) != stop+9 {
			t.Fatalf("%s: %d bytes, want %d (cut after its end frame)", name, len(data), stop+9)
		}
		if stop+9 > segSize && len(frames) != 1 {
			t.Fatalf("%s: frames overflow the segment size", name)
		}
		for _, f := range frames {
			got = append(got, f.payload)
		}
	}
	if err := sameRecords(got, want); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d segments; first record:\n%s", len(names), hex.Dump(got[0][:min(len(got[0]), 32)]))
}

// TestSizeCountsData: Size is the data on disk — closed segments up to
// their end frame, the open one up to what was written — not the
// preallocated size.
func TestSizeCountsData(t *testing.T) {
	dir := t.TempDir()
	const segSize = 4096
	w, err := Open(Options{Dir: dir, SegmentSize: segSize})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := range 40 {
		if err := w.Log(testRecord(i, 100+i*7)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := w.Size()
	if err != nil {
		t.Fatal(err)
	}
	names, _ := OSFS{}.List(dir)
	var want int64
	for i, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		_, closed, stop, _ := refParse(data)
		if i < len(names)-1 {
			if !closed || int64(len(data)) != stop+9 {
				t.Fatalf("closed segment %s: %d bytes, end at %d", name, len(data), stop)
			}
			want += int64(len(data))
		} else {
			want += stop // The open one: frames written so far.
		}
	}
	if len(names) < 3 || got != want {
		t.Fatalf("Size() = %d over %d segments, want %d", got, len(names), want)
	}
}
