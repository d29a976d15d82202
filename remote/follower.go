package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/tsdb/record"

	"mytsdb/storage/wal"
)

// writeTo is what a follower feeds: the exported methods of upstream's
// QueueManager that its WAL watcher calls (wlog.WriteTo).
type writeTo interface {
	Append([]record.RefSample) bool
	AppendExemplars([]record.RefExemplar) bool
	AppendHistograms([]record.RefHistogramSample) bool
	AppendFloatHistograms([]record.RefFloatHistogramSample) bool
	StoreSeries([]record.RefSeries, int)
	StoreMetadata([]record.RefMetadata)
	UpdateSeriesSegment([]record.RefSeries, int)
	SeriesReset(int)
}

// errQueueStopped: the queue manager refused data because it is stopping.
var errQueueStopped = errors.New("queue manager stopped")

// errReached stops a read at the position a follower resumes from.
var errReached = errors.New("position reached")

// followerOptions configure a follower.
type followerOptions struct {
	Name    string // the queue's remote_name
	WAL     *wal.WAL
	To      writeTo
	Counts  func() queueCounts // the queue's pending and failed metrics
	PosFile string
	Poll    time.Duration
	Logger  *slog.Logger
	Gaps    prometheus.Counter
	Resumed bool         // Start was read from PosFile
	Start   wal.Position // where sending starts
	// Handed is the end of what a previous run handed over: from Start up
	// to it samples are checked against Sent and skipped if already sent.
	Handed   wal.Position
	Sent     *sentSet
	SentFile string
	// ExternalLabels and Relabel turn a series' labels into those sent
	// (upstream's order: external labels, then write relabelling), to find
	// it in Sent.
	ExternalLabels labels.Labels
	Relabel        []*relabel.Config
	SaveEach       time.Duration
}

// follower reads one WAL for one queue manager. Its goroutine owns every
// field below the channels.
type follower struct {
	o    followerOptions
	stop chan struct{}
	done chan struct{}
	// hold keeps the WAL segments this follower may still read from
	// checkpoints' deletion (see keepFrom); taken in newFollower, released
	// in finish.
	hold *wal.Hold

	tail      *wal.Tail
	pos       wal.Position // next record to read and hand over
	safe      wal.Position // everything before it is sent; saved in PosFile
	savedSafe wal.Position // the Safe last written to PosFile
	saved     time.Time
	sentSaved time.Time
	failed    float64 // the queue's failed count when safe was last checked
	rewound   bool
	rewoundTo wal.Position // where the last re-read after a drop started
	// Samples read again before resendUntil are skipped if Sent has them.
	resending   bool
	resendUntil wal.Position
	sentHash    map[wal.SeriesRef]uint64 // series → hash of its labels as sent
	builder     *labels.Builder
	hashBuf     []byte
	lastGC      wal.SegmentNum
	hasGC       bool
	series      []wal.RefSeries
	metas       []wal.RefMetadata
	floats      []wal.RefSample
	hists       []wal.RefHistogramSample
	fhists      []wal.RefFloatHistogramSample
	exemplars   []wal.RefExemplar
}

func newFollower(o followerOptions) *follower {
	if o.Sent == nil {
		o.Sent = newSentSet()
	}
	return &follower{
		o: o, stop: make(chan struct{}), done: make(chan struct{}), tail: o.WAL.NewTail(), pos: o.Start, safe: o.Start, savedSafe: o.Start,
		hold:      o.WAL.Hold(o.Start.Segment),
		resending: o.Start.Less(o.Handed), resendUntil: o.Handed,
		sentHash: map[wal.SeriesRef]uint64{}, builder: labels.NewBuilder(labels.EmptyLabels()),
	}
}

// keepFrom is the first WAL segment the follower keeps from deletion: the
// one it reads, and the one before it if the saved Safe position lies
// there or earlier (a restart resumes from Safe, and what lies between
// Safe and the read position is what the queue holds or sends). Further
// back it does not keep: under a load that never lets the queue empty Safe
// does not advance (see the package doc), and keeping everything from it
// would keep the whole WAL; the queue holds far less than a segment.
func (f *follower) keepFrom() wal.SegmentNum {
	n := f.savedSafe.Segment
	if f.pos.Segment > 0 && n < f.pos.Segment-1 {
		n = f.pos.Segment - 1
	}
	return min(n, f.pos.Segment)
}

func (f *follower) start() { go f.run() }

// halt stops the follower; the queue manager must be stopped too (or be
// stopping) for a follower blocked in Append to return.
func (f *follower) halt() {
	close(f.stop)
	<-f.done
}

// finish saves the final position once the queue manager has stopped:
// the end of what was handed over if the queue sent (or refused) all of it,
// else the last position known to be sent.
func (f *follower) finish() {
	c := f.o.Counts()
	if c.complete() && c.pending() == 0 && c.failed() == f.failed {
		f.safe = f.pos
	}
	if err := errors.Join(writeSent(f.o.SentFile, f.o.Sent), writePosition(f.o.PosFile, f.state()), f.o.Sent.closeJournal()); err != nil {
		f.o.Logger.Error("Saving the remote write position failed; samples since the last saved one will be sent again", "err", err)
	}
	// A follower of a queue that stays configured is replaced by one of
	// the next process (or reload), which takes its own hold; the WAL
	// keeps covered segments from its Open on (HoldAtOpen) meanwhile.
	f.hold.Release()
}

