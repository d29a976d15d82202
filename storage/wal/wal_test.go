package wal

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fsKinds are the filesystems every basic test runs on.
var fsKinds = []struct {
	name string
	new  func(t *testing.T) (FS, string)
}{
	{"os", func(t *testing.T) (FS, string) { return OSFS{}, t.TempDir() }},
	{"mem", func(t *testing.T) (FS, string) { return NewMemFS(), "/wal" }},
}

func TestLogReplay(t *testing.T) {
	const segSize = 8 << 10
	for _, fk := range fsKinds {
		for _, policy := range []SyncPolicy{SyncAlways, SyncInterval} {
			for _, comp := range compressions {
				t.Run(fk.name+"/"+string(policy)+"/"+comp, func(t *testing.T) {
					fs, dir := fk.new(t)
					o := Options{Dir: dir, FS: fs, SegmentSize: segSize, Sync: policy, SyncInterval: 5 * time.Millisecond, Compression: comp}
					w := openWAL(t, o)
					var want [][]byte
					sizes := []int{0, 1, 100, 1000, segSize - frameHeaderSize - 1, segSize, 3000, 7}
					for i := range 200 {
						r := testRecord(i, sizes[i%len(sizes)])
						want = append(want, r)
						if err := w.Log(r); err != nil {
							t.Fatal(err)
						}
					}
					// Several records in one call, in order.
					batch := [][]byte{testRecord(1000, 10), testRecord(1001, 5000), testRecord(1002, 20)}
					if err := w.Log(batch...); err != nil {
						t.Fatal(err)
					}
					want = append(want, batch...)
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					w = openWAL(t, o)
					got, st := replayAll(t, w)
					if err := sameRecords(got, want); err != nil {
						t.Fatal(err)
					}
					if st.Corrupted {
						t.Fatalf("unexpected corruption: %+v", st)
					}
					names, _ := fs.List(dir)
					// Compressed, the test records fill fewer segments.
					if minSegs := map[string]int{CompressionNone: 10}[comp]; st.Segments != len(names) || st.Segments < max(minSegs, 2) {
						t.Fatalf("replayed %d segments; dir holds %v", st.Segments, names)
					}
					for i, name := range names {
						if name != SegmentName(SegmentNum(i+1)) {
							t.Fatalf("file %d is %q", i, name)
						}
					}
				})
			}
		}
	}
}

// compressions are the Options.Compression values tests run with.
var compressions = []string{CompressionNone, CompressionSnappy, CompressionZstd}

func TestRecordTooLarge(t *testing.T) {
	w := openWAL(t, Options{Dir: "/w", FS: NewMemFS(), SegmentSize: MinSegmentSize})
	if err := w.Log(make([]byte, MinSegmentSize+1)); err == nil {
		t.Fatal("a record larger than a segment was accepted")
	}
	if err := w.Log([]byte("ok")); err != nil {
		t.Fatalf("the WAL is unusable after a rejected record: %v", err)
	}
}

