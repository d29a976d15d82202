package head

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"

	"mytsdb/storage/wal"
)

// logBuf collects a head's log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type snapEnv struct {
	t      *testing.T
	fs     *wal.MemFS
	dir    string // the snapshot's directory
	cm     chunkMode
	window int64
}

// open opens the WAL and a head on it with the snapshot option as given,
// calls ReplayWAL (after SetMinValidTime(minValid)) and returns its log.
func (e *snapEnv) open(fs *wal.MemFS, snapshot bool, minValid int64) (*Head, *wal.WAL, *logBuf) {
	e.t.Helper()
	w, err := wal.Open(wal.Options{Dir: "/wal", FS: fs, SegmentSize: 256 << 10})
	if err != nil {
		e.t.Fatal(err)
	}
	lb := &logBuf{}
	opts := Options{WAL: w, OutOfOrderTimeWindow: e.window, ReplayWorkers: 2,
		ChunkDir: e.cm.dir, ChunkWriteQueueSize: e.cm.queue, ChunkSegmentSize: 16 << 10,
		Logger: slog.New(slog.NewTextHandler(lb, nil))}
	if snapshot {
		opts.SnapshotDir, opts.SnapshotOnShutdown = e.dir, true
	} else if fs == e.fs {
		opts.SnapshotDir = e.dir // Option off: a snapshot found is deleted.
	}
	if !snapshot && fs != e.fs {
		opts.ChunkDir = "" // A reference head on a copy of the WAL.
	}
	h, err := New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	if minValid != math.MinInt64 {
		h.SetMinValidTime(minValid)
	}
	if err := h.ReplayWAL(); err != nil {
		e.t.Fatal(err)
	}
	return h, w, lb
}

// shutdown closes as storage.Tenant does: the WAL, the snapshot, the head.
func (e *snapEnv) shutdown(h *Head, w *wal.WAL) {
	e.t.Helper()
	h.WaitRecoded()
	if err := w.Close(); err != nil {
		e.t.Fatal(err)
	}
	if err := h.WriteSnapshot(); err != nil {
		e.t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		e.t.Fatal(err)
	}
}

func snapshotFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), snapshotPrefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

func loaded(lb *logBuf) bool   { return strings.Contains(lb.String(), "chunk snapshot loaded") }
func replayed(lb *logBuf) bool { return strings.Contains(lb.String(), "WAL replay completed") }

