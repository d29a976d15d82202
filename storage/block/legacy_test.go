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
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
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
