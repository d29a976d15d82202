package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"
)

// WAL is a write-ahead log: a directory of segment files and at most one
// checkpoint. See the package doc and FORMAT.md.
type WAL struct {
	// Immutable after Open.
	opts    Options
	fs      FS
	dir     string
	logger  *slog.Logger
	metrics *metrics
	writer  fileWriter
	// frameKind is what records are framed as: frameRecord, or a
	// compressed kind (Options.Compression).
	frameKind byte
	progress  *ReplayProgress

	kick chan struct{} // wakes the commit goroutine; capacity 1
	done chan struct{} // closed when the commit goroutine exits

	// opMu serialises Replay, Checkpoint and Close.
	opMu sync.Mutex

	// mu guards the commit queue shared by Log callers and the commit
	// goroutine; cond is signalled whenever written, synced or err change.
	mu struct {
		sync.Mutex
		cond    sync.Cond
		buf     []byte // frames queued and not yet taken by the commit goroutine
		spare   []byte // the other buffer, reused
		queued  uint64 // bytes ever queued
		written uint64 // bytes ever handed to write(2)
		synced  uint64 // bytes ever made durable
		syncReq bool   // a Sync call waits for an fdatasync
		err     error  // sticky: the first write error fails the WAL
		closing bool
	}

	// seg is the segment being written, owned by whoever holds segMu (the
	// commit goroutine, or Checkpoint/Replay for a moment).
	segMu sync.Mutex
	seg   struct {
		f     File
		num   SegmentNum
		off   int64
		open  bool
		dirty bool // written since the last fdatasync
	}
	next     SegmentNum // number of the next segment to create (segMu)
	firstOwn SegmentNum // first segment created by this process, 0 if none (segMu)
	// closedEnd is where the segments this process closed end (their data,
	// before the end frame), the newest few, so that a Tail can tell a
	// segment it had read to the end from one a checkpoint deleted before
	// it was read (segMu).
	closedEnd  map[SegmentNum]int64
	openRepair *CorruptionError
	reported   bool // openRepair was reported by a Replay (opMu)

	holds holds // segments kept from checkpoints' deletion (hold.go)
}

