package storage

import (
	"context"
	"math"
	"testing"
	"time"

	"mytsdb/storage/block"
)

// fillAndCut opens a DB with mod applied, puts 50 minutes of 10m-block data
// in its default tenant and runs one maintenance round.
func fillAndCut(t *testing.T, mod func(*Options)) (*DB, *Tenant, blockModel) {
	t.Helper()
	db := openBlocksDB(t, t.TempDir(), nil, mod)
	t.Cleanup(func() { db.Close() })
	tn := db.Default()
	m := blockModel{}
	base := time.Now().Add(-2 * time.Hour).UnixMilli()
	// Aligned to a level-2 range, so that its first three blocks fill one
	// and the planner compacts them whatever the time of day.
	base -= base % (3 * testRange)
	fillHead(t, tn, base, m)
	if err := tn.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db, tn, m
}

func maxLevel(metas []block.Meta) int {
	l := 0
	for _, m := range metas {
		l = max(l, m.Compaction.Level)
	}
	return l
}

// TestCompactionExclude: blocks CompactionExclude excludes, and every later
// one, are not compacted; without it the same data is compacted. Either way
// the tenant serves the model.
func TestCompactionExclude(t *testing.T) {
	_, plain, m := fillAndCut(t, nil)
	if maxLevel(plain.Blocks()) < 2 {
		t.Fatalf("without exclusion nothing was compacted: %+v", plain.Blocks())
	}
	var first int64 = math.MaxInt64
	_, kept, _ := fillAndCut(t, func(o *Options) {
		o.CompactionExclude = func(b block.Meta) bool {
			// Keep everything after the first block as if not uploaded.
			if b.MinTime < first {
				first = b.MinTime
				return false
			}
			return b.MinTime > first
		}
	})
	metas := kept.Blocks()
	if len(metas) < 2 || maxLevel(metas) != 1 {
		t.Fatalf("with all but the first block excluded: %d blocks, max level %d", len(metas), maxLevel(metas))
	}
	for _, tn := range []*Tenant{plain, kept} {
		if d := diffModels(m, readRange(t, tn, math.MinInt64, math.MaxInt64)); d != "" {
			t.Fatal(d)
		}
	}
}

// TestCompactionDelay: a due head is not cut before CompactionDelay has
// passed since it was first found due, and is cut by the first round after.
func TestCompactionDelay(t *testing.T) {
	const delay = 300 * time.Millisecond
	_, tn, m := fillAndCut(t, func(o *Options) { o.CompactionDelay = delay })
	if n := len(tn.Blocks()); n != 0 {
		t.Fatalf("%d blocks cut before the delay", n)
	}
	if _, _, due := tn.Head().Compactable(); !due {
		t.Fatal("head not due: the test data does not exercise the delay")
	}
	time.Sleep(delay)
	if err := tn.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(tn.Blocks()); n == 0 {
		t.Fatal("no block cut after the delay")
	}
	if d := diffModels(m, readRange(t, tn, math.MinInt64, math.MaxInt64)); d != "" {
		t.Fatal(d)
	}
}
