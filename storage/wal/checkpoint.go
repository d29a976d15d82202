package wal

import (
	"errors"
	"fmt"
)

// checkpointFlush is how many bytes a checkpoint buffers per write.
const checkpointFlush = 1 << 20

// Checkpoint closes the current segment, so that every record logged before
// the call lies in segments up to some N, then writes checkpoint.N holding
// exactly the records write emits (the caller emits its live state), and
// finally deletes segments up to N (but those a Hold keeps) and older
// checkpoints.
//
// It is crash-safe at every instant: the checkpoint is written to
// checkpoint.N.tmp, synced, renamed and the directory synced before anything
// is deleted; Open removes leftovers. Log may run concurrently (its records
// land in later segments); the caller must make sure the state write emits
// covers every record logged before Checkpoint was called.
func (w *WAL) Checkpoint(write func(emit func(rec []byte) error) error) error {
	w.opMu.Lock()
	defer w.opMu.Unlock()
	w.metrics.checkpointCreations.Inc()
	err := w.checkpoint(write)
	if err != nil {
		w.metrics.checkpointFailed.Inc()
	}
	return err
}

func (w *WAL) checkpoint(write func(emit func(rec []byte) error) error) error {
	// Everything queued so far reaches its segment; then the segment is closed.
	w.mu.Lock()
	if w.mu.closing {
		w.mu.Unlock()
		return ErrClosed
	}
	err := w.waitLocked(w.mu.queued, false)
	w.mu.Unlock()
	if err != nil {
		return fmt.Errorf("wal: checkpoint: %w", err)
	}
	w.segMu.Lock()
	err = w.closeSegmentLocked()
	n := w.next - 1
	w.segMu.Unlock()
	if err != nil {
		return fmt.Errorf("wal: checkpoint: %w", err)
	}

	name := CheckpointName(n)
	tmp := joinPath(w.dir, name+tmpSuffix)
	if err := w.writeCheckpointFile(tmp, write); err != nil {
		_ = w.fs.Remove(tmp)
		return fmt.Errorf("wal: checkpoint %d: %w", n, err)
	}
	if err := w.fs.Rename(tmp, joinPath(w.dir, name)); err != nil {
		_ = w.fs.Remove(tmp)
		return fmt.Errorf("wal: checkpoint %d: rename: %w", n, err)
	}
	if err := w.fs.SyncDir(w.dir); err != nil {
		return fmt.Errorf("wal: checkpoint %d: sync dir: %w", n, err)
	}
	return w.deleteBefore(n)
}

func (w *WAL) writeCheckpointFile(path string, write func(emit func(rec []byte) error) error) error {
	f, err := w.fs.Create(path)
	if err != nil {
		return err
	}
	var (
		buf []byte
		off int64
	)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		_, err := f.WriteAt(buf, off)
		off += int64(len(buf))
		buf = buf[:0]
		return err
	}
	emit := func(rec []byte) error {
		if len(rec) > maxFrameLen {
			return fmt.Errorf("record of %d bytes is too large", len(rec))
		}
		buf = appendRecordFrame(buf, w.frameKind, rec)
		if len(buf) >= checkpointFlush {
			return flush()
		}
		return nil
	}
	err = write(emit)
	if err == nil {
		buf = append(buf, endFrame...)
		err = flush()
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// deleteBefore removes segments up to n and checkpoints older than n,
// except the segments a Hold keeps (hold.go).
func (w *WAL) deleteBefore(n SegmentNum) error {
	st, err := listDir(w.fs, w.dir)
	if err != nil {
		return err
	}
	w.metrics.truncations.Inc()
	keep := w.holds.lowest()
	var errs []error
	for _, name := range st.stale {
		if s, seg := parseSegmentName(name); seg && s >= keep {
			continue
		}
		if _, ok := parseCheckpointName(name); ok {
			w.metrics.checkpointDeletions.Inc()
		}
		if err := w.fs.Remove(joinPath(w.dir, name)); err != nil {
			errs = append(errs, err)
			if _, ok := parseCheckpointName(name); ok {
				w.metrics.checkpointDelFailed.Inc()
			}
		}
	}
	if err := w.fs.SyncDir(w.dir); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		w.metrics.truncationsFailed.Inc()
		return fmt.Errorf("wal: checkpoint %d: delete old files: %w", n, err)
	}
	return nil
}
