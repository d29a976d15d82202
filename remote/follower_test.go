package remote

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/record"

	"mytsdb/storage/wal"
)

// recorder is a queue manager stand-in that keeps what it is handed.
type recorder struct {
	mu      sync.Mutex
	series  map[uint64]string
	samples []string // "labels@t=v", in order
	unknown int      // samples for series never stored
}

func newRecorder() *recorder { return &recorder{series: map[uint64]string{}} }

func (r *recorder) Append(ss []record.RefSample) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range ss {
		l, ok := r.series[uint64(s.Ref)]
		if !ok {
			r.unknown++
			continue
		}
		r.samples = append(r.samples, fmt.Sprintf("%s@%d=%g", l, s.T, s.V))
	}
	return true
}
func (r *recorder) AppendExemplars([]record.RefExemplar) bool                   { return true }
func (r *recorder) AppendHistograms([]record.RefHistogramSample) bool           { return true }
func (r *recorder) AppendFloatHistograms([]record.RefFloatHistogramSample) bool { return true }
func (r *recorder) StoreSeries(ss []record.RefSeries, _ int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range ss {
		r.series[uint64(s.Ref)] = s.Labels.String()
	}
}
func (r *recorder) StoreMetadata([]record.RefMetadata)          {}
func (r *recorder) UpdateSeriesSegment([]record.RefSeries, int) {}
func (r *recorder) SeriesReset(int)                             {}
func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.samples...)
}
func (r *recorder) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.samples) }

// idleCounts are queue metrics of a queue that has sent everything.
func idleCounts() queueCounts {
	q := queueCounts{}
	for name := range watchedMetrics {
		q[name] = prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"})
	}
	return q
}

// logSeries writes n series records and s samples per series to w, series
// refs from base, timestamps from t0; it returns the samples as the recorder
// shows them.
func logData(t testing.TB, w *wal.WAL, base uint64, n, s int, t0 int64) []string {
	t.Helper()
	var series []wal.RefSeries
	for i := range n {
		series = append(series, wal.RefSeries{Ref: wal.SeriesRef(base + uint64(i)), Labels: labels.FromStrings("__name__", "m", "i", fmt.Sprint(base+uint64(i)))})
	}
	if err := w.Log(wal.AppendSeriesRecord(nil, series)); err != nil {
		t.Fatal(err)
	}
	var want []string
	for j := range s {
		var ss []wal.RefSample
		for i := range n {
			ss = append(ss, wal.RefSample{Ref: series[i].Ref, T: t0 + int64(j), V: float64(j) + 0.5})
			want = append(want, fmt.Sprintf("%s@%d=%g", series[i].Labels.String(), t0+int64(j), float64(j)+0.5))
		}
		if err := w.Log(wal.AppendSamplesRecord(nil, ss)); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

func runFollower(t *testing.T, w *wal.WAL, to writeTo, posFile string, start wal.Position, resumed bool, gaps prometheus.Counter) *follower {
	t.Helper()
	f := newFollower(followerOptions{
		Name: "q", WAL: w, To: to, Counts: idleCounts, PosFile: posFile, SentFile: posFile + ".sent", Poll: 5 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler), Gaps: gaps, Resumed: resumed, Start: start, SaveEach: time.Millisecond,
	})
	f.start()
	return f
}

func waitCount(t *testing.T, r *recorder, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for r.count() < n && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	if r.count() != n {
		t.Fatalf("recorder has %d samples, want %d", r.count(), n)
	}
}

func equalLists(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("sample %d: %s, want %s", i, got[i], want[i])
		}
	}
}

// TestFollowerResumes: a follower hands over every sample in WAL order,
// across segments; a new follower from the saved position hands over
// exactly what was logged after it, knowing the series logged before.
func TestFollowerResumes(t *testing.T) {
	w, err := wal.Open(wal.Options{Dir: "/wal", FS: wal.NewMemFS(), SegmentSize: wal.MinSegmentSize})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	posFile := filepath.Join(t.TempDir(), "q.position")
	gaps := prometheus.NewCounter(prometheus.CounterOpts{Name: "gaps"})

	want := logData(t, w, 1, 20, 100, 1000)
	r := newRecorder()
	f := runFollower(t, w, r, posFile, wal.Position{Segment: 1}, false, gaps)
	waitCount(t, r, len(want))
	f.halt()
	f.finish()
	equalLists(t, r.got(), want)

	st, ok, err := readPosition(posFile)
	if err != nil || !ok || st.Safe != w.Written() || st.Handed != st.Safe {
		t.Fatalf("saved %+v (ok %v, err %v), want the written end %+v", st, ok, err, w.Written())
	}
	saved := st.Safe
	if saved.Segment < 3 {
		t.Fatalf("the data spans only %d segments", saved.Segment)
	}

	more := logData(t, w, 1, 20, 10, 5000) // the same series again: no new series record needed
	r2 := newRecorder()
	f2 := runFollower(t, w, r2, posFile, saved, true, gaps)
	waitCount(t, r2, len(more))
	f2.halt()
	f2.finish()
	equalLists(t, r2.got(), more)
	if r2.unknown != 0 || testCounter(gaps) != 0 {
		t.Fatalf("%d samples of unknown series, %v gaps", r2.unknown, testCounter(gaps))
	}
}