func TestConcurrentLog(t *testing.T) {
	for _, policy := range []SyncPolicy{SyncAlways, SyncInterval} {
		t.Run(string(policy), func(t *testing.T) {
			dir := t.TempDir()
			o := Options{Dir: dir, SegmentSize: 64 << 10, Sync: policy}
			w := openWAL(t, o)
			const writers, each = 8, 300
			var wg sync.WaitGroup
			for g := range writers {
				wg.Go(func() {
					for i := range each {
						if err := w.Log(fmt.Appendf(nil, "%d:%d:%s", g, i, strings.Repeat("x", i%200))); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			w = openWAL(t, o)
			got, _ := replayAll(t, w)
			if len(got) != writers*each {
				t.Fatalf("%d records, want %d", len(got), writers*each)
			}
			next := make([]int, writers)
			for _, r := range got {
				var g, i int
				if _, err := fmt.Sscanf(string(r), "%d:%d:", &g, &i); err != nil {
					t.Fatal(err)
				}
				if i != next[g] {
					t.Fatalf("writer %d: record %d after %d", g, i, next[g]-1)
				}
				next[g]++
			}
		})
	}
}

func TestClosed(t *testing.T) {
	w, err := Open(Options{Dir: "/w", FS: NewMemFS()})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Log([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Log after Close: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if err := w.Checkpoint(func(func([]byte) error) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Checkpoint after Close: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	err := Options{SegmentSize: 10, Sync: "never", Writer: "mmap", SyncInterval: -1}.Validate()
	if err == nil {
		t.Fatal("invalid options accepted")
	}
	for _, want := range []string{"Dir", "SegmentSize", "Sync ", "Writer", "SyncInterval"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if err := (Options{Dir: "x"}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestWriteErrorIsSticky(t *testing.T) {
	fs := NewMemFS()
	reg := prometheus.NewRegistry()
	w := openWAL(t, Options{Dir: "/w", FS: fs, Registerer: reg})
	if err := w.Log([]byte("before")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	fs.InjectError(func(op, _ string) error {
		if op == "sync" {
			return boom
		}
		return nil
	})
	if err := w.Log([]byte("during")); !errors.Is(err, boom) {
		t.Fatalf("Log = %v, want %v", err, boom)
	}
	fs.InjectError(nil)
	if err := w.Log([]byte("after")); !errors.Is(err, boom) {
		t.Fatalf("Log after a failure = %v, want the sticky error", err)
	}
	if n := testutil.ToFloat64(w.metrics.writesFailed); n < 1 {
		t.Fatalf("prometheus_tsdb_wal_writes_failed_total = %v", n)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	fs := NewMemFS()
	// Two tenants on one registry, each with its own label.
	a := openWAL(t, Options{Dir: "/a", FS: fs, Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"tenant": "a"}, reg)})
	b := openWAL(t, Options{Dir: "/b", FS: fs, Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"tenant": "b"}, reg)})
	if _, err := Open(Options{Dir: "/c", FS: fs, Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"tenant": "a"}, reg)}); err == nil {
		t.Fatal("a duplicate registration was accepted")
	}
	for _, w := range []*WAL{a, b} {
		if err := w.Log([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Checkpoint(func(emit func([]byte) error) error { return emit([]byte("x")) }); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"prometheus_tsdb_wal_fsync_duration_seconds", "prometheus_tsdb_wal_page_flushes_total",
		"prometheus_tsdb_wal_segment_current", "prometheus_tsdb_wal_writes_failed_total",
		"prometheus_tsdb_wal_truncations_total", "prometheus_tsdb_wal_corruptions_total",
		"prometheus_tsdb_checkpoint_creations_total",
	} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != 2 {
			t.Errorf("%s: %d series (want one per tenant), err %v", name, n, err)
		}
	}
	const want = `
# HELP prometheus_tsdb_checkpoint_creations_total Total number of checkpoint creations attempted.
# TYPE prometheus_tsdb_checkpoint_creations_total counter
prometheus_tsdb_checkpoint_creations_total{tenant="a"} 1
prometheus_tsdb_checkpoint_creations_total{tenant="b"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "prometheus_tsdb_checkpoint_creations_total"); err != nil {
		t.Fatal(err)
	}
	// Close unregisters: the same tenant can open again.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	openWAL(t, Options{Dir: "/a", FS: fs, Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"tenant": "a"}, reg)})
}

func TestPreallocatedSegment(t *testing.T) {
	dir := t.TempDir()
	w := openWAL(t, Options{Dir: dir, SegmentSize: 1 << 20})
	if err := w.Log([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	f, err := OSFS{}.Open(joinPath(dir, SegmentName(1)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if size, _ := f.Size(); size != 1<<20 {
		t.Fatalf("segment size %d, want it preallocated to %d", size, 1<<20)
	}
}

// TestReplayBeforeAndAfterLog: Replay reads what existed at Open (and what was
// logged, if no segment of this process exists yet), never a segment being
// written.
func TestReplayBeforeAndAfterLog(t *testing.T) {
	fs := NewMemFS()
	o := Options{Dir: "/w", FS: fs}
	w := openWAL(t, o)
	if err := w.Log([]byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = openWAL(t, o)
	if err := w.Log([]byte("new")); err != nil {
		t.Fatal(err)
	}
	got, _ := replayAll(t, w)
	if err := sameRecords(got, [][]byte{[]byte("old")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = openWAL(t, o)
	got, _ = replayAll(t, w)
	if err := sameRecords(got, [][]byte{[]byte("old"), []byte("new")}); err != nil {
		t.Fatal(err)
	}
}

func TestSyncIntervalSyncs(t *testing.T) {
	fs := NewMemFS()
	w := openWAL(t, Options{Dir: "/w", FS: fs, Sync: SyncInterval, SyncInterval: 10 * time.Millisecond})
	if err := w.Log([]byte("a")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		w2 := openWAL(t, Options{Dir: "/w", FS: fs.CrashClone()})
		got, _ := replayAll(t, w2)
		if len(got) == 1 && bytes.Equal(got[0], []byte("a")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the interval fsync never made the record durable")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Sync forces it at once.
	if err := w.Log([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	got, _ := replayAll(t, openWAL(t, Options{Dir: "/w", FS: fs.CrashClone()}))
	if err := sameRecords(got, [][]byte{[]byte("a"), []byte("b")}); err != nil {
		t.Fatal(err)
	}
}

// TestLogAllocationFree: in steady state a Log, the commit goroutine's work
// included, allocates nothing.
func TestLogAllocationFree(t *testing.T) {
	for _, kind := range []string{WriterPwrite, WriterIOUring} {
		for _, comp := range compressions {
			w := openWAL(t, Options{Dir: t.TempDir(), Sync: SyncInterval, SyncInterval: time.Hour, Writer: kind, Compression: comp})
			rec := testRecord(1, 300)
			for range 100 { // grow the buffers
				mustLog(t, w, rec, rec)
			}
			if a := testing.AllocsPerRun(200, func() { mustLog(t, w, rec) }); a != 0 {
				t.Errorf("%s/%s: Log allocates %v times per call", kind, comp, a)
			}
		}
	}
}
