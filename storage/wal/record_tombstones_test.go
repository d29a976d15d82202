package wal

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

func genTombstones(r *rand.Rand, n int) []RefTombstone {
	out := make([]RefTombstone, n)
	for i := range out {
		mint := r.Int64N(1<<50) - 1<<49
		maxt := mint + r.Int64N(1<<40)
		switch r.IntN(5) {
		case 0:
			mint = math.MinInt64 // delete_series without start
		case 1:
			maxt = math.MaxInt64 // and without end
		}
		out[i] = RefTombstone{Ref: SeriesRef(r.Uint64N(1 << 40)), MinT: mint, MaxT: maxt}
	}
	return out
}

func diffTombstones(a, b []RefTombstone) error {
	return diffSlices(a, b, func(x, y RefTombstone) bool { return x == y })
}

func TestTombstonesRecordRejectsOverflowingInterval(t *testing.T) {
	rec := func(span uint64) []byte {
		b := []byte{byte(RecordTombstones), 1, 2, 20} // one entry, ref 1, minT 10
		return binary.AppendUvarint(b, span)
	}
	got, err := DecodeTombstonesRecord(rec(math.MaxInt64-10), nil)
	if err != nil || len(got) != 1 || got[0].MaxT != math.MaxInt64 {
		t.Fatalf("largest valid interval: %v, %v", got, err)
	}
	if _, err := DecodeTombstonesRecord(rec(math.MaxInt64-9), nil); err == nil {
		t.Fatalf("an interval ending past math.MaxInt64 was accepted")
	}
}

func FuzzDecodeTombstonesRecord(f *testing.F) {
	addRecordSeeds(f, genTombstones, AppendTombstonesRecord)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip(t, data, AppendTombstonesRecord, DecodeTombstonesRecord, diffTombstones)
	})
}
