package parquettier_test

import (
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/thanos-io/objstore"

	"mytsdb/parquetstore"
	"mytsdb/storage"
	"mytsdb/storage/export"
)

// deleteFrom is the reference model of delete_series: the samples of the
// series matching ms in [mint, maxt] removed.
func (m model) deleteFrom(mint, maxt int64, ms ...*labels.Matcher) {
	for k, ps := range m {
		l, err := parseLabels(k)
		if err != nil {
			panic(err)
		}
		match := true
		for _, mt := range ms {
			match = match && mt.Matches(l.Get(mt.Name))
		}
		if !match {
			continue
		}
		m[k] = slices.DeleteFunc(ps, func(p point) bool { return p.t >= mint && p.t <= maxt })
		if len(m[k]) == 0 {
			delete(m, k)
		}
	}
}

// checkAll reads q over ranges across the blocks and compares with m.
func checkAll(t *testing.T, what string, q promstorage.Queryable, m model, maxt int64) {
	t.Helper()
	for _, r := range [][2]int64{{0, maxt}, {2500, 17_500}, {blockRange, 2*blockRange - 1}, {3 * blockRange, maxt}} {
		got, warns := read(t, q, r[0], r[1])
		if len(warns) > 0 {
			t.Fatalf("%s %v: warnings: %v", what, r, warns)
		}
		sameModel(t, what, got, m.in(r[0], r[1]))
	}
}

// tierDeletes are the delete_series calls of the tests: part of some series
// across block boundaries, and one series whole.
var tierDeletes = []struct {
	mint, maxt int64
	ms         []*labels.Matcher
}{
	{15_500, 42_000, []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "instance", "host-(1|4|10)")}},
	{-1 << 62, 1 << 62, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "instance", "host-7"), labels.MustNewMatcher(labels.MatchEqual, "job", "tier")}},
}

// TestTierDeleteSeriesBucketOnly: delete_series over blocks that live only
// in the FILESYSTEM bucket hides the deleted samples from every read, as
// Prometheus's tombstones do over its local blocks, and keeps the rest bit
// for bit; the blocks are rewritten in the bucket (the old ones gone), so a
// restart, clean_tombstones and a later round change nothing.
func TestTierDeleteSeriesBucketOnly(t *testing.T) {
	bkt, _ := newFSBucket(t)
	testTierDeleteSeries(t, bkt)
}

func testTierDeleteSeries(t *testing.T, bkt objstore.Bucket) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	db := openDB(t, dir, bkt, reg, nil)
	tn := db.Default()
	m := model{}
	appendSeries(t, tn, m, 12, 0, 6*blockRange, rand.New(rand.NewSource(7)))
	ctx := context.Background()
	if err := db.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	before := tn.TierBlocks()
	if len(before) < 4 {
		t.Fatalf("%d blocks only in the tier, want at least 4", len(before))
	}
	for _, d := range tierDeletes {
		if err := tn.DeleteSeries(ctx, d.mint, d.maxt, d.ms...); err != nil {
			t.Fatal(err)
		}
		m.deleteFrom(d.mint, d.maxt, d.ms...)
	}
	checkAll(t, "after delete_series", tn, m, 6*blockRange)
	if n := testutil.ToFloat64(counter(t, reg, "mytsdb_parquet_blocks_rewritten_total")); n < 4 {
		t.Fatalf("mytsdb_parquet_blocks_rewritten_total = %v, want at least 4 (every block holds host-7)", n)
	}
	inBucket := strings.Join(metas(t, bkt, storage.DefaultTenant), " ")
	for _, b := range before {
		if strings.Contains(inBucket, b.ULID.String()) {
			t.Fatalf("rewritten block %s still in the bucket: %s", b.ULID, inBucket)
		}
	}
	if n := len(tn.TierBlocks()); n != len(before) {
		t.Fatalf("%d tier blocks after the rewrite, had %d", n, len(before))
	}
	// A delete that matches nothing rewrites nothing.
	if err := tn.DeleteSeries(ctx, 0, 6*blockRange, labels.MustNewMatcher(labels.MatchEqual, "instance", "nowhere")); err != nil {
		t.Fatal(err)
	}
	if err := tn.CleanTombstones(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	checkAll(t, "after clean_tombstones and a round", tn, m, 6*blockRange)
	if n := testutil.ToFloat64(counter(t, reg, "mytsdb_parquet_blocks_rewritten_total")); n > 2*float64(len(before)) {
		t.Fatalf("mytsdb_parquet_blocks_rewritten_total = %v for 2 deletes over %d blocks", n, len(before))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir, bkt, nil, nil)
	defer db.Close()
	checkAll(t, "after a restart", db.Default(), m, 6*blockRange)
}

