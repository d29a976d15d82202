package head

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"

	"mytsdb/storage/wal"
)

// steadyLsets are the series of the chunk file tests: floats of three kinds
// and one native histogram series.
func steadyLsets(n int) []labels.Labels {
	out := make([]labels.Labels, n)
	for i := range out {
		out[i] = labels.FromStrings("__name__", "steady", "i", strconv.Itoa(i))
	}
	return out
}

// appendSteady appends one sample per series at every step in [from, to),
// one commit per step, to every head; series 0 gets histograms.
func appendSteady(t testing.TB, heads []*Head, lsets []labels.Labels, from, to, step int64) {
	t.Helper()
	for ts := from; ts < to; ts += step {
		k := int(ts / step)
		for _, h := range heads {
			app := h.Appender(context.Background())
			for i, l := range lsets {
				var err error
				if i == 0 {
					_, err = app.AppendHistogram(0, l, ts, tsdbutil.GenerateTestHistogram(int64(k%50)), nil)
				} else {
					_, err = app.Append(0, l, ts, nodeValue(i, k))
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

// allSamplesIn returns every sample of the head in [mint, maxt] by series.
func allSamplesIn(t testing.TB, h *Head, mint, maxt int64) map[string][]mSample {
	t.Helper()
	q, err := h.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	out := map[string][]mSample{}
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	for ss.Next() {
		s := ss.At()
		got, err := readIterator(s.Iterator(nil))
		if err != nil {
			t.Fatalf("%s: %v", s.Labels(), err)
		}
		out[s.Labels().String()] = got
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameSamples fails unless got and want hold the same samples bit for bit.
func sameSamples(t testing.TB, what string, got, want map[string][]mSample) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d series, want %d", what, len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Fatalf("%s: %s: %d samples, want %d", what, k, len(g), len(w))
		}
		for i := range w {
			if !sampleEqual(g[i], w[i]) {
				t.Fatalf("%s: %s sample %d: %s, want %s", what, k, i, fmtSamples(g[i:i+1]), fmtSamples(w[i:i+1]))
			}
		}
	}
}

// segmentFiles lists the segment files in dir.
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if _, ok := parseSegmentName(e.Name()); ok {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestChunkFilesAcrossCuts ingests 12 chunk ranges in order into a head
// keeping its chunks on the heap and into one keeping them in chunk files
// (with a WAL), cuts both as the storage cuts them (PrepareCut, FinishCut),
// and checks after every cut that they answer the same, that chunks are
// off the heap, and that the segment files do not grow with the cuts; then
// across a restart (the WAL replay rebuilds the chunk files).
func TestChunkFilesAcrossCuts(t *testing.T) {
	for _, queue := range []int{0, 1000} {
		t.Run(fmt.Sprintf("queue=%d", queue), func(t *testing.T) {
			const (
				chunkRange = int64(60 * 60 * 1000)
				step       = int64(15 * 1000)
			)
			lsets := steadyLsets(40)
			heap, err := New(Options{ChunkRange: chunkRange})
			if err != nil {
				t.Fatal(err)
			}
			defer heap.Close()
			fs, dir := wal.NewMemFS(), t.TempDir()
			open := func() (*Head, *wal.WAL) {
				w, err := wal.Open(wal.Options{Dir: "/wal", FS: fs, SegmentSize: 1 << 20})
				if err != nil {
					t.Fatal(err)
				}
				h, err := New(Options{WAL: w, ChunkRange: chunkRange, ChunkDir: dir, ChunkWriteQueueSize: queue, ChunkSegmentSize: 4 << 10})
				if err != nil {
					t.Fatal(err)
				}
				if err := h.ReplayWAL(); err != nil {
					t.Fatal(err)
				}
				return h, w
			}
			files, w := open()
			maxSegs := 0
			for r := range int64(12) {
				appendSteady(t, []*Head{heap, files}, lsets, r*chunkRange, (r+1)*chunkRange, step)
				cutCompactable(t, heap, files)
				files.WaitRecoded()
				sameSamples(t, fmt.Sprintf("range %d", r), allSamples(t, files), allSamples(t, heap))
				if files.MinTime() != heap.MinTime() {
					t.Fatalf("range %d: min time %d, heap head %d", r, files.MinTime(), heap.MinTime())
				}
				onHeap, onDisk := chunkPlaces(files)
				if onDisk == 0 || onHeap != 0 {
					t.Fatalf("range %d: %d cut chunks on the heap, %d in files", r, onHeap, onDisk)
				}
				n := len(segmentFiles(t, dir))
				if n != files.files.numSegments() {
					t.Fatalf("range %d: %d segment files, the head maps %d", r, n, files.files.numSegments())
				}
				// Bounded: no more than twice what the first four
				// ranges needed (they would grow by ~3 a range).
				if r < 4 {
					maxSegs = max(maxSegs, n)
				} else if n > 2*maxSegs+1 {
					t.Fatalf("range %d: %d segment files, %d at most in the first ranges: they grow with the cuts", r, n, maxSegs)
				}
			}
			if n := testutil.ToFloat64(files.metrics.recode.writeFailures); n != 0 {
				t.Errorf("%v chunk writes failed", n)
			}
			if got := testutil.ToFloat64(files.metrics.recode.syncWrites) > 0; got != (queue == 0) {
				t.Errorf("queue %d: commits wrote their chunks: %v", queue, got)
			}
			want := allSamples(t, heap)
			before := segmentFiles(t, dir)
			if err := files.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			files, w = open()
			defer w.Close()
			defer files.Close()
			sameSamples(t, "after restart", allSamples(t, files), want)
			files.WaitRecoded()
			sameSamples(t, "after restart, chunks written again", allSamples(t, files), want)
			if _, onDisk := chunkPlaces(files); onDisk == 0 {
				t.Fatal("no chunk in files after the restart")
			}
			after := segmentFiles(t, dir)
			if len(after) > len(before)+1 {
				t.Fatalf("segments %v before the restart, %v after", before, after)
			}
			// The replay's segments go as the head moves on.
			for r := int64(12); r < 16; r++ {
				appendSteady(t, []*Head{heap, files}, lsets, r*chunkRange, (r+1)*chunkRange, step)
				cutCompactable(t, heap, files)
				files.WaitRecoded()
				sameSamples(t, fmt.Sprintf("range %d, after the restart", r), allSamples(t, files), allSamples(t, heap))
				if r == 12 {
					// The sweep wrote the oldest chunks first: the
					// first cut deletes its first segments.
					if left := segmentFiles(t, dir); len(after) < 2 || slices.Contains(left, after[0]) {
						t.Fatalf("the replay wrote segments %v, %v left after the next cut", after, left)
					}
				}
			}
			left := segmentFiles(t, dir)
			for _, n := range after {
				if slices.Contains(left, n) {
					t.Fatalf("segment %s of the replay still there 4 ranges later: %v", n, left)
				}
			}
			if len(left) > 2*maxSegs+1 {
				t.Fatalf("%d segment files after the restart, %d at most in the first ranges", len(left), maxSegs)
			}
		})
	}
}

// chunkPlaces counts the head's cut chunks on the heap and in chunk files.
func chunkPlaces(h *Head) (onHeap, onDisk int) {
	h.series.forEach(func(s *memSeries) {
		s.mu.Lock()
		for _, c := range s.mu.sealed {
			if c.onDisk() {
				onDisk++
			} else {
				onHeap++
			}
		}
		s.mu.Unlock()
	})
	return onHeap, onDisk
}

// TestChunkSegmentFormat reads a real segment file as FORMAT.md describes
// it and finds in it, record for record, the head's cut chunks.
func TestChunkSegmentFormat(t *testing.T) {
	dir := t.TempDir()
	h, err := New(Options{ChunkDir: dir, ChunkRange: 20 * 60 * 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	appendSteady(t, []*Head{h}, steadyLsets(10), 0, 3*20*60*1000, 15000)
	h.WaitRecoded()
	names := segmentFiles(t, dir)
	if len(names) != 1 || names[0] != "00000001" {
		t.Fatalf("segment files %v", names)
	}
	b, err := os.ReadFile(filepath.Join(dir, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:8], []byte("MYHC\x01\x00\x00\x00")) {
		t.Fatalf("header % x", b[:8])
	}
	recs, err := scanChunkSegment(b)
	if err != nil {
		t.Fatal(err)
	}
	_, onDisk := chunkPlaces(h)
	if len(recs) != onDisk {
		t.Fatalf("%d records, %d chunks in files", len(recs), onDisk)
	}
	encs := map[byte]int{}
	for _, r := range recs {
		encs[byte(r.enc)]++
		s := h.series.getByID(r.ref)
		if s == nil {
			t.Fatalf("record of unknown series %d", r.ref)
		}
		s.mu.Lock()
		i := slices.IndexFunc(s.mu.sealed, func(c memChunk) bool { return c.minTime == r.mint && c.maxTime == r.maxt })
		var c memChunk
		if i >= 0 {
			c = s.mu.sealed[i]
		}
		s.mu.Unlock()
		if i < 0 || !c.onDisk() {
			t.Fatalf("record %d [%d, %d] is no chunk of %s", r.ref, r.mint, r.maxt, s.lset)
		}
		h.files.mu.RLock()
		chk, err := h.files.readLocked(c.ref)
		h.files.mu.RUnlock()
		if err != nil {
			t.Fatal(err)
		}
		if chk.Encoding() != r.enc || !bytes.Equal(chk.Bytes(), r.data) {
			t.Fatalf("record of %s [%d, %d] differs from the chunk the head reads", s.lset, r.mint, r.maxt)
		}
	}
	// Our float codec for the floats, upstream's histogram encoding.
	if encs[0x20] == 0 || encs[2] == 0 || len(encs) != 2 {
		t.Fatalf("encodings written: %v", encs)
	}
}

// TestChunkFilesTornSegment is a crash (the WAL loses its unsynced bytes,
// the chunk segment is cut inside a record and ends in garbage): the
// scanner stops at the torn record, and the reopened head answers every
// acknowledged sample from the WAL, deletes the torn files and writes its
// chunks anew.
func TestChunkFilesTornSegment(t *testing.T) {
	fs, dir := wal.NewMemFS(), t.TempDir()
	w, err := wal.Open(wal.Options{Dir: "/wal", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{WAL: w, ChunkDir: dir, ChunkRange: 20 * 60 * 1000})
	if err != nil {
		t.Fatal(err)
	}
	lsets := steadyLsets(20)
	appendSteady(t, []*Head{h}, lsets, 0, 2*20*60*1000, 15000)
	h.WaitRecoded()
	want := allSamples(t, h)
	// The files as a SIGKILL leaves them, torn.
	crashDir := t.TempDir()
	names := segmentFiles(t, dir)
	if len(names) == 0 {
		t.Fatal("no segment written")
	}
	var torn []byte
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if n == names[len(names)-1] {
			full, err := scanChunkSegment(b)
			if err != nil || len(full) < 3 {
				t.Fatalf("%d records, %v", len(full), err)
			}
			cut := len(b) - full[len(full)-1].size/2
			b = append(b[:cut:cut], "garbage"...)
			torn = b
		}
		if err := os.WriteFile(filepath.Join(crashDir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := scanChunkSegment(torn)
	if !errors.Is(err, errTornRecord) {
		t.Fatalf("torn segment scanned without error: %v", err)
	}
	crashed := fs.CrashClone()
	_ = h.Close()
	_ = w.Close()

	w, err = wal.Open(wal.Options{Dir: "/wal", FS: crashed})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	h, err = New(Options{WAL: w, ChunkDir: crashDir, ChunkRange: 20 * 60 * 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if left := segmentFiles(t, crashDir); len(left) != 0 {
		t.Fatalf("segments of the crashed run left: %v", left)
	}
	if err := h.ReplayWAL(); err != nil {
		t.Fatal(err)
	}
	sameSamples(t, "after the crash", allSamples(t, h), want)
	h.WaitRecoded()
	sameSamples(t, "after the crash, chunks written again", allSamples(t, h), want)
	if _, onDisk := chunkPlaces(h); onDisk < len(recs) {
		t.Fatalf("%d chunks in files after the crash, %d before the torn record", onDisk, len(recs))
	}
	for _, n := range segmentFiles(t, crashDir) {
		b, err := os.ReadFile(filepath.Join(crashDir, n))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := scanChunkSegment(b); err != nil {
			t.Fatalf("segment %s written after the crash: %v", n, err)
		}
	}
}

// FuzzChunkSegment: the scanner never panics, returns records that encode
// back to the bytes they were read from, and reports any tail it stops at.
func FuzzChunkSegment(f *testing.F) {
	seg := []byte("MYHC\x01\x00\x00\x00")
	seg = appendChunkRecord(seg, 7, 1000, 2000, 0x20, []byte{1, 2, 3, 4})
	seg = appendChunkRecord(seg, 8, 3000, 4000, 1, nil)
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add(append(slices.Clone(seg), 0, 0, 0, 0))
	f.Add([]byte("MYHC\x02\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := scanChunkSegment(b)
		off := chunkSegmentHeaderSize
		for _, r := range recs {
			re := appendChunkRecord(nil, r.ref, r.mint, r.maxt, r.enc, r.data)
			if !bytes.Equal(re, b[off:off+r.size]) {
				t.Fatalf("record at %d does not encode back", off)
			}
			off += r.size
		}
		if err == nil && len(b) >= chunkSegmentHeaderSize && !allZero(b[off:]) {
			t.Fatalf("stopped at %d of %d without error", off, len(b))
		}
	})
}

// allSamples returns every sample of the head by series.
func allSamples(t testing.TB, h *Head) map[string][]mSample {
	return allSamplesIn(t, h, math.MinInt64, math.MaxInt64)
}

// TestChunkFilesConcurrent appends (4 committers, disjoint series), reads
// (2 goroutines) and cuts (PrepareCut, FinishCut: segments deleted) at the
// same time on a head with chunk files, with and without a write queue;
// run with -race. Readers must never fail, and what the head keeps at the
// end is every sample since its min time, bit for bit.
func TestChunkFilesConcurrent(t *testing.T) {
	for _, queue := range []int{0, 8} {
		t.Run(fmt.Sprintf("queue=%d", queue), func(t *testing.T) {
			const (
				series, perSeries = 40, 600
				chunkRange        = int64(40 * 60 * 1000)
			)
			dir := t.TempDir()
			h, err := New(Options{ChunkRange: chunkRange, ChunkDir: dir, ChunkWriteQueueSize: queue, ChunkSegmentSize: 8 << 10})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			lsets := make([]labels.Labels, series)
			for i := range lsets {
				lsets[i] = labels.FromStrings("__name__", "m", "i", strconv.Itoa(i))
			}
			stop := make(chan struct{})
			var bg sync.WaitGroup
			for range 2 {
				bg.Add(1)
				go func() {
					defer bg.Done()
					readIncreasing(t, h, stop)
				}()
			}
			bg.Add(1)
			go func() { // The cutter.
				defer bg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, maxt, ok := h.Compactable(); ok {
						if err := h.PrepareCut(context.Background(), maxt); err != nil {
							t.Error(err)
							return
						}
						if err := h.FinishCut(maxt); err != nil {
							t.Error(err)
							return
						}
					}
					time.Sleep(time.Millisecond)
				}
			}()
			// Four committers per round, in step, so that none makes
			// another's samples out of bounds.
			for k := range perSeries {
				var apps sync.WaitGroup
				for g := range 4 {
					apps.Add(1)
					go func() {
						defer apps.Done()
						app := h.Appender(context.Background())
						for i := g; i < series; i += 4 {
							if _, err := app.Append(0, lsets[i], int64(k)*15000, recodeValue(i, k)); err != nil {
								t.Error(err)
							}
						}
						if err := app.Commit(); err != nil {
							t.Error(err)
						}
					}()
				}
				apps.Wait()
			}
			close(stop)
			bg.Wait()
			h.WaitRecoded()
			if onHeap, _ := chunkPlaces(h); onHeap != 0 || testutil.ToFloat64(h.metrics.recode.written) == 0 {
				t.Fatalf("%d cut chunks on the heap, %v written", onHeap, testutil.ToFloat64(h.metrics.recode.written))
			}
			if n, files := h.files.numSegments(), len(segmentFiles(t, dir)); n != files {
				t.Fatalf("%d segments mapped, %d files", n, files)
			}
			q, _ := h.Querier(math.MinInt64, math.MaxInt64)
			defer q.Close()
			ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m"))
			n := 0
			for ; ss.Next(); n++ {
				i, _ := strconv.Atoi(ss.At().Labels().Get("i"))
				got, err := readIterator(ss.At().Iterator(nil))
				if err != nil {
					t.Fatal(err)
				}
				if len(got) == 0 || got[len(got)-1].t != (perSeries-1)*15000 {
					t.Fatalf("series %d: %d samples, the last missing", i, len(got))
				}
				k0 := int(got[0].t / 15000)
				for j, s := range got {
					k := k0 + j
					if want := recodeValue(i, k); s.t != int64(k)*15000 || math.Float64bits(s.v) != math.Float64bits(want) {
						t.Fatalf("series %d sample %d: (%d, %x), want (%d, %x)", i, j, s.t, math.Float64bits(s.v), int64(k)*15000, math.Float64bits(want))
					}
				}
			}
			if n != series {
				t.Fatalf("%d series, want %d", n, series)
			}
		})
	}
}

// TestChunkFilesOneRecordPerChunk: a commit that cuts several chunks of a
// series (a remote write of many samples per series) writes each once.
func TestChunkFilesOneRecordPerChunk(t *testing.T) {
	for _, queue := range []int{0, 1000} {
		dir := t.TempDir()
		h, err := New(Options{ChunkDir: dir, ChunkWriteQueueSize: queue})
		if err != nil {
			t.Fatal(err)
		}
		app := h.Appender(context.Background())
		for i, l := range steadyLsets(4)[1:] {
			for k := range 600 {
				if _, err := app.Append(0, l, int64(k)*1000, nodeValue(i, k)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
		h.WaitRecoded()
		b, err := os.ReadFile(filepath.Join(dir, "00000001"))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := scanChunkSegment(b)
		if err != nil {
			t.Fatal(err)
		}
		onHeap, onDisk := chunkPlaces(h)
		if onHeap != 0 || onDisk < 12 || len(recs) != onDisk {
			t.Fatalf("queue %d: %d records for %d chunks in files (%d on the heap), want one each, 12 at least", queue, len(recs), onDisk, onHeap)
		}
		_ = h.Close()
	}
}

// cutCompactable cuts, in each head, the range it has ready to cut, if any.
func cutCompactable(t *testing.T, heads ...*Head) {
	t.Helper()
	for _, h := range heads {
		if _, maxt, ok := h.Compactable(); ok {
			if err := h.PrepareCut(context.Background(), maxt); err != nil {
				t.Fatal(err)
			}
			if err := h.FinishCut(maxt); err != nil {
				t.Fatal(err)
			}
		}
	}
}