// state is what the position file keeps.
func (f *follower) state() saved {
	handed := f.pos
	if f.resending && handed.Less(f.resendUntil) {
		handed = f.resendUntil
	}
	return saved{Safe: f.safe, Handed: handed}
}

func (f *follower) stopped() bool {
	select {
	case <-f.stop:
		return true
	default:
		return false
	}
}

func (f *follower) run() {
	defer close(f.done)
	if c := f.o.Counts(); c.complete() {
		f.failed = c.failed()
	}
	t := time.NewTicker(f.o.Poll)
	defer t.Stop()
	for {
		err := f.prime()
		if err == nil {
			break
		}
		if errors.Is(err, errQueueStopped) {
			return
		}
		f.o.Logger.Error("Reading the WAL's series for remote write failed; retrying", "err", err)
		select {
		case <-f.stop:
			return
		case <-time.After(10 * f.o.Poll):
		}
	}
	for {
		// Checked before reading more, a poll after the last hand-over:
		// checked right after it, the queue would hardly ever be empty.
		f.checkSent()
		caughtUp, err := f.step()
		if errors.Is(err, errQueueStopped) {
			return
		}
		if err != nil {
			f.o.Logger.Warn("Reading the WAL for remote write", "err", err)
		}
		if caughtUp || err != nil {
			select {
			case <-f.stop:
				return
			case <-t.C:
			}
		} else if f.stopped() {
			return
		}
	}
}