// appendMore appends a few rounds to every series of the heads (floats,
// and histograms to the histogram series), so that open chunks continue
// and new ones are cut.
func appendMore(t *testing.T, from int64, rounds int, heads ...*Head) {
	t.Helper()
	for _, h := range heads {
		var lsets []labels.Labels
		var hist []bool
		h.series.forEach(func(s *memSeries) {
			s.mu.Lock()
			if s.mu.hasOpen {
				lsets = append(lsets, s.lset)
				hist = append(hist, s.mu.hist != nil && (s.mu.hist.lastH != nil || s.mu.hist.lastFH != nil))
			}
			s.mu.Unlock()
		})
		for r := range rounds {
			ts := from + int64(r)*15000
			app := h.Appender(context.Background())
			for i, l := range lsets {
				var err error
				if hist[i] {
					_, err = app.AppendHistogram(0, l, ts, tsdbutil.GenerateTestHistogram(int64(10000+r)), nil)
				} else {
					_, err = app.Append(0, l, ts, float64(r*i))
				}
				if err != nil {
					t.Fatalf("append %s at %d: %v", l, ts, err)
				}
			}
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func sameExemplars(t *testing.T, got, want *Head) {
	t.Helper()
	if g, w := got.exemplars.all(), want.exemplars.all(); !reflect.DeepEqual(g, w) || len(w) == 0 {
		t.Fatalf("exemplars: %d, want %d (equal: %v)", len(g), len(w), reflect.DeepEqual(g, w))
	}
}

// TestSnapshotRestoreMatchesReplay: a head restored from its snapshot has
// the chunks (bytes), out-of-order samples, metadata, exemplars and
// postings of one replayed from the same WAL; appends after the restore
// continue its open chunks exactly as the replayed head's, and a second
// restart restores again.
func TestSnapshotRestoreMatchesReplay(t *testing.T) {
	for _, cm := range chunkModes(t) {
		for _, window := range []int64{0, 30 * 60 * 1000} {
			t.Run(fmt.Sprintf("%s/window=%d", cm, window), func(t *testing.T) {
				e := &snapEnv{t: t, fs: wal.NewMemFS(), dir: t.TempDir(), cm: cm, window: window}
				writeReplayTestWAL(t, e.fs, 7+window)
				h, w, lb := e.open(e.fs, true, math.MinInt64)
				if loaded(lb) || !replayed(lb) {
					t.Fatalf("first open: want a WAL replay:\n%s", lb)
				}
				// A delete (tombstones) before the shutdown: the snapshot
				// holds the chunks it rewrote.
				mid := h.MinTime() + (h.MaxTime()-h.MinTime())/2
				if err := h.Delete(context.Background(), mid-600_000, mid+600_000, labels.MustNewMatcher(labels.MatchEqual, "g", "3")); err != nil {
					t.Fatal(err)
				}
				e.shutdown(h, w)
				if n := len(snapshotFiles(t, e.dir)); n != 1 {
					t.Fatalf("%d snapshot files after shutdown", n)
				}
				want, ww, _ := e.open(e.fs.CrashClone(), false, math.MinInt64)
				defer ww.Close()
				defer want.Close()
				got, gw, lb := e.open(e.fs, true, math.MinInt64)
				if !loaded(lb) || replayed(lb) {
					t.Fatalf("want the snapshot loaded and no WAL replay:\n%s", lb)
				}
				if n := len(snapshotFiles(t, e.dir)); n != 0 {
					t.Fatalf("%d snapshot files after the load", n)
				}
				compareHeads(t, got, want)
				sameExemplars(t, got, want)
				sameSamples(t, "restored", allSamples(t, got), allSamples(t, want))

				// Appends continue the open chunks (and cut new ones) as on
				// the replayed head.
				from := want.MaxTime() + 15000
				appendMore(t, from, 200, got, want)
				compareHeads(t, got, want)
				sameSamples(t, "after appends", allSamples(t, got), allSamples(t, want))

				// Second restart.
				e.shutdown(got, gw)
				again, aw, lb := e.open(e.fs, true, math.MinInt64)
				defer aw.Close()
				defer again.Close()
				if !loaded(lb) {
					t.Fatalf("second restart: snapshot not loaded:\n%s", lb)
				}
				compareHeads(t, again, want)
				sameExemplars(t, again, want)
				// And the WAL still holds everything: a replay of it agrees.
				ref, rw, _ := e.open(e.fs.CrashClone(), false, math.MinInt64)
				defer rw.Close()
				defer ref.Close()
				sameSamples(t, "replay after restore", allSamples(t, ref), allSamples(t, again))
			})
		}
	}
}

// TestSnapshotAfterCut: a head cut (and checkpointed) before the shutdown
// restores with the same answers from the cut on as a replay.
func TestSnapshotAfterCut(t *testing.T) {
	for _, cm := range chunkModes(t)[:2] {
		t.Run(cm.String(), func(t *testing.T) {
			e := &snapEnv{t: t, fs: wal.NewMemFS(), dir: t.TempDir(), cm: cm}
			lsets := steadyLsets(50)
			h, w, _ := e.open(e.fs, true, math.MinInt64)
			const step = 15000
			appendSteady(t, []*Head{h}, lsets, step, 3*DefaultChunkRange, step)
			cut := DefaultChunkRange
			if err := h.PrepareCut(context.Background(), cut); err != nil {
				t.Fatal(err)
			}
			if err := h.FinishCut(cut); err != nil {
				t.Fatal(err)
			}
			appendSteady(t, []*Head{h}, lsets, 3*DefaultChunkRange, 3*DefaultChunkRange+50*step, step)
			e.shutdown(h, w)
			want, ww, _ := e.open(e.fs.CrashClone(), false, cut)
			defer ww.Close()
			defer want.Close()
			got, gw, lb := e.open(e.fs, true, cut)
			defer gw.Close()
			defer got.Close()
			if !loaded(lb) || replayed(lb) {
				t.Fatalf("want the snapshot loaded:\n%s", lb)
			}
			sameSamples(t, "after cut", allSamplesIn(t, got, cut, math.MaxInt64), allSamplesIn(t, want, cut, math.MaxInt64))
			appendSteady(t, []*Head{got, want}, lsets, 3*DefaultChunkRange+50*step, 3*DefaultChunkRange+300*step, step)
			sameSamples(t, "appends after cut", allSamplesIn(t, got, cut, math.MaxInt64), allSamplesIn(t, want, cut, math.MaxInt64))
		})
	}
}

// TestSnapshotFallsBack: a WAL that grew after the snapshot, a corrupt
// snapshot and the option turned off all mean a WAL replay, and the
// snapshot is deleted.
func TestSnapshotFallsBack(t *testing.T) {
	for _, c := range []string{"wal-grew", "corrupt", "truncated", "option-off"} {
		t.Run(c, func(t *testing.T) {
			e := &snapEnv{t: t, fs: wal.NewMemFS(), dir: t.TempDir(), cm: chunkMode{}}
			writeReplayTestWAL(t, e.fs, 3)
			h, w, _ := e.open(e.fs, true, math.MinInt64)
			e.shutdown(h, w)
			files := snapshotFiles(t, e.dir)
			if len(files) != 1 {
				t.Fatalf("snapshot files %v", files)
			}
			path := filepath.Join(e.dir, files[0])
			extra := labels.FromStrings("__name__", "after_snapshot")
			switch c {
			case "wal-grew":
				w, err := wal.Open(wal.Options{Dir: "/wal", FS: e.fs, SegmentSize: 256 << 10})
				if err != nil {
					t.Fatal(err)
				}
				hh, err := New(Options{WAL: w}) // No replay: only to log one more sample.
				if err != nil {
					t.Fatal(err)
				}
				hh.lastRef.Store(1 << 20)
				app := hh.Appender(context.Background())
				if _, err := app.Append(0, extra, 1_800_000_000_000, 1); err != nil {
					t.Fatal(err)
				}
				if err := app.Commit(); err != nil {
					t.Fatal(err)
				}
				if err := errors.Join(w.Close(), hh.Close()); err != nil {
					t.Fatal(err)
				}
			case "corrupt", "truncated":
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if c == "corrupt" {
					b[len(b)/2] ^= 0x10
				} else {
					b = b[:len(b)-9]
				}
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, ww, _ := e.open(e.fs.CrashClone(), false, math.MinInt64)
			defer ww.Close()
			defer want.Close()
			got, gw, lb := e.open(e.fs, c != "option-off", math.MinInt64)
			defer gw.Close()
			defer got.Close()
			if loaded(lb) || !replayed(lb) {
				t.Fatalf("want a WAL replay, not the snapshot:\n%s", lb)
			}
			if n := snapshotFiles(t, e.dir); len(n) != 0 {
				t.Fatalf("snapshot files left: %v", n)
			}
			compareHeads(t, got, want)
			if c == "wal-grew" && got.series.getByHash(extra.Hash(), extra) == nil {
				t.Fatal("the sample logged after the snapshot was not replayed")
			}
		})
	}
}

// FuzzDecodeSnapshot: decodeSnapshot never panics, whatever the bytes
// (the checksum is fixed up so that the fuzzer reaches the decoder).
func FuzzDecodeSnapshot(f *testing.F) {
	h, err := New(Options{MaxExemplars: 10})
	if err != nil {
		f.Fatal(err)
	}
	lsets := steadyLsets(3)
	appendSteady(f, []*Head{h}, lsets, 15000, 200*15000, 15000)
	var sb bytes.Buffer
	_, err = h.encodeSnapshot(&sb, walEnd{ckpt: 1, seg: 2, off: 3})
	seed := sb.Bytes()
	if err != nil {
		f.Fatal(err)
	}
	if _, err := decodeSnapshot(seed); err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) >= 12 {
			body := b[:len(b)-4]
			binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(body, castagnoli))
		}
		_, _ = decodeSnapshot(b)
	})
}

