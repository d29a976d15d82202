package parquettier_test

import (
	"context"
	"fmt"
	"log/slog"
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
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"

	"mytsdb/storage"
)

type fsample struct {
	t int64
	f float64
}

func (s fsample) T() int64                      { return s.t }
func (s fsample) ST() int64                     { return 0 }
func (s fsample) F() float64                    { return s.f }
func (s fsample) H() *histogram.Histogram       { return nil }
func (s fsample) FH() *histogram.FloatHistogram { return nil }
func (s fsample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s fsample) Copy() chunks.Sample           { return s }

// prometheusBlocks writes n Prometheus blocks (the upstream tsdb writer) of
// blockRange each into dir, 6 series with a sample per second, and returns
// their ULIDs, oldest first, and the model of their samples.
func prometheusBlocks(t *testing.T, dir string, n int) ([]ulid.ULID, model) {
	t.Helper()
	rng := rand.New(rand.NewSource(11))
	m := model{}
	var ids []ulid.ULID
	for b := range n {
		var series []promstorage.Series
		for i := range 6 {
			l := labels.FromStrings("__name__", fmt.Sprintf("metric_%d", i%2), "instance", fmt.Sprintf("host-%d", i), "job", "prom")
			var ss []chunks.Sample
			for ts := int64(b) * blockRange; ts < int64(b+1)*blockRange; ts += 1000 {
				v := float64(rng.Intn(1000)) / 4
				ss = append(ss, fsample{ts, v})
				m[l.String()] = append(m[l.String()], point{ts, v})
			}
			series = append(series, promstorage.NewListSeries(l, ss))
		}
		path, err := tsdb.CreateBlock(series, dir, blockRange, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ulid.MustParse(filepath.Base(path)))
	}
	return ids, m
}

// TestConvertPrometheusBlocksStraightToTier (issue 14): mytsdb started
// with the Parquet tier on a Prometheus data directory writes the
// Prometheus blocks that end past the local retention straight to the
// bucket (same ULID, verified against the source, then the source removed)
// and the others into local blocks; every read answers the Prometheus
// samples before, during and after, and after a restart.
func TestConvertPrometheusBlocksStraightToTier(t *testing.T) {
	bkt, _ := newFSBucket(t)
	dir := t.TempDir()
	ids, m := prometheusBlocks(t, dir, 4)
	reg := prometheus.NewRegistry()
	// Blocks end at 10s, 20s, 30s, 40s: with 15s of local retention the
	// first two go to the bucket.
	db := openDB(t, dir, bkt, reg, func(o *storage.Options) { o.TierLocalRetention = 15 * time.Second })
	tn := db.Default()
	deadline := time.Now().Add(60 * time.Second)
	for db.PrometheusDataPending() {
		got, warns := read(t, tn, 0, 4*blockRange)
		if len(warns) > 0 {
			t.Fatalf("during the conversion: %v", warns)
		}
		sameModel(t, "during the conversion", got, m)
		if time.Now().After(deadline) {
			t.Fatal("conversion not done after 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	checkAll(t, "after the conversion", tn, m, 4*blockRange)
	var remote, local []ulid.ULID
	for _, b := range tn.TierBlocks() {
		remote = append(remote, b.ULID)
	}
	for _, b := range tn.Blocks() {
		local = append(local, b.ULID)
	}
	if !slices.Equal(remote, ids[:2]) || !slices.Equal(local, ids[2:]) {
		t.Fatalf("only in the bucket %v, local %v; want %v and %v", remote, local, ids[:2], ids[2:])
	}
	if n := testutil.ToFloat64(counter(t, reg, "mytsdb_prometheus_history_converted_total")); n != 4 {
		t.Fatalf("mytsdb_prometheus_history_converted_total = %v, want 4", n)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, err := ulid.ParseStrict(e.Name()); err == nil || strings.Contains(e.Name(), ".tmp") {
			t.Errorf("%s left in the data directory after the conversion", e.Name())
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir, bkt, nil, func(o *storage.Options) { o.TierLocalRetention = 15 * time.Second })
	defer db.Close()
	if db.PrometheusDataPending() {
		t.Fatal("Prometheus data found again after the conversion")
	}
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkAll(t, "after a restart and a round", db.Default(), m, 4*blockRange)
}

// TestTierHistogramChunksAsLocal: native histogram chunks read back from
// bucket-only blocks (the tenant's chunk querier: remote read), and from a
// snapshot that wrote those blocks locally, are byte for byte those of the
// same appends kept in local blocks by a storage without the tier (chunk
// boundaries and counter-reset headers included).
func TestTierHistogramChunksAsLocal(t *testing.T) {
	appendHists := func(tn *storage.Tenant) {
		t.Helper()
		for ts := int64(0); ts < 5*blockRange; ts += 1000 {
			app := tn.Appender(context.Background())
			for i, name := range []string{"h_a", "h_b"} {
				v := ts / 1000
				if i == 1 && ts >= 2*blockRange+5000 {
					v -= 25 // a counter reset inside a block
				}
				h := tsdbutil.GenerateTestHistogram(v)
				if _, err := app.AppendHistogram(0, labels.FromStrings("__name__", name), ts, h, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	chunksOf := func(q promstorage.ChunkQueryable, mint, maxt int64) map[string][]string {
		t.Helper()
		cq, err := q.ChunkQuerier(mint, maxt)
		if err != nil {
			t.Fatal(err)
		}
		defer cq.Close()
		out := map[string][]string{}
		set := cq.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", "h_.+"))
		for set.Next() {
			it := set.At().Iterator(nil)
			for it.Next() {
				c := it.At()
				out[set.At().Labels().String()] = append(out[set.At().Labels().String()], fmt.Sprintf("[%d,%d] %x", c.MinTime, c.MaxTime, c.Chunk.Bytes()))
			}
		}
		if set.Err() != nil || len(set.Warnings()) > 0 {
			t.Fatal(set.Err(), set.Warnings())
		}
		return out
	}
	same := func(what string, got, want map[string][]string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d series, want %d", what, len(got), len(want))
		}
		for k, w := range want {
			if !slices.Equal(got[k], w) {
				t.Fatalf("%s: %s:\n got %.300v\nwant %.300v", what, k, got[k], w)
			}
		}
	}
	plain, err := storage.Open(storage.Options{Dir: t.TempDir(), ChunkRange: blockRange, MaxBlockDuration: blockRange, MaintenanceInterval: time.Hour, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	appendHists(plain.Default())
	if err := plain.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	bkt, _ := newFSBucket(t)
	dir := t.TempDir()
	db := openDB(t, dir, bkt, nil, nil)
	defer db.Close()
	appendHists(db.Default())
	if err := db.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	tb := db.Default().TierBlocks()
	if len(tb) < 3 {
		t.Fatalf("%d blocks only in the tier", len(tb))
	}
	end := tb[len(tb)-1].MaxTime - 1
	want := chunksOf(plain.Default(), 0, end)
	if len(want["{__name__=\"h_b\"}"]) < 4 {
		t.Fatalf("the local data has too few chunks to compare: %v", want)
	}
	same("from the bucket", chunksOf(db.Default(), 0, end), want)
	if err := db.Snapshot(context.Background(), "s", false); err != nil {
		t.Fatal(err)
	}
	snap, err := storage.Open(storage.Options{Dir: filepath.Join(dir, "snapshots", "s"), ChunkRange: blockRange, MaxBlockDuration: blockRange,
		MaintenanceInterval: time.Hour, Registerer: prometheus.NewRegistry(), NoLockfile: true})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	same("from the snapshot", chunksOf(snap.Default(), 0, end), want)
}
