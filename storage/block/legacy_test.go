package block

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	ourchunks "mytsdb/storage/chunkenc"
)

// A block written before mytsdb's own float codec (every float chunk in
// upstream XOR, encoding byte 1) must stay readable: testdata/xor-v1 is such
// a block, written by the writer of that time (commit 19853fb) with
//
//	go test ./storage/block/ -run TestLegacyXORBlock -write-legacy-fixture
//
// from legacyModel. The writer no longer produces it, so the flag must not
// be used again: the fixture is the old writer's output, not ours.
var writeLegacyFixture = flag.Bool("write-legacy-fixture", false, "write testdata/xor-v1 (only with the writer of commit 19853fb)")

const legacyDir = "testdata/xor-v1"

var legacyULID = ulid.MustParse("01JF3X0R000000000000000001")

func legacyModel() *model { return genModel(rand.New(rand.NewPCG(11, 12)), 24, testSpan) }

// modelDigest fingerprints a model's samples, so that a change to genModel
// (which the fixture's expected data comes from) is reported as such.
func modelDigest(m *model) string {
	h := sha256.New()
	for _, s := range m.series {
		fmt.Fprintf(h, "%s\n", s.lset)
		for _, smp := range s.samples {
			fmt.Fprintf(h, "%d %d %x %v %v\n", smp.st, smp.t, math.Float64bits(smp.f), smp.h, smp.fh)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestLegacyXORBlock(t *testing.T) {
	m := legacyModel()
	digestFile := filepath.Join(legacyDir, "model.sha256")
	if *writeLegacyFixture {
		if err := os.RemoveAll(legacyDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(legacyDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := Write(context.Background(), legacyDir, m.set(), WriteOptions{MinTime: 0, MaxTime: testSpan, ULID: legacyULID}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(digestFile, []byte(modelDigest(m)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(digestFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := modelDigest(m); got != strings.TrimSpace(string(want)) {
		t.Fatalf("genModel changed (digest %s, the fixture's %s): the fixture's expected samples cannot be derived any more; restore genModel", got, want)
	}
	b, err := Open(filepath.Join(legacyDir, legacyULID.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	// The fixture is what it claims: upstream encodings only, XOR among them.
	cq, err := b.ChunkQuerier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	encs := map[chunkenc.Encoding]int{}
	ss := cq.Select(context.Background(), true, nil, allMatcher())
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() {
			encs[it.At().Chunk.Encoding()]++
		}
	}
	cq.Close()
	if encs[chunkenc.EncXOR] == 0 {
		t.Fatalf("fixture chunk encodings %v: no XOR chunk", encs)
	}
	for e := range encs {
		if !chunkenc.IsValidEncoding(e) {
			t.Fatalf("fixture holds encoding %d, not an upstream one", e)
		}
	}
	checkQueries(t, rand.New(rand.NewPCG(3, 4)), b, m, 100)
}

// A block of mytsdb's float codec as first written (index version 1, chunk
// value layouts 0x00-0x04, before the binary and line layouts and the
// seconds timestamp layout): testdata/codec-v1, written from codecV1Model by
// the writer of commit 0de13c6 (a test calling Write with
// WriteOptions{MinTime: 0, MaxTime: testSpan, ULID: codecV1ULID} in a copy
// of that commit). Today's reader must give the model's samples.
const codecV1Dir = "testdata/codec-v1"

var codecV1ULID = ulid.MustParse("01JF3X0R000000000000000002")

func TestLegacyCodecBlock(t *testing.T) {
	m := codecV1Model()
	want, err := os.ReadFile(filepath.Join(legacyDir, "model.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	if got := modelDigest(legacyModel()); got != strings.TrimSpace(string(want)) {
		t.Fatalf("genModel changed (digest %s, the fixtures' %s): restore genModel", got, want)
	}
	dir := filepath.Join(codecV1Dir, codecV1ULID.String())
	idx, err := os.ReadFile(filepath.Join(dir, indexFilename))
	if err != nil {
		t.Fatal(err)
	}
	if idx[4] != indexFormatV1 {
		t.Fatalf("fixture index version %d, want %d", idx[4], indexFormatV1)
	}
	b, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cq, err := b.ChunkQuerier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	ours := 0
	ss := cq.Select(context.Background(), true, nil, allMatcher())
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() {
			if it.At().Chunk.Encoding() == ourchunks.EncFloat {
				ours++
			}
		}
	}
	cq.Close()
	if ours == 0 {
		t.Fatal("no chunk of mytsdb's codec in the fixture")
	}
	checkQueries(t, rand.New(rand.NewPCG(3, 4)), b, m, 100)
}

// codecV1Model is legacyModel plus series whose chunks take the codec's
// decimal, constant and timestamp layouts (legacyModel's random floats take
// only split and XOR): the data of testdata/codec-v1.
func codecV1Model() *model {
	m := legacyModel()
	r := rand.New(rand.NewPCG(21, 22))
	for i := range 10 {
		s := &refSeries{lset: labels.FromStrings(labels.MetricName, "codec_v1", "kind", fmt.Sprint(i))}
		v := float64(r.IntN(1 << 20))
		for c := range 2 {
			var chk []sample
			for k := range 9 {
				t := int64(c*9+k+1) * 1000
				if i%5 < 2 {
					t += int64(r.IntN(11) - 5) // scrape jitter
				}
				switch i % 5 {
				case 0, 3:
					v += float64(r.IntN(2000))
				case 1:
					v = float64(r.IntN(100000)) / 100
				case 2:
					v = 1
				case 4:
					v += float64(r.IntN(50)) / 10
					if k == 4 {
						chk = append(chk, sample{t: t, f: math.Float64frombits(value.StaleNaN)})
						continue
					}
				}
				chk = append(chk, sample{t: t, f: v})
			}
			s.chunks = append(s.chunks, chk)
			s.samples = append(s.samples, chk...)
		}
		m.series = append(m.series, s)
	}
	slices.SortFunc(m.series, func(a, b *refSeries) int { return labels.Compare(a.lset, b.lset) })
	return m
}