// TestFollowerGap: a checkpoint deletes segments a stopped follower had not
// read; on restart it counts a gap, sends the checkpoint's samples the
// receiver does not have, and hands over what comes after.
func TestFollowerGap(t *testing.T) {
	w, err := wal.Open(wal.Options{Dir: "/wal", FS: wal.NewMemFS(), SegmentSize: wal.MinSegmentSize})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	posFile := filepath.Join(t.TempDir(), "q.position")
	gaps := prometheus.NewCounter(prometheus.CounterOpts{Name: "gaps"})
	logData(t, w, 1, 3, 40, 1000)
	series := []wal.RefSeries{{Ref: 1, Labels: labels.FromStrings("__name__", "m", "i", "1")}}
	// The checkpoint keeps series 1 and its samples from 2000 on (those
	// before went to blocks); the receiver has them up to 2001.
	var kept []wal.RefSample
	var want []string
	for j := range 5 {
		kept = append(kept, wal.RefSample{Ref: 1, T: int64(2000 + j), V: float64(j)})
		if j >= 2 {
			want = append(want, fmt.Sprintf("%s@%d=%g", series[0].Labels.String(), 2000+j, float64(j)))
		}
	}
	if err := w.Checkpoint(func(emit func([]byte) error) error {
		if err := emit(wal.AppendSeriesRecord(nil, series)); err != nil {
			return err
		}
		return emit(wal.AppendSamplesRecord(nil, kept))
	}); err != nil {
		t.Fatal(err)
	}
	sent := newSentSet()
	h, _ := seriesHash(nil, series[0].Labels)
	sent.note(h, 2001)
	// Only series 1 lives on; its new samples come after the checkpoint.
	var ss []wal.RefSample
	for j := range 5 {
		ss = append(ss, wal.RefSample{Ref: 1, T: int64(9000 + j), V: float64(j)})
		want = append(want, fmt.Sprintf("%s@%d=%g", series[0].Labels.String(), 9000+j, float64(j)))
	}
	if err := w.Log(wal.AppendSamplesRecord(nil, ss)); err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	f := newFollower(followerOptions{
		Name: "q", WAL: w, To: r, Counts: idleCounts, PosFile: posFile, SentFile: posFile + ".sent", Poll: 5 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler), Gaps: gaps, Resumed: true, Start: wal.Position{Segment: 1, Offset: 100},
		Handed: wal.Position{Segment: 1, Offset: 100}, Sent: sent, SaveEach: time.Millisecond,
	})
	f.start()
	waitCount(t, r, len(want))
	f.halt()
	f.finish()
	equalLists(t, r.got(), want)
	if testCounter(gaps) != 1 {
		t.Fatalf("gaps %v, want 1", testCounter(gaps))
	}
}

func testCounter(c prometheus.Counter) float64 {
	return queueCounts{"c": c}.value("c")
}

// TestFollowerRewindsAfterDrop: when the queue drops data (its failed
// count grows) before it was known sent, the follower reads again from the
// last position known to be sent; a second drop from there is accepted.
func TestFollowerRewindsAfterDrop(t *testing.T) {
	w, err := wal.Open(wal.Options{Dir: "/wal", FS: wal.NewMemFS(), SegmentSize: wal.MinSegmentSize})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	want := logData(t, w, 1, 4, 10, 1000)
	counts := idleCounts()
	pending := counts[samplesPending].(prometheus.Gauge)
	failed := counts[samplesFailed].(prometheus.Gauge)
	pending.Set(1) // nothing is known sent
	r := newRecorder()
	f := newFollower(followerOptions{
		Name: "q", WAL: w, To: r, Counts: func() queueCounts { return counts }, PosFile: filepath.Join(t.TempDir(), "p"), SentFile: filepath.Join(t.TempDir(), "s"),
		Poll: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler), Gaps: prometheus.NewCounter(prometheus.CounterOpts{Name: "g"}),
		Start: wal.Position{Segment: 1}, SaveEach: time.Millisecond,
	})
	f.start()
	waitCount(t, r, len(want))
	failed.Set(1)
	pending.Set(0)
	waitCount(t, r, 2*len(want)) // read again from the start
	failed.Set(2)                // dropped again from the same position: accepted
	time.Sleep(50 * time.Millisecond)
	f.halt()
	f.finish()
	equalLists(t, r.got(), append(append([]string(nil), want...), want...))
}

