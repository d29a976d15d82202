package head

import (
	"context"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"

	"mytsdb/storage/wal"
)

// The reference model: per series a sorted list of in-order samples and a
// map of out-of-order samples, and Prometheus's append rules written plainly.

type mSample struct {
	t  int64
	v  float64
	h  *histogram.Histogram
	fh *histogram.FloatHistogram
}

type mSeries struct {
	lset    labels.Labels
	inorder []mSample
	ooo     map[int64]mSample
}

type model struct {
	chunkRange   int64
	window       int64
	series       map[string]*mSeries
	minT, maxT   int64
	minValidTime int64
}

func newModel(window, chunkRange int64) *model {
	return &model{chunkRange: chunkRange, window: window, series: map[string]*mSeries{},
		minT: math.MaxInt64, maxT: math.MinInt64, minValidTime: math.MinInt64}
}

type mApp struct {
	m                  *model
	init               bool
	minValid, headMaxt int64
	pending            []mPending
	lastInOrder        map[*mSeries]int
}

type mPending struct {
	s *mSeries
	mSample
}

func (m *model) appender() *mApp {
	a := &mApp{m: m, lastInOrder: map[*mSeries]int{}}
	if m.maxT != math.MinInt64 {
		a.snapshot()
	}
	return a
}

func (a *mApp) snapshot() {
	mv := a.m.minValidTime
	if a.m.maxT != math.MinInt64 {
		mv = max(mv, a.m.maxT-a.m.chunkRange/2)
	}
	a.minValid, a.headMaxt, a.init = mv, a.m.maxT, true
}

func typOf(s mSample) chunkenc.ValueType {
	switch {
	case s.h != nil:
		return chunkenc.ValHistogram
	case s.fh != nil:
		return chunkenc.ValFloatHistogram
	}
	return chunkenc.ValFloat
}

// check returns (ooo, dup, err) for p against s's committed state, or the
// pending state of this appender when batch.
func (a *mApp) check(s *mSeries, p mSample, batch bool) (bool, bool, error) {
	var last *mSample
	if n := len(s.inorder); n > 0 {
		last = &s.inorder[n-1]
	}
	if batch {
		if i, ok := a.lastInOrder[s]; ok {
			last = &a.pending[i].mSample
		}
	}
	if p.t >= a.minValid {
		if last == nil || p.t > last.t {
			return false, false, nil
		}
		if p.t == last.t {
			switch {
			case p.h != nil:
				if !p.h.Equals(last.h) {
					return false, false, storage.ErrDuplicateSampleForTimestamp
				}
			case p.fh != nil:
				if !p.fh.Equals(last.fh) {
					return false, false, storage.ErrDuplicateSampleForTimestamp
				}
			default:
				if last.h != nil || last.fh != nil || math.Float64bits(last.v) != math.Float64bits(p.v) {
					return false, false, storage.ErrDuplicateSampleForTimestamp
				}
			}
			return false, true, nil
		}
	}
	if a.m.window > 0 && p.t >= a.headMaxt-a.m.window {
		return true, false, nil
	}
	if a.m.window > 0 {
		return true, false, storage.ErrTooOldSample
	}
	if p.t < a.minValid {
		return false, false, storage.ErrOutOfBounds
	}
	return false, false, storage.ErrOutOfOrderSample
}

func (a *mApp) append(lset labels.Labels, p mSample) error {
	if !a.init {
		if a.m.minT == math.MaxInt64 {
			a.m.minT = p.t
			if a.m.maxT == math.MinInt64 {
				a.m.maxT = p.t
			}
		}
		a.snapshot()
	}
	if a.m.window == 0 && p.t < a.minValid {
		return storage.ErrOutOfBounds
	}
	key := lset.String()
	s := a.m.series[key]
	if s == nil {
		s = &mSeries{lset: lset, ooo: map[int64]mSample{}}
		a.m.series[key] = s
	}
	if p.h == nil && p.fh == nil && value.IsStaleNaN(p.v) {
		var last *mSample
		if n := len(s.inorder); n > 0 {
			last = &s.inorder[n-1]
		}
		if i, ok := a.lastInOrder[s]; ok {
			last = &a.pending[i].mSample
		}
		if last != nil && last.h != nil {
			p.h = &histogram.Histogram{Sum: p.v}
		} else if last != nil && last.fh != nil {
			p.fh = &histogram.FloatHistogram{Sum: p.v}
		}
	}
	ooo, dup, err := a.check(s, p, true)
	if err != nil || dup {
		return err
	}
	if !ooo {
		a.lastInOrder[s] = len(a.pending)
	}
	a.pending = append(a.pending, mPending{s, p})
	return nil
}

