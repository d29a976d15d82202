package block

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// seedBlock writes a small block and returns the bytes of its index,
// meta.json and tombstones (after a delete).
func seedBlock(f testing.TB) (index, meta, tombs []byte) {
	r := rand.New(rand.NewPCG(17, 18))
	dir := f.TempDir()
	m, err := Write(context.Background(), dir, genModel(r, 6, 500).set(), WriteOptions{MinTime: 0, MaxTime: 500})
	if err != nil {
		f.Fatal(err)
	}
	bdir := filepath.Join(dir, m.ULID.String())
	b, err := Open(bdir, nil)
	if err != nil {
		f.Fatal(err)
	}
	if err := b.Delete(context.Background(), 10, 50, allMatcher()); err != nil {
		f.Fatal(err)
	}
	b.Close()
	read := func(name string) []byte {
		d, err := os.ReadFile(filepath.Join(bdir, name))
		if err != nil {
			f.Fatal(err)
		}
		return d
	}
	return read(indexFilename), read(metaFilename), read(tombstonesFilename)
}

// fixIndexCRCs rewrites the CRCs of whatever sections the TOC describes
// sensibly, so the fuzzer gets past them to the decoders.
func fixIndexCRCs(b []byte) {
	if len(b) < indexHeader+tocSize {
		return
	}
	tocOff := len(b) - tocSize
	bounds := make([]int64, 0, 7)
	for i := range 6 {
		bounds = append(bounds, int64(binary.LittleEndian.Uint64(b[tocOff+8*i:])))
	}
	bounds = append(bounds, int64(tocOff))
	for i := range 6 {
		start, end := bounds[i], bounds[i+1]
		if start < 0 || end < 0 || end > int64(tocOff) || end-start < 4 {
			break
		}
		binary.LittleEndian.PutUint32(b[end-4:], crc32c(b[start:end-4]))
	}
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32c(b[tocOff:len(b)-4]))
}

// walkIndex decodes everything an index holds, as queries would.
func walkIndex(r *indexReader) {
	ctx := context.Background()
	var lb labels.ScratchBuilder
	var chks []chunkMeta
	if refs, err := r.allSeries(); err == nil {
		for _, ref := range refs {
			chks, _ = r.series(ref, &lb, chks)
		}
	}
	for _, n := range r.names {
		r.forEachValue(n.name, func(v string, off int64) bool {
			refs, _ := r.postingsAt(nil, off)
			for _, ref := range refs {
				chks, _ = r.series(ref, &lb, chks)
			}
			r.postingsOffset(n.name, v)
			return true
		})
		for _, m := range []*labels.Matcher{
			labels.MustNewMatcher(labels.MatchEqual, n.name, "x"),
			labels.MustNewMatcher(labels.MatchNotEqual, n.name, ""),
			labels.MustNewMatcher(labels.MatchRegexp, n.name, "a.*|"),
			labels.MustNewMatcher(labels.MatchNotRegexp, n.name, "b|c"),
		} {
			r.postingsForMatchers(ctx, m)
		}
	}
	// Arbitrary refs, as a hostile postings list could give.
	for ref := SeriesRef(0); ref < SeriesRef(len(r.b)); ref += 7 {
		chks, _ = r.series(ref, &lb, chks)
	}
}

func FuzzIndexDecode(f *testing.F) {
	index, _, _ := seedBlock(f)
	f.Add(index, false)
	f.Add(index, true)
	f.Add(index[:len(index)/2], true)
	// A version 1 index (no time base), as blocks written before version 2 have.
	if v1, err := os.ReadFile(filepath.Join(legacyDir, legacyULID.String(), indexFilename)); err == nil {
		f.Add(v1, false)
		f.Add(v1, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		b = append([]byte(nil), b...)
		if fix {
			fixIndexCRCs(b)
		}
		r, err := decodeIndex("index", b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		walkIndex(r)
	})
}

func FuzzMetaDecode(f *testing.F) {
	_, meta, _ := seedBlock(f)
	f.Add(meta, false)
	f.Add(meta[:len(meta)-metaSumLen], true)
	f.Add([]byte(`{"ulid":"01ARZ3NDEKTSV4RRFFQ69G5FAV","minTime":0,"maxTime":1,"version":1,"compaction":{"sources":[`), true)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix {
			// Treat b as the body: close it with a valid trailer.
			body := append([]byte(nil), b...)
			b = append(body, metaSumPrefix...)
			b = append(b, hex8(crc32c(body))...)
			b = append(b, metaSumSuffix...)
		}
		m, err := decodeMeta("meta.json", b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		enc, err := encodeMeta(&m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := decodeMeta("meta.json", enc)
		// omitempty turns empty slices into absent ones.
		for _, m := range []*Meta{&m, &m2} {
			if len(m.Compaction.Sources) == 0 {
				m.Compaction.Sources = nil
			}
			if len(m.Compaction.Parents) == 0 {
				m.Compaction.Parents = nil
			}
		}
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-encoded meta: %v\n%+v\n%+v", err, m, m2)
		}
	})
}

func hex8(v uint32) string {
	const digits = "0123456789abcdef"
	var s [8]byte
	for i := 7; i >= 0; i-- {
		s[i] = digits[v&0xf]
		v >>= 4
	}
	return string(s[:])
}

func FuzzTombstonesDecode(f *testing.F) {
	_, _, tombs := seedBlock(f)
	f.Add(tombs, false)
	f.Add(tombs, true)
	f.Add(encodeTombstones(nil), false)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		b = append([]byte(nil), b...)
		if fix && len(b) >= 4 {
			binary.LittleEndian.PutUint32(b[len(b)-4:], crc32c(b[:len(b)-4]))
		}
		ts, err := decodeTombstones("tombstones", b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		ts2, err := decodeTombstones("tombstones", encodeTombstones(ts))
		if err != nil || !reflect.DeepEqual(ts, ts2) {
			t.Fatalf("re-encoded tombstones: %v\n%v\n%v", err, ts, ts2)
		}
	})
}

// TestHostileCounts: element counts far beyond the input are refused
// before anything is allocated for them.
func TestHostileCounts(t *testing.T) {
	huge := binary.AppendUvarint(nil, 1<<60)
	tombs := append(binary.BigEndian.AppendUint32(nil, tombstonesMagic), tombstonesFormatV1)
	tombs = append(tombs, huge...)
	tombs = binary.LittleEndian.AppendUint32(tombs, crc32c(tombs))
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := decodeTombstones("tombstones", tombs); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("huge count: %v", err)
		}
	})
	if allocs > 10 {
		t.Fatalf("%v allocations for a hostile count", allocs)
	}

	index, _, _ := seedBlock(t)
	// The symbol count is the first byte of the symbols section.
	b := append(append(append([]byte(nil), index[:indexHeader]...), huge...), index[indexHeader+1:]...)
	// Shift the TOC's offsets by the inserted bytes, then fix the CRCs.
	tocOff := len(b) - tocSize
	for i := 1; i < tocEntries; i++ {
		off := binary.LittleEndian.Uint64(b[tocOff+8*i:])
		binary.LittleEndian.PutUint64(b[tocOff+8*i:], off+uint64(len(huge)-1))
	}
	fixIndexCRCs(b)
	if _, err := decodeIndex("index", b); !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte("exceeds")) {
		t.Fatalf("huge symbol count: %v", err)
	}
}