// BenchmarkSnapshotRestore opens a head of 20k node-like series with 240
// samples each (two or three chunks per series) by a WAL replay and by
// loading its memory snapshot.
func BenchmarkSnapshotRestore(b *testing.B) {
	rw := buildReplayWAL(b, 20_000, 240, 2000)
	snapDir := b.TempDir()
	{
		w, err := wal.Open(wal.Options{Dir: rw.dir})
		if err != nil {
			b.Fatal(err)
		}
		h, _ := New(Options{WAL: w, SnapshotDir: snapDir, SnapshotOnShutdown: true})
		if err := h.ReplayWAL(); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		if err := h.WriteSnapshot(); err != nil {
			b.Fatal(err)
		}
		_ = h.Close()
	}
	files, _ := filepath.Glob(filepath.Join(snapDir, snapshotPrefix+"*"))
	if len(files) != 1 {
		b.Fatalf("snapshot files %v", files)
	}
	snap, err := os.ReadFile(files[0])
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"replay", "snapshot"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			if mode == "snapshot" {
				b.ReportMetric(float64(len(snap)), "snapshot_bytes")
			}
			for range b.N {
				b.StopTimer()
				if mode == "snapshot" {
					if err := os.WriteFile(files[0], snap, 0o644); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				w, err := wal.Open(wal.Options{Dir: rw.dir})
				if err != nil {
					b.Fatal(err)
				}
				lb := &logBuf{}
				h, _ := New(Options{WAL: w, SnapshotDir: snapDir, SnapshotOnShutdown: mode == "snapshot", Logger: slog.New(slog.NewTextHandler(lb, nil))})
				if err := h.ReplayWAL(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if h.NumSeries() != uint64(rw.series) || loaded(lb) != (mode == "snapshot") {
					b.Fatalf("%d series, log:\n%s", h.NumSeries(), lb)
				}
				_ = w.Close()
				_ = h.Close()
				b.StartTimer()
			}
		})
	}
}