// TestFollowerSkipsWhatWasSent: read again from a saved position, samples
// the receiver already accepted (the sent set, by labels as sent, external
// labels included) are skipped up to the end of what was handed over; after
// it nothing is skipped.
func TestFollowerSkipsWhatWasSent(t *testing.T) {
	w, err := wal.Open(wal.Options{Dir: "/wal", FS: wal.NewMemFS(), SegmentSize: wal.MinSegmentSize})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	all := logData(t, w, 1, 4, 20, 1000) // samples t=1000..1019 of series 1..4
	handed := w.Written()
	ext := labels.FromStrings("cluster", "c1")
	sent := newSentSet()
	for i := 1; i <= 4; i++ {
		ls := labels.FromStrings("__name__", "m", "cluster", "c1", "i", fmt.Sprint(i))
		h, _ := seriesHash(nil, ls)
		sent.note(h, int64(1009+i)) // series i was sent up to 1009+i
	}
	var want []string
	for _, s := range all {
		var i, ts int
		var v float64
		if _, err := fmt.Sscanf(s, "{__name__=\"m\", i=\"%d\"}@%d=%g", &i, &ts, &v); err != nil {
			t.Fatalf("parse %q: %v", s, err)
		}
		if ts > 1009+i {
			want = append(want, s)
		}
	}
	// A sample after the handed-over end is sent even if older than what
	// was sent (out of order, within the window): nothing is skipped there.
	if err := w.Log(wal.AppendSamplesRecord(nil, []wal.RefSample{{Ref: 1, T: 1005, V: 7}})); err != nil {
		t.Fatal(err)
	}
	want = append(want, `{__name__="m", i="1"}@1005=7`)
	r := newRecorder()
	f := newFollower(followerOptions{
		Name: "q", WAL: w, To: r, Counts: idleCounts, PosFile: filepath.Join(t.TempDir(), "p"), SentFile: filepath.Join(t.TempDir(), "s"),
		Poll: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler), Gaps: prometheus.NewCounter(prometheus.CounterOpts{Name: "g"}),
		Resumed: true, Start: wal.Position{Segment: 1}, Handed: handed, Sent: sent, ExternalLabels: ext, SaveEach: time.Millisecond,
	})
	f.start()
	waitCount(t, r, len(want))
	time.Sleep(20 * time.Millisecond)
	f.halt()
	f.finish()
	equalLists(t, r.got(), want)
}

// TestFollowerNoGapAtCheckpoint: a checkpoint that deletes the segment a
// caught-up follower is in (it had read all of it) is not a gap: nothing
// is skipped, counted or sent twice.
func TestFollowerNoGapAtCheckpoint(t *testing.T) {
	w, err := wal.Open(wal.Options{Dir: "/wal", FS: wal.NewMemFS(), SegmentSize: wal.MinSegmentSize})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	want := logData(t, w, 1, 3, 5, 1000)
	gaps := prometheus.NewCounter(prometheus.CounterOpts{Name: "gaps"})
	r := newRecorder()
	f := newFollower(followerOptions{
		Name: "q", WAL: w, To: r, Counts: idleCounts, PosFile: filepath.Join(t.TempDir(), "p"), SentFile: filepath.Join(t.TempDir(), "s"),
		Poll: time.Hour, Logger: slog.New(slog.DiscardHandler), Gaps: gaps, Start: wal.Position{Segment: 1}, SaveEach: time.Hour,
	})
	// Driven by hand: read everything, then the checkpoint, then read on.
	if _, err := f.step(); err != nil {
		t.Fatal(err)
	}
	series := []wal.RefSeries{{Ref: 1, Labels: labels.FromStrings("__name__", "m", "i", "1")}}
	if err := w.Checkpoint(func(emit func([]byte) error) error {
		if err := emit(wal.AppendSeriesRecord(nil, series)); err != nil {
			return err
		}
		return emit(wal.AppendSamplesRecord(nil, []wal.RefSample{{Ref: 1, T: 1004, V: 4.5}}))
	}); err != nil {
		t.Fatal(err)
	}
	more := logData(t, w, 1, 1, 2, 2000)
	for range 3 {
		if _, err := f.step(); err != nil {
			t.Fatal(err)
		}
	}
	equalLists(t, r.got(), append(want, more...))
	if testCounter(gaps) != 0 {
		t.Fatalf("%v gaps, want none", testCounter(gaps))
	}
}

// liveSeriesCheckpoint writes a checkpoint holding only the series
// records (what a head cut keeps when every sample went to a block).
func liveSeriesCheckpoint(t *testing.T, w *wal.WAL, series []wal.RefSeries) {
	t.Helper()
	if err := w.Checkpoint(func(emit func([]byte) error) error {
		return emit(wal.AppendSeriesRecord(nil, series))
	}); err != nil {
		t.Fatal(err)
	}
}

