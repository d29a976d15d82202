package wal

import (
	"errors"
	"fmt"
	"sync"
)

// ReplayProgress is how far a Replay has got, for /api/v1/status/walreplay
// while the server starts: Min is the checkpoint's number (or the first
// segment's), Max the last segment to read, Current the last file read
// whole. It is safe for concurrent use; the zero value reads as 0, 0, 0.
type ReplayProgress struct {
	mu                sync.Mutex
	min, max, current int
}

// Get returns Min, Max and Current.
func (p *ReplayProgress) Get() (min, max, current int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.min, p.max, p.current
}

func (p *ReplayProgress) start(min, max int) {
	p.mu.Lock()
	p.min, p.max, p.current = min, max, min
	p.mu.Unlock()
}

func (p *ReplayProgress) read(n int) {
	p.mu.Lock()
	p.current = n
	p.mu.Unlock()
}

// ReplayStats says what Replay read and whether it found damage.
type ReplayStats struct {
	Records  int // records passed to fn, checkpoint included
	Segments int // segment files read (the checkpoint is not counted)
	// Corrupted is set when replay stopped at a damaged record (or Open had
	// truncated a damaged tail); CorruptSegment and CorruptOffset say where.
	// Nothing from there on was replayed, and the damage has been truncated.
	CorruptSegment SegmentNum
	CorruptOffset  int64
	Corrupted      bool
}

// Replay calls fn with every record of the newest checkpoint, then of every
// segment after it, in order. It reads the segments that existed when the
// WAL was opened (plus any written since, if it runs before the first Log),
// never the one being written. At the first damaged record it stops, without
// error: the segment is truncated there (and closed), later segments are
// removed, the damage is counted in prometheus_tsdb_wal_corruptions_total,
// logged and reported in ReplayStats. A damaged checkpoint cannot be
// repaired: Replay returns a CorruptionError for it. rec is only valid
// during fn; an error from fn stops Replay and is returned wrapped.
func (w *WAL) Replay(fn func(rec []byte) error) (ReplayStats, error) {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	var stats ReplayStats
	st, err := listDir(w.fs, w.dir)
	if err != nil {
		return stats, err
	}
	w.segMu.Lock()
	limit := w.firstOwn
	w.segMu.Unlock()

	first, last := 0, 0
	if st.hasCkpt {
		first, last = int(st.checkpoint), int(st.checkpoint)
	}
	for i, n := range st.segments {
		if limit != 0 && n >= limit {
			break
		}
		if i == 0 && !st.hasCkpt {
			first = int(n)
		}
		last = int(n)
	}
	w.progress.start(first, last)

	var sc frameScanner
	count := func(rec []byte) error {
		stats.Records++
		return fn(rec)
	}
	if st.hasCkpt {
		if err := w.replayCheckpoint(&sc, st.checkpoint, count); err != nil {
			return stats, err
		}
		w.progress.read(int(st.checkpoint))
	}
	for i, n := range st.segments {
		if limit != 0 && n >= limit {
			break
		}
		res, err := w.replaySegment(&sc, n, count)
		stats.Segments++
		if err != nil {
			return stats, err
		}
		w.progress.read(int(n))
		if res.corrupt || !res.closed {
			at, cause := res.corruptAt, res.corruptErr
			if !res.corrupt {
				at, cause = res.end, errMissingEnd
			}
			cerr := &CorruptionError{Dir: w.dir, Segment: n, Offset: at, Err: cause}
			stats.Corrupted, stats.CorruptSegment, stats.CorruptOffset = true, n, at
			var later []SegmentNum
			for _, m := range st.segments[i+1:] {
				if limit == 0 || m < limit {
					later = append(later, m)
				}
			}
			if err := w.repair(cerr, later); err != nil {
				return stats, err
			}
			w.reported = true
			return stats, nil
		}
	}
	if w.openRepair != nil && !w.reported {
		w.reported = true
		stats.Corrupted = true
		stats.CorruptSegment, stats.CorruptOffset = w.openRepair.Segment, w.openRepair.Offset
	}
	return stats, nil
}

func (w *WAL) replaySegment(sc *frameScanner, n SegmentNum, fn func([]byte) error) (scanResult, error) {
	f, err := w.fs.Open(joinPath(w.dir, SegmentName(n)))
	if err != nil {
		return scanResult{}, fmt.Errorf("wal: replay segment %d: %w", n, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return scanResult{}, fmt.Errorf("wal: replay segment %d: %w", n, err)
	}
	if sf, ok := f.(sequentialFile); ok {
		sf.AdviseSequential()
	}
	res, err := sc.scan(f, size, fn)
	if err != nil {
		return res, fmt.Errorf("wal: replay segment %d: %w", n, err)
	}
	return res, nil
}

func (w *WAL) replayCheckpoint(sc *frameScanner, n SegmentNum, fn func([]byte) error) error {
	name := CheckpointName(n)
	f, err := w.fs.Open(joinPath(w.dir, name))
	if err != nil {
		return fmt.Errorf("wal: replay %s: %w", name, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return fmt.Errorf("wal: replay %s: %w", name, err)
	}
	res, err := sc.scan(f, size, fn)
	if err != nil {
		return fmt.Errorf("wal: replay %s: %w", name, err)
	}
	if res.corrupt || !res.closed {
		at, cause := res.corruptAt, res.corruptErr
		if !res.corrupt {
			at, cause = res.end, errMissingEnd
		}
		w.metrics.corruptions.Inc()
		return &CorruptionError{Dir: w.dir, Segment: n, Offset: at, Checkpoint: true, Err: cause}
	}
	return nil
}

// repair truncates the damaged segment at the damage, closes it with an end
// frame and removes the later segments.
func (w *WAL) repair(cerr *CorruptionError, later []SegmentNum) error {
	w.metrics.corruptions.Inc()
	w.logger.Warn("WAL: corruption found, truncating", "err", cerr, "segments_removed", len(later))
	path := joinPath(w.dir, SegmentName(cerr.Segment))
	f, err := w.fs.OpenRW(path)
	if err != nil {
		return fmt.Errorf("wal: repair segment %d: %w", cerr.Segment, err)
	}
	err = errors.Join(
		f.Truncate(cerr.Offset),
		writeFull(f, endFrame, cerr.Offset),
		f.Sync(),
		f.Close(),
	)
	if err != nil {
		return fmt.Errorf("wal: repair segment %d: %w", cerr.Segment, err)
	}
	for _, m := range later {
		if err := w.fs.Remove(joinPath(w.dir, SegmentName(m))); err != nil {
			return fmt.Errorf("wal: repair: remove segment %d: %w", m, err)
		}
	}
	if err := w.fs.SyncDir(w.dir); err != nil {
		return fmt.Errorf("wal: repair: sync dir: %w", err)
	}
	return nil
}

func writeFull(f File, p []byte, off int64) error {
	_, err := f.WriteAt(p, off)
	return err
}