// prime hands the queue manager the series (and metadata) of everything
// before the start position, without samples, as the watcher replays a WAL:
// the checkpoint, then every segment up to the position.
func (f *follower) prime() error {
	files, err := f.o.WAL.Files()
	if err != nil {
		return err
	}
	if files.HasCheckpoint {
		if err := f.readCheckpoint(files.Checkpoint, false); err != nil {
			return err
		}
	}
	for _, s := range append(files.Covered, files.Segments...) {
		if s > f.pos.Segment {
			break
		}
		limit := int64(-1)
		if s == f.pos.Segment {
			limit = f.pos.Offset
		}
		if err := f.readSeries(s, limit); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if f.o.Resumed && files.HasCheckpoint && f.pos.Segment <= files.Checkpoint && !slices.Contains(files.Covered, f.pos.Segment) {
		return f.gap(files)
	}
	return nil
}

// readSeries stores the series and metadata of segment s before offset
// limit (the whole segment when limit < 0).
func (f *follower) readSeries(s wal.SegmentNum, limit int64) error {
	var off int64 // where the record given to fn starts
	_, _, err := f.tail.ReadSegment(s, 0, func(rec []byte) error {
		if limit >= 0 && off >= limit {
			return errReached
		}
		off = f.tail.RecordEnd()
		return f.handle(rec, s, true, false)
	})
	if errors.Is(err, errReached) {
		return nil
	}
	return err
}

// readCheckpoint stores the series and metadata of checkpoint n; with gc it
// then lets the queue manager forget series the checkpoint no longer has.
func (f *follower) readCheckpoint(n wal.SegmentNum, gc bool) error {
	idx := int(n)
	err := f.o.WAL.NewTail().ReadCheckpoint(n, func(rec []byte) error {
		switch wal.TypeOf(rec) {
		case wal.RecordSeries:
			series, err := wal.DecodeSeriesRecord(rec, f.series[:0])
			if err != nil {
				return fmt.Errorf("checkpoint %d: %w", n, err)
			}
			f.series = series
			rs := toRefSeries(series)
			if gc {
				f.o.To.UpdateSeriesSegment(rs, idx)
			} else {
				f.noteSeries(series)
				f.o.To.StoreSeries(rs, idx)
			}
		case wal.RecordMetadata:
			if !gc {
				return f.handle(rec, n, true, false)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if gc {
		f.o.To.SeriesReset(idx)
	}
	f.lastGC, f.hasGC = n, true
	return nil
}

// step reads from the position to what is written, moving to later
// segments as they close. caughtUp is true when nothing more is written.
func (f *follower) step() (caughtUp bool, err error) {
	for !f.stopped() {
		at := f.pos
		next, closed, err := f.tail.ReadSegment(f.pos.Segment, f.pos.Offset, func(rec []byte) error {
			resend := f.resending && at.Less(f.resendUntil)
			if err := f.handle(rec, at.Segment, false, resend); err != nil {
				return err
			}
			at.Offset = f.tail.RecordEnd()
			return nil
		})
		if f.resending && !(wal.Position{Segment: f.pos.Segment, Offset: next}).Less(f.resendUntil) {
			f.resending = false
		}
		f.pos.Offset = next
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return f.missing()
		case errors.Is(err, wal.ErrCorruption):
			// Our WAL repairs damage when it opens; a follower meeting some
			// cannot read past it in this segment: the rest of it is a gap.
			f.o.Gaps.Inc()
			f.o.Logger.Error("Remote write skips the rest of a damaged WAL segment", "err", err)
			f.pos = wal.Position{Segment: f.pos.Segment + 1}
			continue
		case err != nil:
			return false, err
		case closed:
			f.pos = wal.Position{Segment: f.pos.Segment + 1}
			f.hold.Move(f.keepFrom())
			if err := f.collect(); err != nil {
				return false, err
			}
			continue
		}
		return true, nil
	}
	return true, nil
}

// missing handles a segment that is not there: not written yet, removed by a
// checkpoint (a gap), or skipped by a repair.
func (f *follower) missing() (bool, error) {
	if w := f.o.WAL.Written(); f.pos.Segment >= w.Segment {
		return true, nil // not created yet
	}
	files, err := f.o.WAL.Files()
	if err != nil {
		return false, err
	}
	if files.HasCheckpoint && f.pos.Segment <= files.Checkpoint {
		if end, ok := f.o.WAL.ClosedEnd(f.pos.Segment); ok && f.pos.Offset >= end {
			// Read to its end before the checkpoint deleted it: no gap.
			f.pos = wal.Position{Segment: f.pos.Segment + 1}
			return false, nil
		}
		return false, f.gap(files)
	}
	for _, s := range files.Segments {
		if s > f.pos.Segment {
			f.pos = wal.Position{Segment: s}
			return false, nil
		}
	}
	return true, nil
}

// gap moves past segments a checkpoint deleted before they were read. The
// checkpoint holds the head's samples after its last cut: those the
// receiver does not have yet are sent from it; samples the deleted segments
// held from before the cut (now in blocks) are not.
func (f *follower) gap(files wal.Files) error {
	f.o.Gaps.Inc()
	from := f.pos
	f.pos = wal.Position{Segment: files.Checkpoint + 1}
	for _, s := range files.Segments {
		if s > files.Checkpoint {
			f.pos = wal.Position{Segment: s}
			break
		}
	}
	f.o.Logger.Warn("Remote write fell behind the WAL: segments were checkpointed before they were sent; the samples the checkpoint keeps are sent from it, older ones are skipped",
		"from_segment", from.Segment, "from_offset", from.Offset, "resume_segment", f.pos.Segment)
	err := f.tail.ReadCheckpoint(files.Checkpoint, func(rec []byte) error {
		return f.handle(rec, files.Checkpoint, false, true)
	})
	if errors.Is(err, errQueueStopped) {
		return err
	}
	if err != nil {
		f.o.Logger.Warn("Reading the WAL checkpoint for remote write", "err", err)
	}
	return nil
}

// collect lets the queue manager drop series that a checkpoint older than
// the segment being read no longer holds, as the watcher does.
func (f *follower) collect() error {
	files, err := f.o.WAL.Files()
	if err != nil {
		return err
	}
	if !files.HasCheckpoint || (f.hasGC && files.Checkpoint <= f.lastGC) || files.Checkpoint >= f.pos.Segment {
		return nil
	}
	if err := f.readCheckpoint(files.Checkpoint, true); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// checkSent advances the saved position to where the follower is when the
// queue has nothing pending and dropped nothing since the last check.
func (f *follower) checkSent() {
	c := f.o.Counts()
	if !c.complete() {
		return
	}
	pos := f.pos
	failed := c.failed()
	if failed != f.failed {
		f.failed = failed
		// The queue dropped something handed over since the safe position
		// (a reshard or a stop that outlasted the flush deadline, or a
		// receiver refusing it): read again from there, once; a second drop
		// from the same position is a refusal, accepted as upstream does.
		if !f.rewound || f.rewoundTo != f.safe {
			f.rewound, f.rewoundTo = true, f.safe
			f.o.Logger.Warn("Remote write queue dropped samples; sending again from the last position known to be sent", "segment", f.safe.Segment, "offset", f.safe.Offset)
			if !f.resending || f.resendUntil.Less(f.pos) {
				f.resendUntil = f.pos
			}
			f.resending = true
			f.pos = f.safe
			return
		}
	} else if c.pending() == 0 && f.safe != pos {
		f.safe = pos
	}
	if time.Since(f.saved) < f.o.SaveEach {
		return
	}
	f.saved = time.Now()
	st := f.state()
	// The sent set matters while something handed over is not known sent,
	// and after a restart (see follow); it is as large as the series, so it
	// is saved less often, and its journal (sent_journal.go) carries what
	// was accepted since. It is written before the position that relies
	// on it.
	if (st.Safe != st.Handed || f.o.Sent.journaled()) && time.Since(f.sentSaved) >= 10*f.o.SaveEach {
		f.sentSaved = time.Now()
		if err := writeSent(f.o.SentFile, f.o.Sent); err != nil {
			f.o.Logger.Warn("Saving the remote write sent set", "err", err)
		}
	}
	if err := writePosition(f.o.PosFile, st); err != nil {
		f.o.Logger.Warn("Saving the remote write position", "err", err)
		return
	}
	f.savedSafe = st.Safe
	f.hold.Move(f.keepFrom())
}
