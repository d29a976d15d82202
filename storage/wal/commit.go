package wal

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// maxSpareBuf is the largest commit buffer kept for reuse.
const maxSpareBuf = 16 << 20

// Log appends recs, in order, to the log. It is safe for concurrent use:
// concurrent callers are group-committed (one write and one fdatasync for
// everything queued). It returns when the records are durable (SyncAlways)
// or handed to the kernel (SyncInterval). The records are copied: the caller
// may reuse them once Log returns. After a write error the WAL is failed and
// every later Log returns that error.
func (w *WAL) Log(recs ...[]byte) error {
	for _, r := range recs {
		if len(r) > maxFrameLen || int64(len(r)) > w.opts.SegmentSize {
			return fmt.Errorf("wal: record of %d bytes is larger than a segment", len(r))
		}
	}
	if w.frameKind != frameRecord {
		return w.logCompressed(recs)
	}
	// Checksums are computed before taking the lock when there are few records.
	var crcs [8]uint32
	pre := len(recs) <= len(crcs)
	size := 0
	for i, r := range recs {
		size += frameHeaderSize + len(r)
		if pre {
			crcs[i] = payloadCRC(frameRecord, r)
		}
	}
	w.mu.Lock()
	if err := w.checkOpenLocked(); err != nil || len(recs) == 0 {
		w.mu.Unlock()
		return err
	}
	if cap(w.mu.buf)-len(w.mu.buf) < size {
		w.mu.buf = growBuf(w.mu.buf, size)
	}
	for i, r := range recs {
		if pre {
			w.mu.buf = appendFrameCRC(w.mu.buf, frameRecord, r, crcs[i])
		} else {
			w.mu.buf = appendFrame(w.mu.buf, frameRecord, r)
		}
	}
	return w.commitQueuedLocked(size)
}

// framePool holds the buffers compressed frames are built in: compression
// runs before the lock, in the caller's goroutine, so concurrent writers
// compress in parallel and the critical section stays a copy.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func (w *WAL) logCompressed(recs [][]byte) error {
	bp := framePool.Get().(*[]byte)
	frames := (*bp)[:0]
	for _, r := range recs {
		frames = appendRecordFrame(frames, w.frameKind, r)
	}
	w.mu.Lock()
	err := w.checkOpenLocked()
	if err == nil && len(recs) > 0 {
		if cap(w.mu.buf)-len(w.mu.buf) < len(frames) {
			w.mu.buf = growBuf(w.mu.buf, len(frames))
		}
		w.mu.buf = append(w.mu.buf, frames...)
		err = w.commitQueuedLocked(len(frames))
	} else {
		w.mu.Unlock()
	}
	if cap(frames) <= maxSpareBuf {
		*bp = frames[:0]
		framePool.Put(bp)
	}
	return err
}

// checkOpenLocked is the error Log returns on a closed or failed WAL.
func (w *WAL) checkOpenLocked() error {
	if w.mu.closing {
		return ErrClosed
	}
	return w.mu.err
}

// commitQueuedLocked accounts for size bytes just appended to the queue,
// wakes the commit goroutine, waits as the sync policy says and unlocks.
func (w *WAL) commitQueuedLocked(size int) error {
	w.mu.queued += uint64(size)
	mine := w.mu.queued
	w.wake()
	err := w.waitLocked(mine, w.opts.Sync == SyncAlways)
	w.mu.Unlock()
	return err
}

// Sync returns once everything logged before the call is durable, whatever
// the policy.
func (w *WAL) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.closing {
		return ErrClosed
	}
	w.mu.syncReq = true
	w.wake()
	return w.waitLocked(w.mu.queued, true)
}

// waitLocked waits until the first upto queued bytes are written (or synced).
func (w *WAL) waitLocked(upto uint64, synced bool) error {
	for {
		done := w.mu.written
		if synced {
			done = w.mu.synced
		}
		if done >= upto {
			return nil
		}
		if w.mu.err != nil {
			return w.mu.err
		}
		w.mu.cond.Wait()
	}
}

func growBuf(b []byte, n int) []byte {
	nb := make([]byte, len(b), 2*cap(b)+n)
	copy(nb, b)
	return nb
}

// wake nudges the commit goroutine without blocking.
func (w *WAL) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// run is the commit goroutine: it takes everything queued, writes it with one
// write (more when it crosses segments) and, per the policy, one fdatasync,
// then releases the callers.
func (w *WAL) run() {
	defer close(w.done)
	var tick <-chan time.Time
	if w.opts.Sync == SyncInterval {
		t := time.NewTicker(w.opts.SyncInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		intervalDue := false
		select {
		case <-w.kick:
		case <-tick:
			intervalDue = true
		}
		for {
			w.mu.Lock()
			batch := w.mu.buf
			end := w.mu.queued
			closing := w.mu.closing
			syncReq := w.mu.syncReq
			failed := w.mu.err != nil
			if failed || (len(batch) == 0 && !intervalDue && !syncReq && !closing) {
				if closing {
					w.mu.Unlock()
					return
				}
				w.mu.Unlock()
				break
			}
			w.mu.buf = w.mu.spare[:0]
			w.mu.spare = nil
			w.mu.syncReq = false
			w.mu.Unlock()

			doSync := w.opts.Sync == SyncAlways || intervalDue || syncReq || closing
			w.segMu.Lock()
			err := w.writeBatchLocked(batch, doSync)
			w.segMu.Unlock()
			if len(batch) > 0 {
				w.metrics.commitBytes.Observe(float64(len(batch)))
			}

			w.mu.Lock()
			if cap(batch) <= maxSpareBuf {
				w.mu.spare = batch[:0]
			}
			if err != nil {
				if w.mu.err == nil {
					w.mu.err = err
					w.logger.Error("WAL write failed; the WAL refuses further writes", "err", err)
				}
			} else {
				w.mu.written = end
				if doSync {
					w.mu.synced = end
				}
			}
			w.mu.cond.Broadcast()
			if closing && len(w.mu.buf) == 0 {
				w.mu.Unlock()
				return
			}
			w.mu.Unlock()
			intervalDue = false
		}
	}
}

// writeBatchLocked writes whole frames into segments, closing a segment and
// opening the next when a frame does not fit, and syncs the last segment
// written if sync is set. Segments it closes are always synced.
func (w *WAL) writeBatchLocked(batch []byte, sync bool) error {
	room := w.opts.SegmentSize - frameHeaderSize // keep room for the end frame
	for len(batch) > 0 {
		if !w.seg.open {
			if err := w.openSegmentLocked(); err != nil {
				return err
			}
		}
		n := 0
		for n < len(batch) {
			fl := frameHeaderSize + int(binary.LittleEndian.Uint32(batch[n:]))
			if w.seg.off+int64(n+fl) > room && !(w.seg.off == 0 && n == 0) {
				break
			}
			n += fl
		}
		if n == 0 {
			if err := w.closeSegmentLocked(); err != nil {
				return err
			}
			continue
		}
		if err := w.writeLocked(w.seg.f, batch[:n], w.seg.off, sync && n == len(batch)); err != nil {
			return err
		}
		w.seg.off += int64(n)
		batch = batch[n:]
	}
	if sync {
		return w.syncLocked()
	}
	return nil
}
