package head

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"mytsdb/storage/wal"
)

func benchSeries(n int, prefix string) []labels.Labels {
	out := make([]labels.Labels, n)
	for i := range out {
		out[i] = labels.FromStrings("__name__", "bench_metric", "instance", prefix, "id", fmt.Sprint(i), "job", "bench")
	}
	return out
}

// benchAppend appends batches of 1000 samples (one per series, refs cached
// like the scrape loop does); ns/op and allocs/op are per appended sample.
func benchAppend(b *testing.B, h *Head) {
	lsets := benchSeries(1000, "a")
	refs := make([]storage.SeriesRef, len(lsets))
	ts := int64(0)
	batch := func() {
		app := h.Appender(context.Background())
		for i, l := range lsets {
			ref, err := app.Append(refs[i], l, ts, float64(ts)*1.5)
			if err != nil {
				b.Fatal(err)
			}
			refs[i] = ref
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
		ts += 15000
	}
	for range 3 { // Warm up: create the series, the pooled buffers, the chunks.
		batch()
	}
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for done < b.N {
		app := h.Appender(context.Background())
		for i := 0; i < len(lsets) && done < b.N; i++ {
			ref, err := app.Append(refs[i], lsets[i], ts, float64(ts)*1.5)
			if err != nil {
				b.Fatal(err)
			}
			refs[i] = ref
			done++
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
		ts += 15000
	}
}

// BenchmarkAppend: the head alone (no WAL). Expect 0 allocs/op apart from
// chunk growth (amortised well below one allocation per sample).
func BenchmarkAppend(b *testing.B) {
	h, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchAppend(b, h)
}

// BenchmarkAppendWAL: with a real WAL (SyncInterval policy, so the disk's
// fsync latency does not dominate): one wal.Log per commit of 1000 samples.
func BenchmarkAppendWAL(b *testing.B) {
	w, err := wal.Open(wal.Options{Dir: b.TempDir(), Sync: wal.SyncInterval, SyncInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	h, err := New(Options{WAL: w})
	if err != nil {
		b.Fatal(err)
	}
	benchAppend(b, h)
}

// BenchmarkAppendBatch is the ingest path in commit-sized batches: each
// appender appends 2000 samples of node_exporter-like series (refs cached, as
// the scrape loop and the remote-write handler do) and commits, through a
// real WAL (SyncInterval, so that the disk's fsync latency does not dominate;
// group commit makes SyncAlways cost one fdatasync per batch of commits).
// Parallel runs one appender per GOMAXPROCS goroutine on disjoint series.
// ns/op is wall time per sample across all goroutines.
func BenchmarkAppendBatch(b *testing.B) {
	const batch, perWorker = 2000, 20000
	for _, mode := range []string{"NoWAL", "WAL/Serial", "WAL/Parallel"} {
		b.Run(mode, func(b *testing.B) {
			var w *wal.WAL
			if mode != "NoWAL" {
				var err error
				w, err = wal.Open(wal.Options{Dir: b.TempDir(), Sync: wal.SyncInterval, SyncInterval: time.Second})
				if err != nil {
					b.Fatal(err)
				}
				defer w.Close()
			}
			h, err := New(Options{WAL: w})
			if err != nil {
				b.Fatal(err)
			}
			var clock atomic.Int64 // shared, so that no appender falls out of bounds
			clock.Store(1_700_000_000_000)
			type state struct {
				lsets []labels.Labels
				refs  []storage.SeriesRef
				k     int
			}
			// round appends one sample to every series of st, in batches;
			// next (if set) is asked before each sample.
			round := func(st *state, next func() bool) bool {
				ts := clock.Add(15000)
				for i := 0; i < len(st.lsets); i += batch {
					app := h.Appender(context.Background())
					for j := i; j < i+batch; j++ {
						if next != nil && !next() {
							_ = app.Commit()
							return false
						}
						ref, err := app.Append(st.refs[j], st.lsets[j], ts, nodeValue(j, st.k))
						if err != nil {
							b.Error(err)
							return false
						}
						st.refs[j] = ref
					}
					if err := app.Commit(); err != nil {
						b.Error(err)
						return false
					}
				}
				st.k++
				return true
			}
			workers := 1
			if mode == "WAL/Parallel" {
				workers = runtime.GOMAXPROCS(0)
			}
			states := make([]*state, workers)
			for i := range states {
				lsets := nodeSeries(perWorker, fmt.Sprint("w", i))
				states[i] = &state{lsets: lsets, refs: make([]storage.SeriesRef, len(lsets))}
				for range 3 { // Create the series, warm the pooled buffers.
					round(states[i], nil)
				}
			}
			b.ReportAllocs()
			cpu := startCPU()
			b.ResetTimer()
			if workers > 1 {
				var next atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					st := states[int(next.Add(1)-1)%workers]
					for round(st, pb.Next) {
					}
				})
			} else {
				n := 0
				for round(states[0], func() bool { n++; return n <= b.N }) {
				}
			}
			b.StopTimer()
			cpu.report(b, b.N)
		})
	}
}

// cpuMeter measures the process's CPU time (user+system, every goroutine:
// the WAL's commit goroutine and the GC included), which the shared,
// loaded benchmark machine distorts far less than wall time.
type cpuMeter struct{ start time.Duration }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuMeter { return cpuMeter{cpuTime()} }

// report adds a cpu-ns/sample metric for n samples.
func (c cpuMeter) report(b *testing.B, n int) {
	b.ReportMetric(float64(cpuTime()-c.start)/float64(n), "cpu-ns/sample")
}

// BenchmarkSeriesMemory reports the heap bytes per series of a head holding
// 100k series with one open chunk each, label strings included (the head
// keeps the label sets it is given; they are built inside the measurement
// and only the head keeps them). "bench" is 4 short labels and one sample,
// "node" node_exporter-like label sets (10 labels, ~130 bytes) and 4 samples.
func BenchmarkSeriesMemory(b *testing.B) {
	for _, c := range []struct {
		name    string
		gen     func(int, string) []labels.Labels
		samples int
	}{{"bench", benchSeries, 1}, {"node", nodeSeries, 4}} {
		b.Run(c.name, func(b *testing.B) {
			const n = 100_000
			for range b.N {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				h, err := New(Options{})
				if err != nil {
					b.Fatal(err)
				}
				lsets := c.gen(n, "mem")
				refs := make([]storage.SeriesRef, n)
				for k := range c.samples {
					app := h.Appender(context.Background())
					for i, l := range lsets {
						if refs[i], err = app.Append(refs[i], l, int64(1000+15000*k), nodeValue(i, k)); err != nil {
							b.Fatal(err)
						}
						if i%2000 == 1999 {
							if err := app.Commit(); err != nil {
								b.Fatal(err)
							}
							app = h.Appender(context.Background())
						}
					}
					_ = app.Commit()
				}
				lsets, refs = nil, nil
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/series")
				runtime.KeepAlive(h)
			}
		})
	}
}

// BenchmarkReplay replays a WAL into a new head and reports samples/s.
// "bench" is 10k series of 4 labels × 120 samples written through the head;
// "node" is 100k node_exporter-like series (10 labels) × 100 samples in
// records of 2000 samples, like a scraping head leaves.
func BenchmarkReplay(b *testing.B) {
	b.Run("bench", benchReplaySmall)
	b.Run("node", func(b *testing.B) { benchReplayNode(b, false) })
	b.Run("node-checkpoint", func(b *testing.B) { benchReplayNode(b, true) })
}

// benchReplayNode replays the "node" WAL, or a checkpoint of it (the same
// content, written by the head: samples grouped by series).
func benchReplayNode(b *testing.B, checkpoint bool) {
	{
		rw := buildReplayWAL(b, 100_000, 100, 2000)
		if checkpoint {
			rw = checkpointOf(b, rw)
		}
		b.ReportAllocs()
		cpu := startCPU()
		b.ResetTimer()
		for range b.N {
			w, err := wal.Open(wal.Options{Dir: rw.dir})
			if err != nil {
				b.Fatal(err)
			}
			h, _ := New(Options{WAL: w})
			if err := h.ReplayWAL(); err != nil {
				b.Fatal(err)
			}
			if h.NumSeries() != uint64(rw.series) {
				b.Fatalf("replayed %d series", h.NumSeries())
			}
			_ = w.Close()
		}
		b.StopTimer()
		b.ReportMetric(float64(rw.samples*b.N)/b.Elapsed().Seconds(), "samples/s")
		cpu.report(b, rw.samples*b.N)
	}
}

// checkpointOf copies rw's WAL, replays it and checkpoints it (once per
// process).
func checkpointOf(b *testing.B, rw *replayWAL) *replayWAL {
	key := rw.dir + "/checkpoint"
	if v, ok := replayWALs.Load(key); ok {
		return v.(*replayWAL)
	}
	dir, err := os.MkdirTemp("", "head-replay-bench-")
	if err != nil {
		b.Fatal(err)
	}
	dir = filepath.Join(dir, "wal")
	if out, err := exec.Command("cp", "-a", rw.dir, dir).CombinedOutput(); err != nil {
		b.Fatalf("cp: %v: %s", err, out)
	}
	w, err := wal.Open(wal.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	h, _ := New(Options{WAL: w})
	if err := h.ReplayWAL(); err != nil {
		b.Fatal(err)
	}
	if err := h.Checkpoint(); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	ck := &replayWAL{dir: dir, series: rw.series, samples: rw.samples}
	v, _ := replayWALs.LoadOrStore(key, ck)
	return v.(*replayWAL)
}

func benchReplaySmall(b *testing.B) {
	dir := b.TempDir()
	w, err := wal.Open(wal.Options{Dir: dir, Sync: wal.SyncInterval, SyncInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	h, _ := New(Options{WAL: w})
	lsets := benchSeries(10_000, "replay")
	refs := make([]storage.SeriesRef, len(lsets))
	const perSeries = 120
	for ts := range int64(perSeries) {
		app := h.Appender(context.Background())
		for i, l := range lsets {
			refs[i], err = app.Append(refs[i], l, ts*15000, float64(ts*int64(i%7)))
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	_ = w.Close()
	b.ResetTimer()
	for range b.N {
		w, err := wal.Open(wal.Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		h, _ := New(Options{WAL: w})
		if err := h.ReplayWAL(); err != nil {
			b.Fatal(err)
		}
		if h.NumSeries() != uint64(len(lsets)) {
			b.Fatalf("replayed %d series", h.NumSeries())
		}
		_ = w.Close()
	}
	b.ReportMetric(float64(len(lsets)*perSeries*b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkSeriesMemoryChunks reports the Go heap bytes per series of a head
// holding 10k node_exporter-like series with 600 samples each at 15 s (2.5h:
// four cut chunks and the open one), its cut chunks re-encoded, on the heap
// ("heap") or in chunk files ("files", whose bytes per series it reports too).
func BenchmarkSeriesMemoryChunks(b *testing.B) {
	for _, files := range []bool{false, true} {
		b.Run(chunkPlace(files), func(b *testing.B) {
			for range b.N {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				h := buildChunkHead(b, files)
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/chunkBenchSeries, "heap-B/series")
				if files {
					b.ReportMetric(float64(h.files.Size())/chunkBenchSeries, "file-B/series")
				}
				_ = h.Close()
			}
		})
	}
}

// BenchmarkSelectChunks selects and reads every sample of the head of
// BenchmarkSeriesMemoryChunks: the cost of reading cut chunks from the
// chunk files (a copy out of the mapping) against the heap.
func BenchmarkSelectChunks(b *testing.B) {
	for _, files := range []bool{false, true} {
		b.Run(chunkPlace(files), func(b *testing.B) {
			h := buildChunkHead(b, files)
			defer h.Close()
			m := labels.MustNewMatcher(labels.MatchEqual, "job", "node")
			var it chunkenc.Iterator
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for range b.N {
				q, _ := h.Querier(math.MinInt64, math.MaxInt64)
				ss := q.Select(context.Background(), false, nil, m)
				for ss.Next() {
					it = ss.At().Iterator(it)
					for it.Next() != chunkenc.ValNone {
						n++
					}
				}
				if err := ss.Err(); err != nil {
					b.Fatal(err)
				}
				_ = q.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/sample")
		})
	}
}

const (
	chunkBenchSeries    = 10_000
	chunkBenchPerSeries = 600
)

func chunkPlace(files bool) string {
	if files {
		return "files"
	}
	return "heap"
}

// buildChunkHead appends chunkBenchPerSeries samples at 15 s to each of
// chunkBenchSeries node series and waits until the cut chunks are recoded
// (and written, with files).
func buildChunkHead(b *testing.B, files bool) *Head {
	b.Helper()
	opts := Options{}
	if files {
		opts.ChunkDir = b.TempDir()
	}
	h, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	lsets := nodeSeries(chunkBenchSeries, "mem")
	refs := make([]storage.SeriesRef, chunkBenchSeries)
	for k := range chunkBenchPerSeries {
		app := h.Appender(context.Background())
		for i, l := range lsets {
			if refs[i], err = app.Append(refs[i], l, int64(1000+15000*k), nodeValue(i, k)); err != nil {
				b.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	h.WaitRecoded()
	return h
}
