package parquettier_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/thanos-io/objstore"
	"github.com/thanos-io/objstore/providers/filesystem"

	"mytsdb/storage"
	"mytsdb/storage/block"
	"mytsdb/storage/parquettier"
)

// blockRange is the test's block duration (ms): short, so that a few
// minutes of samples make several blocks.
const blockRange = 10_000

type point struct {
	t int64
	v float64
}

// model is the reference: every sample appended, by series.
type model map[string][]point

func (m model) in(mint, maxt int64) model {
	out := model{}
	for k, ps := range m {
		for _, p := range ps {
			if p.t >= mint && p.t <= maxt {
				out[k] = append(out[k], p)
			}
		}
	}
	return out
}

func openDB(t *testing.T, dir string, bkt objstore.Bucket, reg prometheus.Registerer, mod func(*storage.Options)) *storage.DB {
	t.Helper()
	opts := storage.Options{
		Dir:                 dir,
		ChunkRange:          blockRange,
		MaxBlockDuration:    blockRange,
		MaintenanceInterval: time.Hour, // rounds run when the test says
		Tier:                parquettier.New(bkt, parquettier.Options{CacheBytes: 1 << 20}),
		TierLocalRetention:  0,
		Registerer:          reg,
	}
	if mod != nil {
		mod(&opts)
	}
	db, err := storage.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// appendSeries writes n series with one sample per second in [from, to) ms,
// values of every kind a float can take (integers, decimals, NaN, ±Inf,
// -0), and records them in m.
func appendSeries(t *testing.T, tn *storage.Tenant, m model, n int, from, to int64, rng *rand.Rand) {
	t.Helper()
	app := tn.Appender(context.Background())
	for ts := from; ts < to; ts += 1000 {
		for i := range n {
			l := labels.FromStrings("__name__", fmt.Sprintf("metric_%d", i%3), "instance", fmt.Sprintf("host-%d", i), "job", "tier")
			var v float64
			switch rng.Intn(8) {
			case 0:
				v = math.NaN()
			case 1:
				v = math.Inf(1 - 2*rng.Intn(2))
			case 2:
				v = math.Copysign(0, -1)
			case 3:
				v = float64(rng.Intn(1000))
			case 4:
				v = math.Round(rng.Float64()*10000) / 100
			default:
				v = rng.NormFloat64() * 1e6
			}
			if _, err := app.Append(0, l, ts, v); err != nil {
				t.Fatal(err)
			}
			m[l.String()] = append(m[l.String()], point{ts, v})
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
}

// read returns every series of q in [mint, maxt] (sorted, checked), and the
// warnings the querier gave.
func read(t *testing.T, q promstorage.Queryable, mint, maxt int64) (model, []string) {
	t.Helper()
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	set := qr.Select(context.Background(), true, &promstorage.SelectHints{Start: mint, End: maxt},
		labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	out := model{}
	var prev labels.Labels
	for set.Next() {
		s := set.At()
		if prev.Len() > 0 && labels.Compare(prev, s.Labels()) >= 0 {
			t.Fatalf("series out of order or repeated: %s after %s", s.Labels(), prev)
		}
		prev = s.Labels()
		it := s.Iterator(nil)
		for it.Next() != 0 {
			ts, v := it.At()
			out[s.Labels().String()] = append(out[s.Labels().String()], point{ts, v})
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	var warns []string
	for _, w := range set.Warnings() {
		warns = append(warns, w.Error())
	}
	return out, warns
}

// sameModel compares bit for bit (NaN and -0 count).
func sameModel(t *testing.T, what string, got, want model) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d series, want %d", what, len(got), len(want))
	}
	for k, ws := range want {
		gs := got[k]
		if len(gs) != len(ws) {
			t.Fatalf("%s: series %s: %d samples, want %d", what, k, len(gs), len(ws))
		}
		for i := range ws {
			if gs[i].t != ws[i].t || math.Float64bits(gs[i].v) != math.Float64bits(ws[i].v) {
				t.Fatalf("%s: series %s sample %d: (%d, %v), want (%d, %v)", what, k, i, gs[i].t, gs[i].v, ws[i].t, ws[i].v)
			}
		}
	}
}

func labelValues(t *testing.T, q promstorage.Queryable, name string, mint, maxt int64, ms ...*labels.Matcher) []string {
	t.Helper()
	qr, err := q.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer qr.Close()
	vs, _, err := qr.LabelValues(context.Background(), name, nil, ms...)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func modelLabelValues(m model, name string, filter func(labels.Labels) bool) []string {
	seen := map[string]bool{}
	for k, ps := range m {
		if len(ps) == 0 {
			continue
		}
		l, err := parseLabels(k)
		if err != nil {
			panic(err)
		}
		if filter != nil && !filter(l) {
			continue
		}
		if v := l.Get(name); v != "" {
			seen[v] = true
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func parseLabels(s string) (labels.Labels, error) {
	// labels.Labels.String() is {k="v", ...}; the test's values are plain.
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	b := labels.NewScratchBuilder(4)
	for _, kv := range strings.Split(s, ", ") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return labels.EmptyLabels(), fmt.Errorf("bad label pair %q", kv)
		}
		b.Add(k, strings.Trim(v, `"`))
	}
	b.Sort()
	return b.Labels(), nil
}

func newFSBucket(t *testing.T) (objstore.Bucket, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bucket")
	bkt, err := filesystem.NewBucket(dir)
	if err != nil {
		t.Fatal(err)
	}
	return bkt, dir
}

// metas lists the meta.json objects of tenant in bkt.
func metas(t *testing.T, bkt objstore.Bucket, tenant string) []string {
	t.Helper()
	var out []string
	err := bkt.Iter(context.Background(), tenant+"/", func(name string) error {
		if strings.HasSuffix(name, "/meta.json") {
			out = append(out, name)
		}
		return nil
	}, objstore.WithRecursiveIter())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestTierUploadVerifyDrop: sealed blocks go to the FILESYSTEM bucket, the
// local copies go, and every query answers the samples appended, before and
// after the drop and after a restart, bit for bit, with no warning.
func TestTierUploadVerifyDrop(t *testing.T) {
	bkt, _ := newFSBucket(t)
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	db := openDB(t, dir, bkt, reg, nil)
	tn := db.Default()
	m := model{}
	rng := rand.New(rand.NewSource(1))
	appendSeries(t, tn, m, 12, 0, 6*blockRange, rng)

	before, warns := read(t, tn, 0, 6*blockRange)
	sameModel(t, "head only", before, m)
	if len(warns) > 0 {
		t.Fatalf("warnings: %v", warns)
	}
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	remote := tn.TierBlocks()
	if len(remote) < 3 {
		t.Fatalf("%d blocks held only in the tier after a round, want at least 3 (local: %d)", len(remote), len(tn.Blocks()))
	}
	inBucket := metas(t, bkt, storage.DefaultTenant)
	for _, b := range remote {
		if !slices.Contains(inBucket, storage.DefaultTenant+"/"+b.ULID.String()+"/meta.json") {
			t.Fatalf("block %s listed by the tier has no meta.json in the bucket: %v", b.ULID, inBucket)
		}
		if _, err := os.Stat(filepath.Join(dir, storage.DefaultTenant, "blocks", b.ULID.String())); !os.IsNotExist(err) {
			t.Fatalf("block %s is in the tier but still local (stat: %v)", b.ULID, err)
		}
	}
	if got := testutil.ToFloat64(counter(t, reg, "mytsdb_parquet_blocks_uploaded_total")); got < float64(len(remote)) {
		t.Fatalf("mytsdb_parquet_blocks_uploaded_total = %v, want >= %d", got, len(remote))
	}
	check := func(what string, q promstorage.Queryable) {
		t.Helper()
		for _, r := range [][2]int64{{0, 6 * blockRange}, {2500, 17_500}, {blockRange, 2*blockRange - 1}, {5 * blockRange, 6 * blockRange}} {
			got, warns := read(t, q, r[0], r[1])
			if len(warns) > 0 {
				t.Fatalf("%s %v: warnings: %v", what, r, warns)
			}
			sameModel(t, fmt.Sprintf("%s %v", what, r), got, m.in(r[0], r[1]))
		}
		job := labels.MustNewMatcher(labels.MatchEqual, "__name__", "metric_1")
		if got, want := labelValues(t, q, "instance", 0, 3*blockRange, job), modelLabelValues(m.in(0, 3*blockRange), "instance", func(l labels.Labels) bool { return l.Get("__name__") == "metric_1" }); !slices.Equal(got, want) {
			t.Fatalf("%s: label values of instance{__name__=metric_1} = %v, want %v", what, got, want)
		}
		if got, want := labelValues(t, q, "__name__", 0, 2*blockRange), modelLabelValues(m.in(0, 2*blockRange), "__name__", nil); !slices.Equal(got, want) {
			t.Fatalf("%s: label values of __name__ = %v, want %v", what, got, want)
		}
	}
	check("after the drop", tn)

	// Restart: the tier is listed at open, before any round.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir, bkt, prometheus.NewRegistry(), nil)
	defer db.Close()
	check("after a restart", db.Default())
	if got := db.Default().TierBlocks(); len(got) != len(remote) {
		t.Fatalf("%d tier blocks after a restart, want %d", len(got), len(remote))
	}
}

// TestTierKeepsLocalUntilOld: with a local retention, blocks go to the
// bucket as soon as no compaction takes them, but stay local until their end
// is that far behind the newest block's; queries never see a sample twice.
func TestTierKeepsLocalUntilOld(t *testing.T) {
	bkt, _ := newFSBucket(t)
	db := openDB(t, t.TempDir(), bkt, nil, func(o *storage.Options) { o.TierLocalRetention = 3 * blockRange * time.Millisecond })
	defer db.Close()
	tn := db.Default()
	m := model{}
	appendSeries(t, tn, m, 5, 0, 8*blockRange, rand.New(rand.NewSource(2)))
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	local := tn.Blocks()
	if len(local) == 0 {
		t.Fatal("no local block")
	}
	newest := local[len(local)-1].MaxTime
	for _, b := range local {
		if b.MaxTime <= newest-3*blockRange {
			t.Fatalf("block [%d, %d) is still local, older than the local retention (newest end %d)", b.MinTime, b.MaxTime, newest)
		}
	}
	inBucket := len(metas(t, bkt, storage.DefaultTenant))
	if inBucket <= len(tn.TierBlocks()) {
		t.Fatalf("%d blocks in the bucket, %d of them only there: local blocks were not uploaded ahead of the drop", inBucket, len(tn.TierBlocks()))
	}
	got, warns := read(t, tn, 0, 8*blockRange)
	if len(warns) > 0 {
		t.Fatal(warns)
	}
	sameModel(t, "local and tier", got, m)
}

// TestTierRetention deletes the bucket's blocks past --storage.parquet.retention.
func TestTierRetention(t *testing.T) {
	bkt, _ := newFSBucket(t)
	db := openDB(t, t.TempDir(), bkt, nil, func(o *storage.Options) { o.TierRetention = 4 * blockRange * time.Millisecond })
	defer db.Close()
	tn := db.Default()
	m := model{}
	appendSeries(t, tn, m, 3, 0, 9*blockRange, rand.New(rand.NewSource(3)))
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A second round: blocks expired in the first were still local then.
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	var newest int64
	for _, b := range append(tn.TierBlocks(), tierOf(tn.Blocks())...) {
		newest = max(newest, b.MaxTime)
	}
	for _, b := range tn.TierBlocks() {
		if b.MaxTime <= newest-4*blockRange {
			t.Fatalf("tier block [%d, %d) outlived the retention (newest end %d)", b.MinTime, b.MaxTime, newest)
		}
	}
	if n := len(metas(t, bkt, storage.DefaultTenant)); n != len(tn.TierBlocks()) {
		t.Fatalf("%d meta.json objects in the bucket, want %d", n, len(tn.TierBlocks()))
	}
	lo := newest - 4*blockRange
	got, _ := read(t, tn, lo, 9*blockRange)
	sameModel(t, "within retention", got, m.in(lo, 9*blockRange))
}

func tierOf(ms []block.Meta) []storage.TierBlock {
	out := make([]storage.TierBlock, len(ms))
	for i, m := range ms {
		out[i] = storage.TierBlock{ULID: m.ULID, MinTime: m.MinTime, MaxTime: m.MaxTime}
	}
	return out
}

func counter(t *testing.T, g prometheus.Gatherer, name string) prometheus.Collector {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: "copy"})
			c.Add(mf.Metric[0].GetCounter().GetValue())
			return c
		}
	}
	t.Fatalf("metric %s not found", name)
	return nil
}

// TestTierDeletesSupersededBlocks: a tier block whose sources a larger tier
// block holds all of (uploaded, then compacted locally with others before
// its drop, the compacted block uploaded in turn) is deleted from the
// bucket by the next round; the answer stays whole.
func TestTierDeletesSupersededBlocks(t *testing.T) {
	bkt, _ := newFSBucket(t)
	db := openDB(t, t.TempDir(), bkt, nil, func(o *storage.Options) { o.TierLocalRetention = time.Hour })
	defer db.Close()
	tn := db.Default()
	m := model{}
	appendSeries(t, tn, m, 4, 0, 3*blockRange, rand.New(rand.NewSource(5)))
	ctx := context.Background()
	st, err := parquettier.New(bkt, parquettier.Options{}).Open(ctx, "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	write := func(b storage.TierBlock) {
		t.Helper()
		q, err := tn.ChunkQuerier(b.MinTime, b.MaxTime-1)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		if err := st.Write(ctx, b, q); err != nil {
			t.Fatal(err)
		}
	}
	var parts []storage.TierBlock
	for i := range 3 {
		id := ulid.MustNew(uint64(i+1), nil)
		parts = append(parts, storage.TierBlock{ULID: id, MinTime: int64(i) * blockRange, MaxTime: int64(i+1) * blockRange, Level: 1, Sources: []ulid.ULID{id}})
		write(parts[i])
	}
	whole := storage.TierBlock{ULID: ulid.MustNew(10, nil), MinTime: 0, MaxTime: 3 * blockRange, Level: 2,
		Sources: []ulid.ULID{parts[0].ULID, parts[1].ULID, parts[2].ULID}}
	write(whole)
	other := storage.TierBlock{ULID: ulid.MustNew(11, nil), MinTime: 0, MaxTime: blockRange, Level: 1, Sources: []ulid.ULID{ulid.MustNew(12, nil)}}
	write(other)
	if err := db.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	got := metas(t, bkt, storage.DefaultTenant)
	for _, b := range parts {
		if slices.Contains(got, "default/"+b.ULID.String()+"/meta.json") {
			t.Fatalf("superseded block %s still in the bucket: %v", b.ULID, got)
		}
	}
	for _, b := range []storage.TierBlock{whole, other} {
		if !slices.Contains(got, "default/"+b.ULID.String()+"/meta.json") {
			t.Fatalf("block %s deleted from the bucket, but no other block holds all its sources: %v", b.ULID, got)
		}
	}
	all, _ := read(t, tn, 0, 3*blockRange)
	sameModel(t, "after the deletion", all, m)
}

// gatedBucket holds every Upload until release is closed, so that a test
// sees the tier's work while it runs.
type gatedBucket struct {
	objstore.Bucket
	started chan struct{} // closed at the first Upload
	release chan struct{}
	once    *sync.Once
}

func (b gatedBucket) Upload(ctx context.Context, name string, r io.Reader, opts ...objstore.ObjectUploadOption) error {
	b.once.Do(func() { close(b.started) })
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.Bucket.Upload(ctx, name, r, opts...)
}

// TestTierUploadListedAsTask: while a block is written to the bucket,
// DB.Tasks lists the upload (the status page's progress), and not after.
func TestTierUploadListedAsTask(t *testing.T) {
	fs, _ := newFSBucket(t)
	bkt := gatedBucket{Bucket: fs, started: make(chan struct{}), release: make(chan struct{}), once: &sync.Once{}}
	db := openDB(t, t.TempDir(), bkt, prometheus.NewRegistry(), nil)
	defer db.Close()
	appendSeries(t, db.Default(), model{}, 3, 0, 6*blockRange, rand.New(rand.NewSource(2)))
	done := make(chan error, 1)
	go func() { done <- db.Maintain(context.Background()) }()
	select {
	case <-bkt.started:
	case err := <-done:
		t.Fatalf("the round ended (%v) without writing to the bucket", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no upload within 30s")
	}
	var uploads []storage.Task
	for _, task := range db.Tasks() {
		if task.Kind == storage.TaskUpload {
			uploads = append(uploads, task)
		}
	}
	if len(uploads) != 1 || uploads[0].Tenant != storage.DefaultTenant || !strings.Contains(uploads[0].Detail, "Parquet") {
		t.Fatalf("tasks while uploading: %+v", db.Tasks())
	}
	close(bkt.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, task := range db.Tasks() {
		if task.Kind == storage.TaskUpload {
			t.Fatalf("upload still listed after the round: %+v", task)
		}
	}
	if n, ok := db.Default().BucketBytes(); !ok || n <= 0 {
		t.Fatalf("bucket bytes %d, %v after the uploads", n, ok)
	}
}