// TestTierDeleteSeriesLocalCopy: a block both local and in the bucket takes
// tombstones locally and loses its bucket copy (which holds the deleted
// samples); once the block is uploaded again and dropped locally, the
// bucket answers without the deleted samples.
func TestTierDeleteSeriesLocalCopy(t *testing.T) {
	bkt, _ := newFSBucket(t)
	dir := t.TempDir()
	db := openDB(t, dir, bkt, nil, func(o *storage.Options) { o.TierLocalRetention = time.Hour })
	tn := db.Default()
	m := model{}
	appendSeries(t, tn, m, 12, 0, 6*blockRange, rand.New(rand.NewSource(8)))
	ctx := context.Background()
	if err := db.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(tn.TierBlocks()) != 0 || len(metas(t, bkt, storage.DefaultTenant)) == 0 {
		t.Fatalf("want blocks uploaded and kept local: %d only in the tier, %d in the bucket", len(tn.TierBlocks()), len(metas(t, bkt, storage.DefaultTenant)))
	}
	for _, d := range tierDeletes {
		if err := tn.DeleteSeries(ctx, d.mint, d.maxt, d.ms...); err != nil {
			t.Fatal(err)
		}
		m.deleteFrom(d.mint, d.maxt, d.ms...)
	}
	checkAll(t, "after delete_series, local copies", tn, m, 6*blockRange)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir, bkt, nil, nil) // local retention 0: every block goes
	defer db.Close()
	tn = db.Default()
	if err := db.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(tn.Blocks()); n != 0 {
		t.Fatalf("%d blocks still local with local retention 0", n)
	}
	checkAll(t, "after the drop, from the bucket", tn, m, 6*blockRange)
}