func (a *mApp) commit() {
	for _, p := range a.pending {
		ooo, dup, err := a.check(p.s, p.mSample, false)
		switch {
		case err != nil || dup:
		case ooo:
			if _, ok := p.s.ooo[p.t]; ok {
				continue
			}
			p.s.ooo[p.t] = p.mSample
		default:
			p.s.inorder = append(p.s.inorder, p.mSample)
		}
		a.m.minT, a.m.maxT = min(a.m.minT, p.t), max(a.m.maxT, p.t)
	}
}

// samples returns the visible samples of s in [mint, maxt]: in-order ones
// win over out-of-order ones on equal timestamps.
func (s *mSeries) samples(mint, maxt int64) []mSample {
	var out []mSample
	seen := map[int64]bool{}
	for _, x := range s.inorder {
		if x.t >= mint && x.t <= maxt {
			out = append(out, x)
			seen[x.t] = true
		}
	}
	for t, x := range s.ooo {
		if t >= mint && t <= maxt && !seen[t] {
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b mSample) int { return int(a.t - b.t) })
	return out
}

func (m *model) truncate(mint int64) {
	m.minValidTime = max(m.minValidTime, mint)
	for _, s := range m.series {
		s.inorder = slices.DeleteFunc(s.inorder, func(x mSample) bool { return x.t < mint })
		for t := range s.ooo {
			if t < mint {
				delete(s.ooo, t)
			}
		}
	}
}

// restart is what a process restart does to the model's head-wide state.
func (m *model) restart() {
	m.minValidTime = math.MinInt64
	m.minT, m.maxT = math.MaxInt64, math.MinInt64
	for _, s := range m.series {
		for _, x := range s.samples(math.MinInt64, math.MaxInt64) {
			m.minT, m.maxT = min(m.minT, x.t), max(m.maxT, x.t)
		}
	}
}

// normH turns any histogram into a comparable float histogram.
func normH(h *histogram.Histogram, fh *histogram.FloatHistogram) *histogram.FloatHistogram {
	var f *histogram.FloatHistogram
	if h != nil {
		f = h.ToFloat(nil)
	} else {
		f = fh.Copy()
	}
	f.CounterResetHint = histogram.UnknownCounterReset
	return f.Compact(0)
}

func sampleEqual(a, b mSample) bool {
	if a.t != b.t || typOf(a) != typOf(b) {
		return false
	}
	if typOf(a) == chunkenc.ValFloat {
		return math.Float64bits(a.v) == math.Float64bits(b.v)
	}
	return normH(a.h, a.fh).Equals(normH(b.h, b.fh))
}

func fmtSamples(ss []mSample) string {
	out := ""
	for _, s := range ss {
		switch typOf(s) {
		case chunkenc.ValFloat:
			out += fmt.Sprintf(" %d:%v", s.t, s.v)
		default:
			out += fmt.Sprintf(" %d:%s", s.t, normH(s.h, s.fh))
		}
	}
	return out
}

func readIterator(it chunkenc.Iterator) ([]mSample, error) {
	var out []mSample
	for typ := it.Next(); typ != chunkenc.ValNone; typ = it.Next() {
		switch typ {
		case chunkenc.ValFloat:
			t, v := it.At()
			out = append(out, mSample{t: t, v: v})
		case chunkenc.ValHistogram:
			t, h := it.AtHistogram(nil)
			out = append(out, mSample{t: t, h: h})
		case chunkenc.ValFloatHistogram:
			t, fh := it.AtFloatHistogram(nil)
			out = append(out, mSample{t: t, fh: fh})
		}
	}
	return out, it.Err()
}

// --- the random workload ---

type workload struct {
	rng    *rand.Rand
	lsets  []labels.Labels
	now    int64
	window int64
}

