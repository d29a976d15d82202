package head

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"

	"mytsdb/storage/wal"
)

// writeReplayTestWAL logs a WAL like scrapes and remote write leave, and
// then some: series records interleaved with samples, rounds across all
// series, histogram and float histogram series, a series changing type,
// out-of-order samples and duplicates, samples of unknown refs, a series
// logged under two refs, metadata, exemplars, and a checkpoint-like part
// where each record holds many samples of one series.
// It returns the number of samples logged for unknown refs.
func writeReplayTestWAL(t *testing.T, fs *wal.MemFS, seed int64) (unknown int) {
	t.Helper()
	w, err := wal.Open(wal.Options{Dir: "/wal", FS: fs, SegmentSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(seed))
	const nSeries, rounds, perRecord = 600, 120, 150
	lsets := make([]labels.Labels, nSeries+1)
	for i := 1; i <= nSeries; i++ {
		lsets[i] = labels.FromStrings("__name__", "m", "i", fmt.Sprint(i), "g", fmt.Sprint(i%7))
	}
	kind := func(ref, round int) int { // 0 float, 1 histogram, 2 float histogram
		switch {
		case ref%97 == 0:
			return (round / 40) % 3 // Changes type every 40 rounds.
		case ref%50 == 0:
			return 1
		case ref%50 == 25:
			return 2
		}
		return 0
	}
	value := func(ref, round int) float64 {
		switch ref % 4 {
		case 0:
			return float64(round * (ref%13 + 1))
		case 1:
			return float64(rng.Intn(10000)) / 100
		case 2:
			if rng.Intn(50) == 0 {
				return math.Float64frombits(value.StaleNaN)
			}
			return rng.NormFloat64() * 1e3
		}
		return 42
	}
	var buf []byte
	log := func() {
		if err := w.Log(buf); err != nil {
			t.Fatal(err)
		}
	}
	const base = int64(1_700_000_000_000)
	for round := range rounds {
		ts := base + int64(round)*15000
		for lo := 1; lo <= nSeries; lo += perRecord {
			hi := min(lo+perRecord, nSeries+1)
			if round == 0 {
				var rs []wal.RefSeries
				for ref := lo; ref < hi; ref++ {
					rs = append(rs, wal.RefSeries{Ref: wal.SeriesRef(ref), Labels: lsets[ref]})
				}
				if lo == 1 { // The labels of ref 5 under a second ref.
					rs = append(rs, wal.RefSeries{Ref: nSeries + 5, Labels: lsets[5]})
				}
				buf = wal.AppendSeriesRecord(buf[:0], rs)
				log()
			}
			var fs []wal.RefSample
			var hs []wal.RefHistogramSample
			var fhs []wal.RefFloatHistogramSample
			for ref := lo; ref < hi; ref++ {
				st := ts + int64(rng.Intn(100))
				switch kind(ref, round) {
				case 0:
					fs = append(fs, wal.RefSample{Ref: wal.SeriesRef(ref), T: st, V: value(ref, round)})
				case 1:
					hs = append(hs, wal.RefHistogramSample{Ref: wal.SeriesRef(ref), T: st, H: tsdbutil.GenerateTestHistogram(int64(round))})
				case 2:
					fhs = append(fhs, wal.RefFloatHistogramSample{Ref: wal.SeriesRef(ref), T: st, FH: tsdbutil.GenerateTestFloatHistogram(int64(round))})
				}
			}
			if rng.Intn(10) == 0 { // Unknown refs, and the second ref of series 5.
				fs = append(fs, wal.RefSample{Ref: 99999, T: ts, V: 1})
				unknown++
			}
			if round%3 == 0 && lo == 1 && kind(5, round) == 0 {
				fs = append(fs, wal.RefSample{Ref: nSeries + 5, T: ts + 5000, V: 5})
			}
			if round > 10 && rng.Intn(4) == 0 { // Out of order (within 30m), and duplicates.
				ref := lo + rng.Intn(hi-lo)
				if kind(ref, round) == 0 {
					fs = append(fs,
						wal.RefSample{Ref: wal.SeriesRef(ref), T: ts - int64(1+rng.Intn(20))*60000 - 7, V: float64(ref)},
						wal.RefSample{Ref: wal.SeriesRef(ref), T: ts - 1_000, V: 3})
				}
			}
			for _, rec := range [][]byte{
				wal.AppendSamplesRecord(nil, fs),
				wal.AppendHistogramsRecord(nil, hs),
				wal.AppendFloatHistogramsRecord(nil, fhs),
			} {
				if len(fs)+len(hs)+len(fhs) > 0 {
					buf = append(buf[:0], rec...)
					log()
				}
			}
		}
		if round%30 == 7 {
			buf = wal.AppendMetadataRecord(buf[:0], []wal.RefMetadata{{Ref: wal.SeriesRef(1 + round), Unit: "s", Help: fmt.Sprint("help ", round)}})
			log()
			buf = wal.AppendExemplarsRecord(buf[:0], []wal.RefExemplar{{Ref: wal.SeriesRef(2 + round), T: ts, V: 1.5, Labels: labels.FromStrings("trace_id", fmt.Sprint(round))}})
			log()
		}
	}
	// Checkpoint-like: each series' samples together.
	for ref := 1; ref <= nSeries; ref++ {
		if kind(ref, rounds-1) != 0 {
			continue
		}
		var fs []wal.RefSample
		for k := range 40 {
			fs = append(fs, wal.RefSample{Ref: wal.SeriesRef(ref), T: base + int64(rounds+k)*15000, V: float64(k)})
		}
		buf = wal.AppendSamplesRecord(buf[:0], fs)
		log()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return unknown
}

// replaySerially is the reference: every record applied in log order by one
// goroutine, under the series locks.
func replaySerially(t *testing.T, h *Head) {
	t.Helper()
	refs := map[wal.SeriesRef]*memSeries{}
	apply := func(ref wal.SeriesRef, ts int64, v float64, hist *histogram.Histogram, fh *histogram.FloatHistogram) {
		s := refs[ref]
		if s == nil {
			return
		}
		s.mu.Lock()
		ok, _ := h.replayApplyLocked(s, ts, v, hist, fh)
		s.mu.Unlock()
		if ok {
			h.updateMinMax(ts, ts)
		}
	}
	_, err := h.wal.Replay(func(rec []byte) error {
		switch wal.TypeOf(rec) {
		case wal.RecordSeries:
			rs, err := wal.DecodeSeriesRecord(rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range rs {
				s, _ := h.getOrCreateWithRef(x.Ref, x.Labels, h.indexNew)
				refs[x.Ref] = s
			}
		case wal.RecordSamples:
			ss, err := wal.DecodeSamplesRecord(rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range ss {
				apply(x.Ref, x.T, x.V, nil, nil)
			}
		case wal.RecordHistograms:
			ss, err := wal.DecodeHistogramsRecord(rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range ss {
				apply(x.Ref, x.T, 0, x.H, nil)
			}
		case wal.RecordFloatHistograms:
			ss, err := wal.DecodeFloatHistogramsRecord(rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range ss {
				apply(x.Ref, x.T, 0, nil, x.FH)
			}
		case wal.RecordMetadata:
			ms, err := wal.DecodeMetadataRecord(rec, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range ms {
				if s := refs[x.Ref]; s != nil {
					s.mu.meta = &metadata.Metadata{Type: x.Type, Unit: x.Unit, Help: x.Help}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// compareHeads compares the series of two heads chunk by chunk (bytes and
// time ranges: chunk cutting must agree too), with their out-of-order
// samples, metadata and postings.
func compareHeads(t *testing.T, got, want *Head) {
	t.Helper()
	// The recoder runs after a replay: let it finish (and stop racing
	// with the unlocked reads below).
	got.WaitRecoded()
	want.WaitRecoded()
	if got.NumSeries() != want.NumSeries() || got.MinTime() != want.MinTime() || got.MaxTime() != want.MaxTime() {
		t.Fatalf("series %d, time [%d, %d]; want %d, [%d, %d]", got.NumSeries(), got.MinTime(), got.MaxTime(), want.NumSeries(), want.MinTime(), want.MaxTime())
	}
	n := 0
	want.series.forEach(func(ws *memSeries) {
		n++
		gs := got.series.getByID(ws.ref)
		if gs == nil || !labels.Equal(gs.lset, ws.lset) {
			t.Fatalf("series %d %s missing", ws.ref, ws.lset)
		}
		if gs.numChunksLocked() != ws.numChunksLocked() {
			t.Fatalf("series %s: %d chunks, want %d", ws.lset, gs.numChunksLocked(), ws.numChunksLocked())
		}
		for i := range ws.numChunksLocked() {
			gc, wc := gs.chunkRefLocked(i), ws.chunkRefLocked(i)
			if gc.minTime != wc.minTime || gc.maxTime != wc.maxTime {
				t.Fatalf("series %s chunk %d: [%d, %d], want [%d, %d]", ws.lset, i, gc.minTime, gc.maxTime, wc.minTime, wc.maxTime)
			}
			gch, err := gs.chunkLocked(i, got.files)
			if err != nil {
				t.Fatal(err)
			}
			wch, err := ws.chunkLocked(i, want.files)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameChunk(gch, wch); err != nil {
				t.Fatalf("series %s chunk %d differs: %v", ws.lset, i, err)
			}
		}
		if (len(gs.mu.ooo) > 0 || len(ws.mu.ooo) > 0) && !reflect.DeepEqual(gs.mu.ooo, ws.mu.ooo) { // nil or empty alike
			t.Fatalf("series %s: out-of-order samples %v, want %v", ws.lset, gs.mu.ooo, ws.mu.ooo)
		}
		if !reflect.DeepEqual(gs.mu.meta, ws.mu.meta) {
			t.Fatalf("series %s: metadata %v, want %v", ws.lset, gs.mu.meta, ws.mu.meta)
		}
	})
	if n == 0 || uint64(n) != got.NumSeries() {
		t.Fatalf("%d series compared, head has %d", n, got.NumSeries())
	}
	all := []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")}
	if g, w := got.postings.forMatchers(all), want.postings.forMatchers(all); !slices.Equal(g, w) {
		t.Fatalf("postings: %d refs, want %d", len(g), len(w))
	}
	for _, v := range []string{"0", "3", "6"} {
		ms := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "g", v)}
		if g, w := got.postings.forMatchers(ms), want.postings.forMatchers(ms); !slices.Equal(g, w) {
			t.Fatalf("postings g=%s: %v, want %v", v, g, w)
		}
	}
}

// TestReplayMatchesSerialReplay replays a WAL with the batched, sorted
// replay and compares the head with one built by applying every record in
// log order.
func TestReplayMatchesSerialReplay(t *testing.T) {
	for _, window := range []int64{0, 30 * 60 * 1000} {
		for _, workers := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("window=%d/workers=%d", window, workers), func(t *testing.T) {
				fs := wal.NewMemFS()
				unknown := writeReplayTestWAL(t, fs, window+int64(workers))
				open := func(fs *wal.MemFS) (*Head, *wal.WAL) {
					w, err := wal.Open(wal.Options{Dir: "/wal", FS: fs, SegmentSize: 256 << 10})
					if err != nil {
						t.Fatal(err)
					}
					h, err := New(Options{WAL: w, OutOfOrderTimeWindow: window, ReplayWorkers: workers})
					if err != nil {
						t.Fatal(err)
					}
					return h, w
				}
				want, ww := open(fs.CrashClone())
				defer ww.Close()
				replaySerially(t, want)
				got, gw := open(fs)
				defer gw.Close()
				if err := got.ReplayWAL(); err != nil {
					t.Fatal(err)
				}
				compareHeads(t, got, want)
				if n := testutil.ToFloat64(got.metrics.unknownRefs.WithLabelValues("float")); n != float64(unknown) || unknown == 0 {
					t.Fatalf("%v samples of unknown refs counted, want %d", n, unknown)
				}
				var ooo int
				got.series.forEach(func(s *memSeries) { ooo += len(s.mu.ooo) })
				if (window > 0) != (ooo > 0) {
					t.Fatalf("window %d: %d out-of-order samples", window, ooo)
				}
			})
		}
	}
}

// sameChunk compares two chunks: their bytes when they have one encoding
// (XOR from both replays), else their samples bit for bit (one recoded
// into mytsdb's codec, the other not yet).
func sameChunk(got, want chunkenc.Chunk) error {
	if got.Encoding() == want.Encoding() {
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			return fmt.Errorf("bytes differ (encoding %s)", got.Encoding())
		}
		return nil
	}
	gi, wi := got.Iterator(nil), want.Iterator(nil)
	for n := 0; ; n++ {
		gt, wt := gi.Next(), wi.Next()
		if gt != wt {
			return fmt.Errorf("sample %d: %s, want %s", n, gt, wt)
		}
		if gt == chunkenc.ValNone {
			return errors.Join(gi.Err(), wi.Err())
		}
		if gt != chunkenc.ValFloat {
			return fmt.Errorf("sample %d: a %s in chunks of encodings %d and %d", n, gt, got.Encoding(), want.Encoding())
		}
		t1, v1 := gi.At()
		t2, v2 := wi.At()
		if t1 != t2 || math.Float64bits(v1) != math.Float64bits(v2) {
			return fmt.Errorf("sample %d: (%d, %x), want (%d, %x)", n, t1, math.Float64bits(v1), t2, math.Float64bits(v2))
		}
	}
}
