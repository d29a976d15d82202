package head

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

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

// BenchmarkAppendParallel: concurrent appenders on disjoint series with a
// WAL (group commit); ns/op per sample across all goroutines.
func BenchmarkAppendParallel(b *testing.B) {
	w, err := wal.Open(wal.Options{Dir: b.TempDir(), Sync: wal.SyncInterval, SyncInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	h, err := New(Options{WAL: w})
	if err != nil {
		b.Fatal(err)
	}
	var worker atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		lsets := benchSeries(500, fmt.Sprint("w", worker.Add(1)))
		refs := make([]storage.SeriesRef, len(lsets))
		ts := int64(0)
		app := h.Appender(context.Background())
		i := 0
		for pb.Next() {
			ref, err := app.Append(refs[i], lsets[i], ts, 1)
			if err != nil {
				b.Error(err)
				return
			}
			refs[i] = ref
			if i++; i == len(lsets) {
				if err := app.Commit(); err != nil {
					b.Error(err)
					return
				}
				app = h.Appender(context.Background())
				i = 0
				ts += 15000
			}
		}
		_ = app.Commit()
	})
}

// BenchmarkSeriesMemory reports the heap bytes per series after creating
// 100k series with 4 labels and one sample each (labels, index, chunk).
func BenchmarkSeriesMemory(b *testing.B) {
	const n = 100_000
	lsets := benchSeries(n, "mem")
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		h, err := New(Options{})
		if err != nil {
			b.Fatal(err)
		}
		app := h.Appender(context.Background())
		for i, l := range lsets {
			if _, err := app.Append(0, l, 1000, float64(i)); err != nil {
				b.Fatal(err)
			}
			if i%1000 == 999 {
				if err := app.Commit(); err != nil {
					b.Fatal(err)
				}
				app = h.Appender(context.Background())
			}
		}
		_ = app.Commit()
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/series")
		runtime.KeepAlive(h)
	}
}

// BenchmarkReplay replays a WAL of 10k series × 120 samples into a new head;
// it reports samples/s.
func BenchmarkReplay(b *testing.B) {
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