func newWorkload(seed int64, window int64) *workload {
	w := &workload{rng: rand.New(rand.NewSource(seed)), now: 1_000_000_000, window: window}
	for i := range 24 {
		b := labels.NewScratchBuilder(3)
		b.Add("__name__", fmt.Sprintf("m%d", i%3))
		if i%4 != 0 {
			b.Add("a", []string{"x", "y", "xy", "zz"}[i%4])
		}
		b.Add("b", fmt.Sprint(i/3))
		b.Sort()
		w.lsets = append(w.lsets, b.Labels())
	}
	return w
}

func (w *workload) sample(last *mSample) mSample {
	r := w.rng
	var t int64
	switch x := r.Intn(100); {
	case x < 55:
		w.now += 5000 * int64(r.Intn(4))
		t = w.now
	case x < 65 && last != nil:
		t = last.t
	case x < 85: // Timestamps on a 5s grid, so out-of-order duplicates happen.
		t = w.now - 5000*r.Int63n(max(w.window, 1)*3/2/5000+1)
	default:
		t = w.now - 5000*r.Int63n(3*DefaultChunkRange/5000)
	}
	var s mSample
	s.t = t
	switch x := r.Intn(100); {
	case x < 8:
		s.h = tsdbutil.GenerateTestHistogram(int64(r.Intn(5)))
	case x < 14:
		s.fh = tsdbutil.GenerateTestFloatHistogram(int64(r.Intn(5)))
	case x < 18:
		s.v = math.Float64frombits(value.StaleNaN)
	case x < 20:
		s.v = math.NaN()
	case x < 40 && last != nil && last.t == t:
		s = *last // identical duplicate
	case x < 60:
		s.v = float64(r.Intn(4))
	default:
		s.v = r.NormFloat64() * 1e3
	}
	return s
}

func (w *workload) matchers() []*labels.Matcher {
	r := w.rng
	var ms []*labels.Matcher
	for range 1 + r.Intn(3) {
		var m *labels.Matcher
		switch r.Intn(9) {
		case 0:
			m = labels.MustNewMatcher(labels.MatchEqual, "__name__", fmt.Sprintf("m%d", r.Intn(4)))
		case 1:
			m = labels.MustNewMatcher(labels.MatchNotEqual, "a", "x")
		case 2:
			m = labels.MustNewMatcher(labels.MatchRegexp, "a", "x|zz|nope")
		case 3:
			m = labels.MustNewMatcher(labels.MatchRegexp, "a", "x.*")
		case 4:
			m = labels.MustNewMatcher(labels.MatchNotRegexp, "b", "1|2|3")
		case 5:
			m = labels.MustNewMatcher(labels.MatchEqual, "a", "")
		case 6:
			m = labels.MustNewMatcher(labels.MatchNotEqual, "a", "")
		case 7:
			m = labels.MustNewMatcher(labels.MatchRegexp, "b", ".*")
		case 8:
			m = labels.MustNewMatcher(labels.MatchRegexp, "a", ".+")
		}
		ms = append(ms, m)
	}
	return ms
}

