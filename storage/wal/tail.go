package wal

import (
	"fmt"
	"slices"
)

// Position is a place in the log: a segment and the byte offset in it of the
// next frame to read.
type Position struct {
	Segment SegmentNum
	Offset  int64
}

// Less orders positions as the log is written.
func (p Position) Less(q Position) bool {
	return p.Segment < q.Segment || (p.Segment == q.Segment && p.Offset < q.Offset)
}

// Files is what a WAL directory holds at one moment.
type Files struct {
	Checkpoint    SegmentNum // the newest checkpoint, when HasCheckpoint
	HasCheckpoint bool
	Segments      []SegmentNum // ascending, all after the checkpoint
	// Covered are the segments the checkpoint covers that are still on
	// disk, because a Hold keeps them (ascending).
	Covered []SegmentNum
}

// Files lists the newest checkpoint, the segments after it and the covered
// segments still kept.
func (w *WAL) Files() (Files, error) {
	st, err := listDir(w.fs, w.dir)
	if err != nil {
		return Files{}, err
	}
	f := Files{Checkpoint: st.checkpoint, HasCheckpoint: st.hasCkpt, Segments: st.segments}
	for _, name := range st.stale {
		if n, ok := parseSegmentName(name); ok {
			f.Covered = append(f.Covered, n)
		}
	}
	slices.Sort(f.Covered)
	return f, nil
}

// Written returns the end of what has been written: the segment being
// written and how far, or the next segment to be created at offset 0 when
// none is open.
func (w *WAL) Written() Position {
	w.segMu.Lock()
	defer w.segMu.Unlock()
	if w.seg.open {
		return Position{Segment: w.seg.num, Offset: w.seg.off}
	}
	return Position{Segment: w.next, Offset: 0}
}

// closedEndKept is how many closed segments' ends the WAL remembers.
const closedEndKept = 64

// ClosedEnd returns where segment n's data ended when this process closed
// it (ok false if it did not, or long ago). A follower whose position in a
// segment a checkpoint deleted is at that end had read all of it.
func (w *WAL) ClosedEnd(n SegmentNum) (end int64, ok bool) {
	w.segMu.Lock()
	defer w.segMu.Unlock()
	end, ok = w.closedEnd[n]
	return end, ok
}

// Tail reads the log while it is being written, for a follower (outgoing
// remote write) that keeps its own position. It is not safe for concurrent
// use; several Tails may read one WAL.
type Tail struct {
	w    *WAL
	sc   frameScanner
	base int64 // offset ReadSegment started at
}

// RecordEnd is, during ReadSegment's fn, the segment offset just past the
// record fn was given: where the next one starts. Records may be
// compressed, so it is not the record's start plus its length.
func (t *Tail) RecordEnd() int64 { return t.base + t.sc.recEnd }

// NewTail returns a reader of w's files.
func (w *WAL) NewTail() *Tail { return &Tail{w: w} }

// ReadSegment calls fn with each record of segment n from offset off on: up
// to what has been written for the segment being written, to its end frame
// for a closed one. It returns the offset after the last record read and
// whether the segment is complete (closed: nothing more will be added, the
// follower moves on to the next). A segment a checkpoint has deleted returns
// an error matching fs.ErrNotExist; damage a CorruptionError. rec is valid
// only during fn; an error from fn stops the read (next is then the offset
// of the record fn refused).
func (t *Tail) ReadSegment(n SegmentNum, off int64, fn func(rec []byte) error) (next int64, closed bool, err error) {
	w := t.w
	limit := int64(-1)
	w.segMu.Lock()
	if w.seg.open && w.seg.num == n {
		limit = w.seg.off // a frame is whole once the writer has moved past it
	}
	w.segMu.Unlock()

	f, err := w.fs.Open(joinPath(w.dir, SegmentName(n)))
	if err != nil {
		return off, false, fmt.Errorf("wal: tail segment %d: %w", n, err)
	}
	defer f.Close()
	size := limit
	if size < 0 {
		if size, err = f.Size(); err != nil {
			return off, false, fmt.Errorf("wal: tail segment %d: %w", n, err)
		}
	}
	if off > size {
		return off, false, fmt.Errorf("wal: tail segment %d: offset %d past its end %d", n, off, size)
	}
	next = off
	t.base = off
	res, err := t.sc.scan(sectionFile{File: f, base: off}, size-off, func(rec []byte) error {
		if err := fn(rec); err != nil {
			return err
		}
		next = t.RecordEnd()
		return nil
	})
	if err != nil {
		return next, false, fmt.Errorf("wal: tail segment %d: %w", n, err)
	}
	if res.corrupt {
		return next, false, &CorruptionError{Dir: w.dir, Segment: n, Offset: off + res.corruptAt, Err: res.corruptErr}
	}
	if limit >= 0 {
		return next, false, nil
	}
	// A closed segment ends with its end frame. One without (a crash left
	// it, and this process has not opened the WAL since) is complete too
	// if it is not the one being written: nothing will ever extend it.
	return next, true, nil
}

// ReadCheckpoint calls fn with every record of checkpoint.n. A checkpoint a
// newer one replaced returns an error matching fs.ErrNotExist.
func (t *Tail) ReadCheckpoint(n SegmentNum, fn func(rec []byte) error) error {
	name := CheckpointName(n)
	f, err := t.w.fs.Open(joinPath(t.w.dir, name))
	if err != nil {
		return fmt.Errorf("wal: tail %s: %w", name, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return fmt.Errorf("wal: tail %s: %w", name, err)
	}
	res, err := t.sc.scan(f, size, fn)
	if err != nil {
		return fmt.Errorf("wal: tail %s: %w", name, err)
	}
	if res.corrupt || !res.closed {
		cause := res.corruptErr
		if !res.corrupt {
			cause = errMissingEnd
		}
		return &CorruptionError{Dir: t.w.dir, Segment: n, Offset: res.corruptAt, Checkpoint: true, Err: cause}
	}
	return nil
}

// sectionFile is a file seen from base on.
type sectionFile struct {
	File
	base int64
}

func (s sectionFile) ReadAt(p []byte, off int64) (int, error) { return s.File.ReadAt(p, s.base+off) }

// SegmentFileSize returns the size on disk of segment n: for a closed
// segment its data and end frame. It works after Close, so that the owner
// of a closed WAL can record where it ends.
func (w *WAL) SegmentFileSize(n SegmentNum) (int64, error) {
	f, err := w.fs.Open(joinPath(w.dir, SegmentName(n)))
	if err != nil {
		return 0, fmt.Errorf("wal: open segment %d: %w", n, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return 0, fmt.Errorf("wal: stat segment %d: %w", n, err)
	}
	return size, nil
}