// TestTierSnapshotHoldsBucketBlocks: a snapshot holds the blocks that live
// only in the bucket (as local blocks) beside the local ones and the head,
// as a Prometheus user expects of a snapshot (all the data): mytsdb opened
// on the snapshot without any bucket answers every sample; skip_head
// leaves out the head only.
func TestTierSnapshotHoldsBucketBlocks(t *testing.T) {
	bkt, _ := newFSBucket(t)
	dir := t.TempDir()
	db := openDB(t, dir, bkt, nil, func(o *storage.Options) { o.TierLocalRetention = 2 * blockRange * time.Millisecond })
	defer db.Close()
	tn := db.Default()
	m := model{}
	appendSeries(t, tn, m, 6, 0, 7*blockRange+5000, rand.New(rand.NewSource(9)))
	ctx := context.Background()
	if err := db.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if len(tn.TierBlocks()) < 2 || len(tn.Blocks()) == 0 {
		t.Fatalf("want blocks in the bucket only and local ones: %d and %d", len(tn.TierBlocks()), len(tn.Blocks()))
	}
	if err := tn.DeleteSeries(ctx, 0, 3*blockRange, labels.MustNewMatcher(labels.MatchEqual, "instance", "host-2")); err != nil {
		t.Fatal(err)
	}
	m.deleteFrom(0, 3*blockRange, labels.MustNewMatcher(labels.MatchEqual, "instance", "host-2"))
	var headMin int64 // where the head begins: the newest block's end
	for _, b := range tn.Blocks() {
		headMin = max(headMin, b.MaxTime)
	}
	for _, withHead := range []bool{true, false} {
		name := "with-head"
		if !withHead {
			name = "skip-head"
		}
		if err := db.Snapshot(ctx, name, withHead); err != nil {
			t.Fatal(err)
		}
		snap, err := storage.Open(storage.Options{Dir: filepath.Join(dir, "snapshots", name), ChunkRange: blockRange, MaxBlockDuration: blockRange,
			MaintenanceInterval: time.Hour, Registerer: prometheus.NewRegistry(), NoLockfile: true})
		if err != nil {
			t.Fatal(err)
		}
		want := m
		if !withHead {
			want = m.in(0, headMin-1)
		}
		checkAll(t, "snapshot "+name, snap.Default(), want, 8*blockRange)
		if err := snap.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTierExportHoldsBucketBlocks: `mytsdb tsdb export` (storage/export over
// the tenant) writes the bucket-only blocks too; the upstream tsdb package
// opens the export and reads every sample.
func TestTierExportHoldsBucketBlocks(t *testing.T) {
	bkt, _ := newFSBucket(t)
	db := openDB(t, t.TempDir(), bkt, nil, nil)
	defer db.Close()
	tn := db.Default()
	m := model{}
	appendSeries(t, tn, m, 6, 0, 5*blockRange, rand.New(rand.NewSource(10)))
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(tn.TierBlocks()) < 3 {
		t.Fatalf("%d blocks only in the tier, want at least 3", len(tn.TierBlocks()))
	}
	out := t.TempDir()
	mint, err := tn.StartTime()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := export.Export(context.Background(), tn, mint, tn.EndTime(), out, export.DefaultBlockDuration, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(out, "wal"), 0o755); err != nil { // as a Prometheus started on it makes
		t.Fatal(err)
	}
	pdb, err := tsdb.OpenDBReadOnly(out, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pdb.Close()
	got, warns := read(t, pdb, 0, 5*blockRange)
	if len(warns) > 0 {
		t.Fatal(warns)
	}
	sameModel(t, "Prometheus blocks exported", got, m)
}

// TestTierRewriteInterrupted: a delete_series rewrite that a crash stopped
// after its new block was complete, before the old one was deleted (made
// here by writing such a successor by hand): the old block, named as the
// successor's parent, is hidden from every read at once, and the next round
// deletes it from the bucket.
func TestTierRewriteInterrupted(t *testing.T) {
	bkt, _ := newFSBucket(t)
	dir := t.TempDir()
	db := openDB(t, dir, bkt, nil, nil)
	tn := db.Default()
	m := model{}
	appendSeries(t, tn, m, 6, 0, 5*blockRange, rand.New(rand.NewSource(12)))
	ctx := context.Background()
	if err := db.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	old := tn.TierBlocks()[1]
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// The successor: the old block without host-3 (as the rewrite writes it).
	host3 := labels.MustNewMatcher(labels.MatchEqual, "instance", "host-3")
	st, err := parquetstore.Open(ctx, bkt, storage.DefaultTenant, parquetstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cq, err := st.BlockChunkQuerier(old.ULID)
	if err != nil {
		t.Fatal(err)
	}
	succ := parquetstore.BlockMeta{ULID: ulid.Make(), MinTime: old.MinTime, MaxTime: old.MaxTime, Level: old.Level, Sources: old.Sources, Parents: []ulid.ULID{old.ULID}}
	if err := parquetstore.Write(ctx, bkt, storage.DefaultTenant, succ, withoutSeries{cq, host3}); err != nil {
		t.Fatal(err)
	}
	cq.Close()
	st.Close()
	m.deleteFrom(old.MinTime, old.MaxTime-1, host3)

	db = openDB(t, dir, bkt, nil, nil)
	defer db.Close()
	tn = db.Default()
	checkAll(t, "after the restart, before a round", tn, m, 5*blockRange)
	inBucket := strings.Join(metas(t, bkt, storage.DefaultTenant), " ")
	if !strings.Contains(inBucket, old.ULID.String()) {
		t.Fatalf("the replaced block is gone before any round: %s", inBucket)
	}
	if err := db.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if inBucket := strings.Join(metas(t, bkt, storage.DefaultTenant), " "); strings.Contains(inBucket, old.ULID.String()) {
		t.Fatalf("the replaced block %s is still in the bucket after a round: %s", old.ULID, inBucket)
	}
	checkAll(t, "after a round", tn, m, 5*blockRange)
}

// withoutSeries leaves out of a chunk querier the series matching m.
type withoutSeries struct {
	promstorage.ChunkQuerier
	m *labels.Matcher
}

func (q withoutSeries) Select(ctx context.Context, sortSeries bool, hints *promstorage.SelectHints, ms ...*labels.Matcher) promstorage.ChunkSeriesSet {
	return &filteredChunkSet{ChunkSeriesSet: q.ChunkQuerier.Select(ctx, sortSeries, hints, ms...), m: q.m}
}

type filteredChunkSet struct {
	promstorage.ChunkSeriesSet
	m *labels.Matcher
}

func (s *filteredChunkSet) Next() bool {
	for s.ChunkSeriesSet.Next() {
		if !s.m.Matches(s.At().Labels().Get(s.m.Name)) {
			return true
		}
	}
	return false
}