// Open opens the WAL in opts.Dir, creating the directory if needed. It
// removes what a crash may leave behind (temporary checkpoints, files already
// covered by the newest checkpoint) and repairs the last segment: a torn or
// corrupt tail is truncated and counted, never an error. Segments written by
// this WAL start after every existing one.
func Open(opts Options) (*WAL, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	w := &WAL{
		opts:      o,
		fs:        o.FS,
		dir:       o.Dir,
		logger:    o.Logger,
		frameKind: frameKindFor(o.Compression),
		progress:  o.Progress,
		kick:      make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	w.mu.cond.L = &w.mu.Mutex
	w.holds.open = o.HoldAtOpen
	if err := w.fs.MkdirAll(w.dir); err != nil {
		return nil, fmt.Errorf("wal: create dir: %w", err)
	}
	// Make the directory's own entry durable (it may just have been created).
	if err := w.fs.SyncDir(filepath.Dir(filepath.Clean(w.dir))); err != nil {
		return nil, fmt.Errorf("wal: sync parent of %s: %w", w.dir, err)
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	w.metrics = m
	if err := w.recoverDir(); err != nil {
		m.unregister()
		return nil, err
	}
	fw, err := newFileWriter(o.Writer, w.fs)
	if err != nil {
		m.unregister()
		return nil, err
	}
	w.writer = fw
	w.logger.Debug("WAL opened", "dir", w.dir, "writer", fw.name(), "sync", o.Sync, "next_segment", w.next)
	go w.run()
	return w, nil
}

// Size returns the bytes of data the WAL holds on disk: every file of its
// directory, except that the segment being written counts what has been
// written into it, not its preallocated size (Prometheus's WAL size, for
// size retention).
func (w *WAL) Size() (int64, error) {
	w.segMu.Lock()
	cur, curOff, open := w.seg.num, w.seg.off, w.seg.open
	w.segMu.Unlock()
	names, err := w.fs.List(w.dir)
	if err != nil {
		return 0, fmt.Errorf("wal: size: %w", err)
	}
	var n int64
	for _, name := range names {
		if num, ok := parseSegmentName(name); ok && open && num == cur {
			n += curOff
			continue
		}
		f, err := w.fs.Open(joinPath(w.dir, name))
		if err != nil {
			continue // Deleted by a checkpoint meanwhile.
		}
		sz, err := f.Size()
		f.Close()
		if err == nil {
			n += sz
		}
	}
	return n, nil
}

// WriterName returns the writer in use: "io_uring" or "pwrite".
func (w *WAL) WriterName() string { return w.writer.name() }

// Dir returns the WAL's directory.
func (w *WAL) Dir() string { return w.dir }

// recoverDir cleans up after a crash and closes the last segment.
func (w *WAL) recoverDir() error {
	st, err := listDir(w.fs, w.dir)
	if err != nil {
		return err
	}
	if len(st.stale) > 0 {
		for _, name := range st.stale {
			if _, seg := parseSegmentName(name); seg && w.holds.open {
				continue // covered, but kept for a follower (HoldAtOpen)
			}
			if err := w.fs.Remove(joinPath(w.dir, name)); err != nil {
				return fmt.Errorf("wal: remove stale %s: %w", name, err)
			}
		}
		if err := w.fs.SyncDir(w.dir); err != nil {
			return fmt.Errorf("wal: sync dir: %w", err)
		}
	}
	w.next = 1
	if st.hasCkpt {
		w.next = st.checkpoint + 1
	}
	if n := len(st.segments); n > 0 {
		last := st.segments[n-1]
		w.next = last + 1
		if err := w.closeTail(last); err != nil {
			return err
		}
	}
	return nil
}

// closeTail repairs segment n, the last one, and makes sure it ends with an
// end frame, so that every segment but the one being written is closed.
func (w *WAL) closeTail(n SegmentNum) error {
	path := joinPath(w.dir, SegmentName(n))
	f, err := w.fs.OpenRW(path)
	if err != nil {
		return fmt.Errorf("wal: open segment %d: %w", n, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return fmt.Errorf("wal: stat segment %d: %w", n, err)
	}
	var sc frameScanner
	res, err := sc.scan(f, size, nil)
	if err != nil {
		return fmt.Errorf("wal: read segment %d: %w", n, err)
	}
	if res.closed {
		return nil
	}
	if res.corrupt {
		cerr := &CorruptionError{Dir: w.dir, Segment: n, Offset: res.corruptAt, Err: res.corruptErr}
		w.openRepair = cerr
		w.metrics.corruptions.Inc()
		w.logger.Warn("WAL: truncating corrupt segment tail", "err", cerr, "records_kept", res.records)
	}
	if err := f.Truncate(res.end); err != nil {
		return fmt.Errorf("wal: truncate segment %d: %w", n, err)
	}
	if _, err := f.WriteAt(endFrame, res.end); err != nil {
		return fmt.Errorf("wal: close segment %d: %w", n, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("wal: sync segment %d: %w", n, err)
	}
	return nil
}

// Close flushes and syncs everything logged, closes the current segment with
// an end frame and stops the WAL. Log calls after Close return ErrClosed.
func (w *WAL) Close() error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	w.mu.Lock()
	if w.mu.closing {
		w.mu.Unlock()
		return ErrClosed
	}
	w.mu.closing = true
	w.mu.Unlock()
	w.wake()
	<-w.done

	w.segMu.Lock()
	err := w.closeSegmentLocked()
	w.segMu.Unlock()
	if werr := w.writer.close(); err == nil {
		err = werr
	}
	w.mu.Lock()
	if err == nil && w.mu.err != nil {
		err = w.mu.err
	}
	w.mu.Unlock()
	w.metrics.unregister()
	if err != nil && !errors.Is(err, ErrClosed) {
		return fmt.Errorf("wal: close: %w", err)
	}
	return nil
}

// openSegmentLocked creates and preallocates the next segment.
func (w *WAL) openSegmentLocked() error {
	n := w.next
	path := joinPath(w.dir, SegmentName(n))
	f, err := w.fs.Create(path)
	if err != nil {
		return fmt.Errorf("wal: create segment %d: %w", n, err)
	}
	if err := f.Preallocate(w.opts.SegmentSize); err != nil {
		f.Close()
		return fmt.Errorf("wal: preallocate segment %d: %w", n, err)
	}
	// The directory entry must be durable before any record in the file is
	// acknowledged.
	if err := w.fs.SyncDir(w.dir); err != nil {
		f.Close()
		return fmt.Errorf("wal: sync dir for segment %d: %w", n, err)
	}
	w.next++
	if w.firstOwn == 0 {
		w.firstOwn = n
	}
	w.seg.f, w.seg.num, w.seg.off, w.seg.open, w.seg.dirty = f, n, 0, true, false
	w.metrics.segmentCurrent.Set(float64(n))
	return nil
}

// closeSegmentLocked writes the end frame into the current segment, syncs and
// closes it. It is a no-op without an open segment.
func (w *WAL) closeSegmentLocked() error {
	if !w.seg.open {
		return nil
	}
	w.seg.open = false
	f := w.seg.f
	w.seg.f = nil
	if w.closedEnd == nil {
		w.closedEnd = map[SegmentNum]int64{}
	}
	w.closedEnd[w.seg.num] = w.seg.off
	delete(w.closedEnd, w.seg.num-closedEndKept)
	err := w.writeLocked(f, endFrame, w.seg.off, true)
	if err == nil {
		// Give back the preallocated tail: a closed segment takes the
		// disk it holds data for (size retention counts it). Not synced:
		// after a crash the tail may come back, all zeros, which a
		// preallocated segment may have anyway.
		_ = f.Truncate(w.seg.off + int64(len(endFrame)))
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("wal: close segment %d: %w", w.seg.num, cerr)
	}
	return err
}

// writeLocked writes p at off of f through the writer, with metrics.
func (w *WAL) writeLocked(f File, p []byte, off int64, sync bool) error {
	var start time.Time
	if sync {
		start = time.Now()
	}
	err := w.writer.writeAt(f, p, off, sync)
	w.metrics.pageFlushes.Inc()
	if err != nil {
		w.metrics.writesFailed.Inc()
		return fmt.Errorf("wal: write segment %d at %d: %w", w.seg.num, off, err)
	}
	w.metrics.bytesWritten.Add(float64(len(p)))
	if sync {
		w.metrics.fsyncDuration.Observe(time.Since(start).Seconds())
		w.seg.dirty = false
	} else {
		w.seg.dirty = true
	}
	return nil
}

// syncLocked makes the current segment durable if it has unsynced writes.
func (w *WAL) syncLocked() error {
	if !w.seg.open || !w.seg.dirty {
		return nil
	}
	start := time.Now()
	if err := w.writer.sync(w.seg.f); err != nil {
		w.metrics.writesFailed.Inc()
		return fmt.Errorf("wal: sync segment %d: %w", w.seg.num, err)
	}
	w.metrics.fsyncDuration.Observe(time.Since(start).Seconds())
	w.seg.dirty = false
	return nil
}

// ReplayProgress is the progress of the WAL's Replay (Options.Progress).
func (w *WAL) ReplayProgress() *ReplayProgress { return w.progress }