func matchAll(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// compareSelect runs one Select (and ChunkQuerier Select) and compares it to the model.
func compareSelect(t *testing.T, h *Head, m *model, ms []*labels.Matcher, mint, maxt int64) {
	t.Helper()
	type res struct {
		lset labels.Labels
		ss   []mSample
	}
	var want []res
	for _, s := range m.series {
		if !matchAll(s.lset, ms) {
			continue
		}
		if ss := s.samples(mint, maxt); len(ss) > 0 {
			want = append(want, res{s.lset, ss})
		}
	}
	slices.SortFunc(want, func(a, b res) int { return labels.Compare(a.lset, b.lset) })

	q, err := h.Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	set := q.Select(context.Background(), true, nil, ms...)
	var got []res
	for set.Next() {
		ss, err := readIterator(set.At().Iterator(nil))
		if err != nil {
			t.Fatal(err)
		}
		// Like Prometheus, a series whose chunk overlaps the range is
		// returned even when none of its samples falls in it.
		if len(ss) > 0 {
			got = append(got, res{set.At().Labels(), ss})
		}
	}
	if set.Err() != nil {
		t.Fatal(set.Err())
	}
	if len(got) != len(want) {
		t.Fatalf("Select %v [%d,%d]: got %d series, want %d", ms, mint, maxt, len(got), len(want))
	}
	for i := range want {
		if !labels.Equal(got[i].lset, want[i].lset) {
			t.Fatalf("Select %v: series %d is %s, want %s", ms, i, got[i].lset, want[i].lset)
		}
		if len(got[i].ss) != len(want[i].ss) || !slices.EqualFunc(got[i].ss, want[i].ss, sampleEqual) {
			t.Fatalf("Select %v [%d,%d] %s:\n got %s\nwant %s", ms, mint, maxt, want[i].lset, fmtSamples(got[i].ss), fmtSamples(want[i].ss))
		}
	}

	// The chunk querier returns whole chunks; trimmed they must agree.
	cq, err := h.ChunkQuerier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	cset := cq.Select(context.Background(), true, nil, ms...)
	i := 0
	for cset.Next() {
		var ss []mSample
		cit := cset.At().Iterator(nil)
		for cit.Next() {
			all, err := readIterator(cit.At().Chunk.Iterator(nil))
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range all {
				if x.t >= mint && x.t <= maxt {
					ss = append(ss, x)
				}
			}
		}
		if len(ss) == 0 {
			continue
		}
		if i >= len(want) || !labels.Equal(cset.At().Labels(), want[i].lset) || !slices.EqualFunc(ss, want[i].ss, sampleEqual) {
			t.Fatalf("ChunkQuerier %v [%d,%d] series %d differs:\n got %s\nwant %v", ms, mint, maxt, i, fmtSamples(ss), want)
		}
		i++
	}
	if i != len(want) {
		t.Fatalf("ChunkQuerier %v: %d series, want %d", ms, i, len(want))
	}
}

func compareLabels(t *testing.T, h *Head, m *model) {
	t.Helper()
	q, _ := h.Querier(math.MinInt64, math.MaxInt64)
	names := map[string]bool{}
	vals := map[string]bool{}
	for _, s := range m.series {
		s.lset.Range(func(l labels.Label) {
			names[l.Name] = true
			if l.Name == "a" {
				vals[l.Value] = true
			}
		})
	}
	gotNames, _, _ := q.LabelNames(context.Background(), nil)
	gotVals, _, _ := q.LabelValues(context.Background(), "a", nil)
	wantNames := slices.Sorted(func(yield func(string) bool) {
		for n := range names {
			if !yield(n) {
				return
			}
		}
	})
	wantVals := slices.Sorted(func(yield func(string) bool) {
		for n := range vals {
			if !yield(n) {
				return
			}
		}
	})
	if len(m.series) > 0 && (!slices.Equal(gotNames, wantNames) || !slices.Equal(gotVals, wantVals)) {
		t.Fatalf("labels: names %v want %v; values of a %v want %v", gotNames, wantNames, gotVals, wantVals)
	}
}

func openTestHead(t *testing.T, fs *wal.MemFS, window int64) (*Head, *wal.WAL) {
	t.Helper()
	return openTestHeadChunks(t, fs, window, chunkMode{})
}

// chunkMode is where a test head keeps its cut chunks: on the heap (dir
// ""), or in chunk files in dir, written through a queue of queue series.
type chunkMode struct {
	dir   string
	queue int
}

func (c chunkMode) String() string {
	if c.dir == "" {
		return "heap"
	}
	return fmt.Sprintf("files-queue=%d", c.queue)
}

// chunkModes are the modes every model test runs in.
func chunkModes(t *testing.T) []chunkMode {
	return []chunkMode{{}, {dir: t.TempDir()}, {dir: t.TempDir(), queue: 4}}
}

func openTestHeadChunks(t *testing.T, fs *wal.MemFS, window int64, cm chunkMode) (*Head, *wal.WAL) {
	t.Helper()
	w, err := wal.Open(wal.Options{Dir: "/wal", FS: fs, SegmentSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	// Small segments, so that the tests rotate and delete them.
	h, err := New(Options{WAL: w, OutOfOrderTimeWindow: window, ReplayWorkers: 3,
		ChunkDir: cm.dir, ChunkWriteQueueSize: cm.queue, ChunkSegmentSize: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.ReplayWAL(); err != nil {
		t.Fatal(err)
	}
	return h, w
}

// TestHeadAgainstModel appends random batches (in order, out of order within
// and beyond the window, duplicates, stale markers, histograms) to the head
// and to the model, compares every Append error, then random Selects, and
// across crashes (unsynced bytes dropped), checkpoints and truncations; with
// the cut chunks on the heap and in chunk files (written by the commit
// itself, or through a queue).
func TestHeadAgainstModel(t *testing.T) {
	for _, cm := range chunkModes(t) {
		for _, window := range []int64{0, 30 * 60 * 1000} {
			for seed := int64(1); seed <= 3; seed++ {
				t.Run(fmt.Sprintf("%s/window=%d/seed=%d", cm, window, seed), func(t *testing.T) {
					testHeadAgainstModel(t, seed, window, cm)
				})
			}
		}
	}
}

func testHeadAgainstModel(t *testing.T, seed, window int64, cm chunkMode) {
	fs := wal.NewMemFS()
	openTestHead := func(t *testing.T, fs *wal.MemFS, window int64) (*Head, *wal.WAL) {
		return openTestHeadChunks(t, fs, window, cm)
	}
	h, w := openTestHead(t, fs, window)
	m := newModel(window, DefaultChunkRange)
	wl := newWorkload(seed, window)
	truncated := false
	qmin := int64(math.MinInt64) // queries start here: the head keeps partially truncated chunks
	for round := range 400 {
		app := h.Appender(context.Background())
		ma := m.appender()
		for range 1 + wl.rng.Intn(25) {
			lset := wl.lsets[wl.rng.Intn(len(wl.lsets))]
			var last *mSample
			if s := m.series[lset.String()]; s != nil && len(s.inorder) > 0 {
				last = &s.inorder[len(s.inorder)-1]
			}
			x := wl.sample(last)
			wantErr := ma.append(lset, x)
			var err error
			if x.h != nil || x.fh != nil {
				_, err = app.AppendHistogram(0, lset, x.t, x.h, x.fh)
			} else {
				_, err = app.Append(0, lset, x.t, x.v)
			}
			if (err == nil) != (wantErr == nil) || (err != nil && !errors.Is(err, wantErr)) {
				t.Fatalf("round %d: append %s t=%d: got error %v, want %v", round, lset, x.t, err, wantErr)
			}
		}
		if wl.rng.Intn(10) == 0 {
			if err := app.Rollback(); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
			ma.commit()
		}
		if h.MaxTime() != m.maxT {
			t.Fatalf("round %d: MaxTime %d, want %d", round, h.MaxTime(), m.maxT)
		}
		if round%10 == 0 {
			for range 5 {
				mint := wl.now - wl.rng.Int63n(4*DefaultChunkRange)
				maxt := mint + wl.rng.Int63n(3*DefaultChunkRange)
				mint = max(mint, qmin)
				compareSelect(t, h, m, wl.matchers(), mint, maxt)
			}
			compareSelect(t, h, m, nil, qmin, math.MaxInt64)
			if !truncated {
				compareLabels(t, h, m)
			}
		}
		switch round {
		case 100, 300: // Crash: drop unsynced bytes, reopen, replay.
			crashed := fs.CrashClone()
			_ = h.Close()
			_ = w.Close()
			fs = crashed
			h, w = openTestHead(t, fs, window)
			m.restart()
			compareSelect(t, h, m, nil, qmin, math.MaxInt64)
		case 200: // Retention and a checkpoint.
			mint := wl.now - DefaultChunkRange
			if err := h.Truncate(mint); err != nil {
				t.Fatal(err)
			}
			if err := h.Checkpoint(); err != nil {
				t.Fatal(err)
			}
			m.truncate(mint)
			truncated, qmin = true, mint
			compareSelect(t, h, m, nil, mint, math.MaxInt64)
			if h.files != nil {
				written := testutil.ToFloat64(h.metrics.recode.written)
				if written == 0 || h.files.numSegments() < 2 {
					t.Fatalf("%v chunks written to %d chunk segments", written, h.files.numSegments())
				}
			}
		}
	}
	// A clean close and reopen keeps everything too.
	_ = h.Close()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	h, w = openTestHead(t, fs, window)
	defer w.Close()
	m.restart()
	compareSelect(t, h, m, nil, qmin, math.MaxInt64)
}
