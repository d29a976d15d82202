package block

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunks"
)

// The dumps of FORMAT.md's example: series {__name__="m"} with one float
// sample (t=1000, v=1), then Delete of [1000, 1000].
const (
	formatChunkDump = `00000000  4d 54 43 48 01 05 21 00  01 09 00 02 ea 77 80 9c  |MTCH..!......w..|
`
	formatTombstonesDump = `00000000  4d 54 54 53 01 01 18 01  d0 0f 00 07 a9 66 d3     |MTTS.........f.|
`
)

func TestFormatDump(t *testing.T) {
	dir := t.TempDir()
	set := &listChunkSet{i: -1, series: []storage.ChunkSeries{
		storage.NewListChunkSeriesFromSamples(labels.FromStrings("__name__", "m"), []chunks.Sample{sample{t: 1000, f: 1}}),
	}}
	u := ulid.MustParse("01ARZ3NDEKTSV4RRFFQ69G5FAV")
	if _, err := Write(context.Background(), dir, set, WriteOptions{MinTime: 0, MaxTime: 2000, ULID: u}); err != nil {
		t.Fatal(err)
	}
	bdir := filepath.Join(dir, u.String())
	seg, err := os.ReadFile(filepath.Join(bdir, "chunks", "000001"))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.Dump(seg); got != formatChunkDump {
		t.Errorf("chunk segment:\n%s\nwant:\n%s", got, formatChunkDump)
	}
	b, err := Open(bdir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Delete(context.Background(), 1000, 1000, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m")); err != nil {
		t.Fatal(err)
	}
	ts, _ := os.ReadFile(filepath.Join(bdir, "tombstones"))
	if got := hex.Dump(ts); got != formatTombstonesDump {
		t.Errorf("tombstones:\n%s\nwant:\n%s", got, formatTombstonesDump)
	}
	// The doc's example must be the dumps above.
	doc, err := os.ReadFile("FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{formatChunkDump, formatTombstonesDump} {
		if !strings.Contains(string(doc), d) {
			t.Errorf("FORMAT.md lacks the dump\n%s", d)
		}
	}
	checkIndexLayout(t, filepath.Join(bdir, "index"))
}

// checkIndexLayout parses an index with nothing but FORMAT.md: header,
// TOC, contiguous sections each closed by its CRC-32C, and the symbols.
func checkIndexLayout(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:4]) != "MTIX" || b[4] != 2 {
		t.Fatalf("header %x", b[:5])
	}
	toc := b[len(b)-60:]
	var offs []int
	for i := range 6 {
		offs = append(offs, int(binary.LittleEndian.Uint64(toc[8*i:])))
	}
	offs = append(offs, len(b)-60)
	if offs[0] != 5 {
		t.Fatalf("symbols at %d", offs[0])
	}
	for i := range 6 {
		body := b[offs[i] : offs[i+1]-4]
		if binary.LittleEndian.Uint32(b[offs[i+1]-4:]) != crc32c(body) {
			t.Fatalf("section %d CRC", i)
		}
	}
	// Symbols: uvarint(n) { uvarint(len) bytes }: here "__name__", "m".
	sym := b[offs[0] : offs[1]-4]
	if want := "\x02\x08__name__\x01m"; string(sym) != want {
		t.Fatalf("symbols %q, want %q", sym, want)
	}
	// Series: the time base 1000 and duration base 0, one entry, one
	// label (name ordinal 0, value ordinal 0), one chunk at the base of
	// the base's duration, segment 1 offset 5.
	ser := b[offs[1] : offs[2]-4]
	if want := []byte{0xd0, 0x0f, 0, 1, 0, 0, 1, 0, 0, 0x8a, 0x80, 0x80, 0x80, 0x20}; string(ser) != string(want) {
		t.Fatalf("series % x, want % x", ser, want)
	}
	// Label names: one name, symbol 0, one value.
	if ln := b[offs[4] : offs[5]-4]; string(ln) != "\x01\x00\x01" {
		t.Fatalf("label names % x", ln)
	}
}

// A chunk's span code decodes to the span, near the typical duration or not.
func TestDurationCode(t *testing.T) {
	for _, dur := range []int64{0, 1, 7_140_000, 1 << 40} {
		r := &indexReader{version: indexFormatV2, durBase: dur}
		for _, d := range []int64{0, 1, 2, 59_990, 7_139_990, 7_140_000, 7_140_011, 1 << 41, math.MaxInt64 >> 2} {
			b := binary.AppendUvarint(nil, durationCode(d, dur))
			dec := newDecoder("index", b, 0)
			if got := r.duration(&dec); got != d || dec.err != nil {
				t.Errorf("span %d with typical %d: decoded %d (%v)", d, dur, got, dec.err)
			}
			if near := binary.AppendVarint(nil, d-dur); len(b) > len(near) && len(b) > len(binary.AppendUvarint(nil, uint64(d)))+1 {
				t.Errorf("span %d with typical %d takes %d bytes", d, dur, len(b))
			}
		}
	}
}