// TestFollowerKeepsUnreadSegments: a checkpoint taken while a follower
// lags several segments behind deletes none of the segments it has not
// read: it hands over every sample, in order, without a gap. Once it has
// read past them, the next checkpoint deletes them. (Before holds, the
// checkpoint deleted them and the follower counted a gap.)
func TestFollowerKeepsUnreadSegments(t *testing.T) {
	w, err := wal.Open(wal.Options{Dir: "/wal", FS: wal.NewMemFS(), SegmentSize: wal.MinSegmentSize})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	gaps := prometheus.NewCounter(prometheus.CounterOpts{Name: "gaps"})
	r := newRecorder()
	f := newFollower(followerOptions{
		Name: "q", WAL: w, To: r, Counts: idleCounts, PosFile: filepath.Join(t.TempDir(), "p"), SentFile: filepath.Join(t.TempDir(), "s"),
		Poll: time.Hour, Logger: slog.New(slog.DiscardHandler), Gaps: gaps, Start: w.Written(), SaveEach: time.Hour,
	})
	// Several segments' worth, none read yet.
	want := logData(t, w, 1, 50, 400, 1000)
	series := []wal.RefSeries{{Ref: 1, Labels: labels.FromStrings("__name__", "m", "i", "1")}}
	liveSeriesCheckpoint(t, w, series)
	files, err := w.Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files.Covered) < 3 {
		t.Fatalf("covered segments kept %v (checkpoint %d): want the follower's unread ones", files.Covered, files.Checkpoint)
	}
	more := logData(t, w, 1, 1, 3, 5000)
	for range 2 * len(files.Covered) {
		if _, err := f.step(); err != nil {
			t.Fatal(err)
		}
	}
	equalLists(t, r.got(), append(want, more...))
	if testCounter(gaps) != 0 {
		t.Fatalf("%v gaps, want none", testCounter(gaps))
	}
	// The next checkpoint closes the segment the follower is in: kept
	// until it has read its end; the one after deletes it.
	liveSeriesCheckpoint(t, w, series)
	for range 2 {
		if _, err := f.step(); err != nil {
			t.Fatal(err)
		}
	}
	f.checkSent() // saves the position: the hold moves to the segment read
	liveSeriesCheckpoint(t, w, series)
	if files, err = w.Files(); err != nil {
		t.Fatal(err)
	}
	if len(files.Covered) != 0 {
		t.Fatalf("covered segments %v kept after the follower read them", files.Covered)
	}
	f.finish()
}

// TestFollowerResumesInHeldSegment: after a restart (a WAL opened with
// HoldAtOpen) a follower resuming in a segment the newest checkpoint
// covers reads it and everything after, without a gap; ReleaseOpenHold
// then lets the next checkpoint delete what no follower holds.
func TestFollowerResumesInHeldSegment(t *testing.T) {
	fs := wal.NewMemFS()
	w, err := wal.Open(wal.Options{Dir: "/wal", FS: fs, SegmentSize: wal.MinSegmentSize})
	if err != nil {
		t.Fatal(err)
	}
	start := w.Written()
	hold := w.Hold(start.Segment) // the follower of the process that crashes
	want := logData(t, w, 1, 50, 400, 1000)
	series := []wal.RefSeries{{Ref: 1, Labels: labels.FromStrings("__name__", "m", "i", "1")}}
	liveSeriesCheckpoint(t, w, series)
	_ = hold
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = wal.Open(wal.Options{Dir: "/wal", FS: fs, SegmentSize: wal.MinSegmentSize, HoldAtOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if files, err := w.Files(); err != nil || len(files.Covered) == 0 || files.Covered[0] != start.Segment {
		t.Fatalf("after reopening: %+v, %v: want the covered segments from %d kept", files, err, start.Segment)
	}
	gaps := prometheus.NewCounter(prometheus.CounterOpts{Name: "gaps"})
	r := newRecorder()
	posFile := filepath.Join(t.TempDir(), "p")
	f := runFollower(t, w, r, posFile, start, true, gaps)
	w.ReleaseOpenHold()
	waitCount(t, r, len(want))
	f.halt()
	f.finish()
	equalLists(t, r.got(), want)
	if testCounter(gaps) != 0 || r.unknown != 0 {
		t.Fatalf("%v gaps, %d samples of unknown series; want none", testCounter(gaps), r.unknown)
	}
	liveSeriesCheckpoint(t, w, series)
	if files, err := w.Files(); err != nil || len(files.Covered) != 0 {
		t.Fatalf("after the follower finished: %+v, %v: want no covered segment kept", files, err)
	}
}
