package storage

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"

	"mytsdb/storage/block"
	"mytsdb/storage/wal"
)

// blockModel is the reference: every sample appended and acknowledged.
type blockModel map[string][]point

func (m blockModel) add(l labels.Labels, p point) { m[l.String()] = append(m[l.String()], p) }

func (m blockModel) in(mint, maxt int64) blockModel {
	out := blockModel{}
	for k, ps := range m {
		for _, p := range ps {
			if p.t >= mint && p.t <= maxt {
				out[k] = append(out[k], p)
			}
		}
	}
	return out
}

// readRange is readAll over [mint, maxt] with hints, as PromQL selects.
func readRange(t *testing.T, q promstorage.Queryable, mint, maxt int64, ms ...*labels.Matcher) blockModel {
	t.Helper()
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	if len(ms) == 0 {
		ms = []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")}
	}
	set := qr.Select(context.Background(), true, &promstorage.SelectHints{Start: mint, End: maxt}, ms...)
	out := blockModel{}
	var prev labels.Labels
	for set.Next() {
		s := set.At()
		if prev.Len() > 0 && labels.Compare(prev, s.Labels()) >= 0 {
			t.Fatalf("series out of order or repeated: %s after %s", s.Labels(), prev)
		}
		prev = s.Labels()
		it := s.Iterator(nil)
		var pts []point
		for it.Next() != 0 {
			tt, v := it.At()
			pts = append(pts, point{tt, v})
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		if len(pts) > 0 {
			out[s.Labels().String()] = pts
		}
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func diffModels(want, got blockModel) string {
	var b strings.Builder
	for k, w := range want {
		if g := got[k]; !equalPoints(w, g) {
			fmt.Fprintf(&b, "series %s: got %d samples, want %d", k, len(g), len(w))
			for i := range min(len(w), len(g)) {
				if w[i] != g[i] {
					fmt.Fprintf(&b, " (first difference at %d: got %v want %v)", i, g[i], w[i])
					break
				}
			}
			b.WriteString("\n")
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "unexpected series %s\n", k)
		}
	}
	return b.String()
}

const testRange = int64(10 * 60 * 1000) // 10m blocks

func openBlocksDB(t *testing.T, dir string, reg prometheus.Registerer, mod func(*Options)) *DB {
	t.Helper()
	o := Options{
		Dir: dir, ChunkRange: testRange, WALSync: wal.SyncInterval, Registerer: reg,
		MaintenanceInterval: time.Hour, // Rounds run when the test says.
	}
	if mod != nil {
		mod(&o)
	}
	db, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestBlockLifecycleMatchesModel appends 3h of data to a tenant with 10m
// blocks, running maintenance rounds as it goes (cuts and compactions), and
// compares the tenant with the model: over the whole range and ranges across
// block boundaries, label values of series only in old blocks, after a
// reopen (no sample replayed twice from the WAL), after delete_series over
// blocks and head, after cleaning tombstones, and after retention.
func TestBlockLifecycleMatchesModel(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	db := openBlocksDB(t, dir, reg, nil)
	tn := db.Default()
	r := rand.New(rand.NewSource(1))
	m := blockModel{}
	// Aligned to the largest compaction range the 3h reach (27 ranges,
	// 4h30m): no window of it completes, so the layout, and what retention
	// deletes, does not depend on the wall clock.
	base := time.Now().Add(-3 * time.Hour).UnixMilli()
	base -= base % (27 * testRange)
	var series []labels.Labels
	for i := range 30 {
		series = append(series, labels.FromStrings("__name__", fmt.Sprintf("metric_%d", i%4), "job", fmt.Sprintf("job%d", i%3), "i", fmt.Sprint(i)))
	}
	early := labels.FromStrings("__name__", "early_only", "job", "gone")
	end := base + 3*3600*1000
	step := int64(15_000)
	for ts := base; ts < end; ts += step {
		app := tn.Appender(context.Background())
		for _, l := range series {
			v := math.Round(r.Float64()*1000) / 10
			if _, err := app.Append(0, l, ts, v); err != nil {
				t.Fatal(err)
			}
			m.add(l, point{ts, v})
		}
		if ts < base+testRange {
			if _, err := app.Append(0, early, ts, 1); err != nil {
				t.Fatal(err)
			}
			m.add(early, point{ts, 1})
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
		if (ts-base)%(5*60*1000) == 0 {
			if err := tn.Maintain(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tn.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	metas := tn.Blocks()
	maxLevel := 0
	for i, bm := range metas {
		maxLevel = max(maxLevel, bm.Compaction.Level)
		if i > 0 && bm.MinTime < metas[i-1].MaxTime {
			t.Fatalf("blocks overlap: %+v and %+v", metas[i-1], bm)
		}
	}
	if len(metas) < 2 || maxLevel < 2 {
		t.Fatalf("%d blocks, highest level %d: want several blocks and a compaction", len(metas), maxLevel)
	}
	if got := testutil.ToFloat64(mustGather(t, reg, "prometheus_tsdb_blocks_loaded")); int(got) != len(metas) {
		t.Fatalf("prometheus_tsdb_blocks_loaded = %v, want %d", got, len(metas))
	}
	if hmin := tn.Head().MinTime(); hmin < metas[len(metas)-1].MaxTime {
		t.Fatalf("head still holds %d, older than the newest block's end %d", hmin, metas[len(metas)-1].MaxTime)
	}

	check := func(what string, m blockModel) {
		t.Helper()
		if d := diffModels(m, readRange(t, tn, math.MinInt64, math.MaxInt64)); d != "" {
			t.Fatalf("%s, everything:\n%s", what, d)
		}
		for _, rg := range [][2]int64{
			{base + testRange - 1, base + testRange}, // across the first cut
			{base + 7*testRange/2, base + 11*testRange},
			{metas[len(metas)-1].MaxTime - 60_000, end}, // the last block and the head
			{base + 30*testRange, base + 40*testRange},  // past the end
		} {
			if d := diffModels(m.in(rg[0], rg[1]), readRange(t, tn, rg[0], rg[1])); d != "" {
				t.Fatalf("%s, [%d, %d]:\n%s", what, rg[0], rg[1], d)
			}
		}
		q, err := tn.Querier(base, base+testRange)
		if err != nil {
			t.Fatal(err)
		}
		vals, _, err := q.LabelValues(context.Background(), "job", nil)
		q.Close()
		_, hasEarly := m[early.String()]
		if err != nil || slices.Contains(vals, "gone") != hasEarly {
			t.Fatalf("%s: label values of job in the first block = %v (%v); early_only in the model: %v", what, vals, err, hasEarly)
		}
	}
	check("after cuts and compactions", m)

	// Reopen: the WAL still holds what a crash between a cut and its
	// checkpoint would leave; nothing may come back twice.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openBlocksDB(t, dir, prometheus.NewRegistry(), nil)
	tn = db.Default()
	check("after reopen", m)

	// delete_series over two blocks and the head.
	delMin, delMax := base+5*testRange+1, end-step*3
	job1 := labels.MustNewMatcher(labels.MatchEqual, "job", "job1")
	if err := tn.DeleteSeries(context.Background(), delMin, delMax, job1); err != nil {
		t.Fatal(err)
	}
	for k, ps := range m {
		if !strings.Contains(k, `job="job1"`) {
			continue
		}
		m[k] = slices.DeleteFunc(slices.Clone(ps), func(p point) bool { return p.t >= delMin && p.t <= delMax })
	}
	check("after delete_series", m)
	if err := tn.CleanTombstones(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, bm := range tn.Blocks() {
		if bm.Stats.NumTombstones != 0 {
			t.Fatalf("block %s still has %d tombstones after clean_tombstones", bm.ULID, bm.Stats.NumTombstones)
		}
	}
	check("after clean_tombstones", m)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Retention by time keeps the blocks within an hour of the newest
	// block's end, and the head.
	db = openBlocksDB(t, dir, prometheus.NewRegistry(), func(o *Options) { o.RetentionDuration = time.Hour })
	defer db.Close()
	tn = db.Default()
	before := tn.Blocks()
	if err := tn.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := tn.Blocks()
	newest := before[len(before)-1].MaxTime
	var cut int64 = math.MinInt64
	for _, bm := range before {
		kept := slices.ContainsFunc(after, func(a block.Meta) bool { return a.ULID == bm.ULID })
		if wantKept := newest-bm.MaxTime < time.Hour.Milliseconds(); kept != wantKept {
			t.Fatalf("block [%d, %d) kept=%v, want %v (newest block ends at %d)", bm.MinTime, bm.MaxTime, kept, wantKept, newest)
		}
		if !slices.ContainsFunc(after, func(a block.Meta) bool { return a.ULID == bm.ULID }) {
			cut = max(cut, bm.MaxTime)
		}
	}
	if cut == math.MinInt64 {
		t.Fatal("retention deleted no block")
	}
	check("after retention", m.in(cut, math.MaxInt64))
	entries, _ := os.ReadDir(filepath.Join(dir, DefaultTenant, blocksDirName))
	if len(entries) != len(after) {
		t.Fatalf("%d entries in the blocks directory, want %d blocks", len(entries), len(after))
	}
}

func mustGather(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: name})
			g.Set(mf.Metric[0].GetGauge().GetValue())
			return g
		}
	}
	t.Fatalf("metric %s not found", name)
	return nil
}

// TestQueriesDuringMaintenance: while maintenance rounds run without pause
// (cuts, compactions of overlapping blocks), every query sees exactly what
// was acknowledged, in-order and out-of-order samples alike.
func TestQueriesDuringMaintenance(t *testing.T) {
	db := openBlocksDB(t, t.TempDir(), nil, func(o *Options) {
		o.OutOfOrderTimeWindow = 100 * 365 * 24 * 3600 * 1000
		o.RetentionDuration = 100 * 365 * 24 * time.Hour
	})
	defer db.Close()
	tn := db.Default()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := tn.Maintain(context.Background()); err != nil {
				done <- err
				return
			}
		}
	}()
	r := rand.New(rand.NewSource(2))
	m := blockModel{}
	seen := map[string]map[int64]bool{}
	var series []labels.Labels
	for i := range 8 {
		series = append(series, labels.FromStrings("__name__", "m", "i", fmt.Sprint(i)))
	}
	var newest int64
	for round := range 300 {
		app := tn.Appender(context.Background())
		for range 20 {
			l := series[r.Intn(len(series))]
			ts := newest + int64(r.Intn(3))*15_000
			if r.Intn(4) == 0 { // Out of order, anywhere in the past.
				ts = int64(r.Intn(int(newest/15_000)+1)) * 15_000
			}
			if seen[l.String()] == nil {
				seen[l.String()] = map[int64]bool{}
			}
			if seen[l.String()][ts] {
				continue
			}
			v := float64(round)
			if _, err := app.Append(0, l, ts, v); err != nil {
				t.Fatalf("round %d: append %s@%d: %v", round, l, ts, err)
			}
			seen[l.String()][ts] = true
			m.add(l, point{ts, v})
			newest = max(newest, ts)
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
		for k := range m {
			slices.SortFunc(m[k], func(a, b point) int { return int(a.t - b.t) })
		}
		if d := diffModels(m, readRange(t, tn, math.MinInt64, math.MaxInt64)); d != "" {
			close(stop)
			t.Fatalf("round %d (blocks %d):\n%s", round, len(tn.Blocks()), d)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(tn.Blocks()); n < 3 {
		t.Fatalf("only %d blocks: the test did not exercise cuts", n)
	}
}

// fillHead appends 50 minutes of one sample per 15 s for a few series.
func fillHead(t *testing.T, tn *Tenant, base int64, m blockModel) int64 {
	t.Helper()
	ts := base
	for ; ts < base+50*60*1000; ts += 15_000 {
		app := tn.Appender(context.Background())
		for i := range 3 {
			l := labels.FromStrings("__name__", "m", "i", fmt.Sprint(i))
			if _, err := app.Append(0, l, ts, float64(ts)); err != nil {
				t.Fatal(err)
			}
			m.add(l, point{ts, float64(ts)})
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	return ts
}

// cutTenant opens a DB in dir with 50 minutes of data in its default
// tenant, cut into blocks (at least two) with the rest in the head.
func cutTenant(t *testing.T, dir string) (*DB, *Tenant, blockModel) {
	t.Helper()
	db := openBlocksDB(t, dir, nil, nil)
	tn := db.Default()
	m := blockModel{}
	base := time.Now().Add(-2 * time.Hour).UnixMilli()
	base -= base % testRange
	fillHead(t, tn, base, m)
	if err := tn.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(tn.Blocks()); n < 2 || tn.Head().NumSeries() == 0 {
		t.Fatalf("%d blocks, %d head series: want both", n, tn.Head().NumSeries())
	}
	return db, tn, m
}

// TestCutFailsCleanlyAndIsRetried: a cut that cannot write its block (here
// the blocks directory is replaced by a file, as a full or broken disk would
// refuse it) leaves the head with all its data, queries unchanged, and the
// next round cuts it.
func TestCutFailsCleanlyAndIsRetried(t *testing.T) {
	dir := t.TempDir()
	db := openBlocksDB(t, dir, nil, nil)
	defer db.Close()
	tn := db.Default()
	m := blockModel{}
	base := time.Now().Add(-2 * time.Hour).UnixMilli()
	base -= base % testRange
	blocks := filepath.Join(dir, DefaultTenant, blocksDirName)
	if err := os.Remove(blocks); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocks, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	fillHead(t, tn, base, m)
	if err := tn.Maintain(context.Background()); err == nil {
		t.Fatal("a cut into an unwritable blocks directory succeeded")
	}
	if n := len(tn.Blocks()); n != 0 {
		t.Fatalf("%d blocks after a failed cut", n)
	}
	if d := diffModels(m, readRange(t, tn, math.MinInt64, math.MaxInt64)); d != "" {
		t.Fatalf("after the failed cut:\n%s", d)
	}
	// The disk is back: the same ranges are cut.
	if err := os.Remove(blocks); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(blocks, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tn.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 50 minutes of 10-minute ranges: four cut (three of them perhaps
	// compacted into one), the rest in the head.
	after := tn.Blocks()
	if len(after) < 2 || tn.Head().MinTime() < after[len(after)-1].MaxTime {
		t.Fatalf("%d blocks after the retry, head from %d", len(after), tn.Head().MinTime())
	}
	if d := diffModels(m, readRange(t, tn, math.MinInt64, math.MaxInt64)); d != "" {
		t.Fatalf("after the retry:\n%s", d)
	}
}

// TestCorruptBlockLeftOut: a block whose index is damaged is left out at
// open (logged, counted in mytsdb_tsdb_corrupt_blocks) and the other blocks
// and the head are served.
func TestCorruptBlockLeftOut(t *testing.T) {
	dir := t.TempDir()
	db, tn, m := cutTenant(t, dir)
	metas := tn.Blocks()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	bad := metas[0]
	index := filepath.Join(dir, DefaultTenant, blocksDirName, bad.ULID.String(), "index")
	b, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(index, b, 0o644); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	logs := &syncBuffer{}
	db = openBlocksDB(t, dir, reg, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	defer db.Close()
	tn = db.Default()
	if got := len(tn.Blocks()); got != len(metas)-1 {
		t.Fatalf("%d blocks open, want %d", got, len(metas)-1)
	}
	if v := testutil.ToFloat64(mustGather(t, reg, "mytsdb_tsdb_corrupt_blocks")); v != 1 {
		t.Fatalf("mytsdb_tsdb_corrupt_blocks = %v, want 1", v)
	}
	if !strings.Contains(logs.String(), bad.ULID.String()) {
		t.Fatalf("no log line names the damaged block:\n%s", logs.String())
	}
	if d := diffModels(m.in(bad.MaxTime, math.MaxInt64), readRange(t, tn, bad.MaxTime, math.MaxInt64)); d != "" {
		t.Fatalf("the rest:\n%s", d)
	}
}

// TestSnapshotServesAsDataDir: a snapshot with the head holds every sample;
// one without holds what the blocks hold; each opens as a data directory.
func TestSnapshotServesAsDataDir(t *testing.T) {
	dir := t.TempDir()
	db, tn, m := cutTenant(t, dir)
	defer db.Close()
	metas := tn.Blocks()
	for _, withHead := range []bool{true, false} {
		name := fmt.Sprintf("snap-%v", withHead)
		if err := db.Snapshot(context.Background(), name, withHead); err != nil {
			t.Fatal(err)
		}
		snap, err := Open(Options{Dir: filepath.Join(dir, snapshotsDirName, name), MaintenanceInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		want := m
		if !withHead {
			want = m.in(math.MinInt64, metas[len(metas)-1].MaxTime-1)
		}
		if d := diffModels(want, readRange(t, snap.Default(), math.MinInt64, math.MaxInt64)); d != "" {
			t.Fatalf("snapshot with head=%v:\n%s", withHead, d)
		}
		if err := snap.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Snapshot(context.Background(), "../escape", true); err == nil {
		t.Fatal("a snapshot name leaving the snapshots directory was accepted")
	}
	// The live data is untouched by the snapshots (hard links, no writes).
	if d := diffModels(m, readRange(t, tn, math.MinInt64, math.MaxInt64)); d != "" {
		t.Fatalf("live data after snapshots:\n%s", d)
	}
}

// TestNoOverlappingCompaction: out-of-order data cut into a block over an
// older range is compacted away by default, and queries are right either
// way. (Which blocks are merged with overlapping compaction off, only by the
// leveled rules as in Prometheus, is the planner's, compared with
// Prometheus's own in storage/compaction.)
func TestNoOverlappingCompaction(t *testing.T) {
	for _, noOverlap := range []bool{true, false} {
		t.Run(fmt.Sprintf("no-overlapping=%v", noOverlap), func(t *testing.T) {
			db := openBlocksDB(t, t.TempDir(), nil, func(o *Options) {
				o.OutOfOrderTimeWindow = 24 * 3600 * 1000
				o.NoOverlappingCompaction = noOverlap
			})
			defer db.Close()
			tn := db.Default()
			m := blockModel{}
			base := time.Now().Add(-2 * time.Hour).UnixMilli()
			base -= base % testRange
			end := fillHead(t, tn, base, m)
			if err := tn.Maintain(context.Background()); err != nil {
				t.Fatal(err)
			}
			late := labels.FromStrings("__name__", "late")
			appendPoints(t, tn, late, []point{{base + 7_500, 1}}) // Out of order, in the first range.
			m.add(late, point{base + 7_500, 1})
			appendPoints(t, tn, late, []point{{end + 20*60*1000, 2}}) // Pushes the head on.
			m.add(late, point{end + 20*60*1000, 2})
			if err := tn.Maintain(context.Background()); err != nil {
				t.Fatal(err)
			}
			metas := tn.Blocks()
			overlaps := false
			for i := 1; i < len(metas); i++ {
				if metas[i].MinTime < metas[i-1].MaxTime {
					overlaps = true
				}
			}
			if overlaps && !noOverlap {
				t.Fatalf("blocks still overlap after compaction: %+v", metas)
			}
			if d := diffModels(m, readRange(t, tn, math.MinInt64, math.MaxInt64)); d != "" {
				t.Fatal(d)
			}
		})
	}
}
