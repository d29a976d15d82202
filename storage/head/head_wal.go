package head

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// minCheckpointBytes is the WAL size below which Truncate does not checkpoint.
const minCheckpointBytes = 16 << 20

// Truncate drops every chunk and out-of-order sample older than mint,
// garbage-collects series left empty (and their postings), makes older
// samples out of bounds, and checkpoints the WAL when data was dropped and the
// WAL has grown past the size of the last checkpoint.
func (h *Head) Truncate(mint int64) error {
	h.truncateMemory(mint, nil)
	if h.wal == nil {
		return nil
	}
	h.mu.Lock()
	due := h.mu.dropped && h.walBytes.Load() >= max(h.lastCheckpointBytes.Load(), minCheckpointBytes)
	h.mu.Unlock()
	if !due {
		return nil
	}
	if err := h.Checkpoint(); err != nil {
		h.metrics.truncationsFailed.Inc()
		return fmt.Errorf("head: truncate: %w", err)
	}
	return nil
}

// FinishCut ends a cut begun with PrepareCut(maxt), once the blocks
// holding the head's data before maxt are in place: it drops that data from
// memory, except out-of-order samples that came in during the cut (they may
// have missed the blocks; a query merges away those that did not, and the
// next cut writes them again), and checkpoints the WAL, so that the log no
// longer holds what the blocks hold and a restart replays only the rest.
func (h *Head) FinishCut(maxt int64) error {
	h.commitMu.Lock()
	h.truncateMemory(maxt, h.takeLate())
	h.commitMu.Unlock()
	if h.wal == nil {
		return nil
	}
	if err := h.Checkpoint(); err != nil {
		h.metrics.truncationsFailed.Inc()
		return fmt.Errorf("head: finish cut at %d: %w", maxt, err)
	}
	return nil
}

// AbortCut ends a cut that failed: the head keeps its data (the late
// samples are in memory already) and the cut is retried later.
func (h *Head) AbortCut() {
	h.late.Lock()
	defer h.late.Unlock()
	h.cutMaxt.Store(math.MinInt64)
	for _, l := range h.late.samples {
		l.s.pending.Add(-1)
	}
	clear(h.late.samples)
	h.late.samples = h.late.samples[:0]
}

// truncateMemory drops data older than mint from memory (see Truncate).
// keep are samples to put back into their series in the same step as the
// truncation, so that no reader sees the series without them.
func (h *Head) truncateMemory(mint int64, keep map[*memSeries][]oooSample) {
	h.metrics.truncations.Inc()
	start := time.Now()
	// A commit that lowers minTime while the series are walked must not be
	// overwritten: only a minTime nobody changed is replaced (cuts choose
	// their range from it; one too low is merely conservative).
	minBefore := h.minTime.Load()
	for {
		cur := h.minValidTime.Load()
		if mint <= cur || h.minValidTime.CompareAndSwap(cur, mint) {
			break
		}
	}
	var (
		dead          []*memSeries
		removedChunks int
		droppedAny    bool
		newMin        = int64(math.MaxInt64)
	)
	for i := range h.series.byHash {
		st := &h.series.byHash[i]
		st.mu.Lock()
		visit := func(s *memSeries) {
			s.mu.Lock()
			before := len(s.mu.ooo)
			removedChunks += s.truncateLocked(mint)
			if len(s.mu.ooo) != before {
				droppedAny = true
			}
			if k, ok := keep[s]; ok {
				for _, o := range k {
					s.insertOOOLocked(o)
				}
				s.pending.Add(-1)
			}
			if s.emptyLocked() && s.pending.Load() == 0 {
				s.mu.deleted = true
				dead = append(dead, s)
			} else {
				newMin = min(newMin, s.minTimeLocked())
			}
			s.mu.Unlock()
		}
		var conflicts []*memSeries
		firstDead := len(dead)
		for _, s := range st.mu.unique {
			visit(s)
		}
		for _, c := range st.mu.conflicts {
			conflicts = append(conflicts, c...)
		}
		for _, s := range conflicts {
			visit(s)
		}
		for _, s := range dead[firstDead:] {
			st.deleteLocked(s)
		}
		st.mu.Unlock()
	}
	for _, s := range dead {
		h.series.deleteID(s)
	}
	h.postings.remove(dead)
	h.numSeries.Add(-int64(len(dead)))
	h.metrics.seriesRemoved.Add(float64(len(dead)))
	h.metrics.chunksRemoved.Add(float64(removedChunks))
	h.metrics.chunks.Sub(float64(removedChunks))
	// Like Prometheus, a head that keeps data starts at the truncation
	// point (or at older data kept), not at its oldest sample, and never
	// later than it started before: the next block cut from it starts there.
	if newMin != math.MaxInt64 {
		newMin = max(min(newMin, mint), minBefore)
	}
	h.minTime.CompareAndSwap(minBefore, newMin)
	if h.files != nil {
		// Every chunk ending before mint was dropped above, under its
		// series lock: no series refers to such a segment any more.
		if err := h.files.deleteOlder(mint); err != nil {
			h.logger.Warn("Head chunk segments not deleted", "err", err)
		}
	}
	h.metrics.gcDuration.Observe(time.Since(start).Seconds())
	if removedChunks > 0 || len(dead) > 0 || droppedAny {
		h.mu.Lock()
		h.mu.dropped = true
		h.mu.Unlock()
	}
}

// Checkpoint writes the head's live state (every series, all their samples
// in memory, metadata, exemplars) as a WAL checkpoint, which deletes the
// older segments. Commits wait only until the WAL has closed its current
// segment: every record of the segments the checkpoint replaces is then in
// memory. The state is written while commits go on; what they add lands in
// later segments too, and a sample that is in both is dropped as a
// duplicate by replay.
func (h *Head) Checkpoint() error {
	if h.wal == nil {
		return errors.New("head: checkpoint without a WAL")
	}
	h.commitMu.Lock()
	locked := true
	unlock := func() {
		if locked {
			locked = false
			h.commitMu.Unlock()
		}
	}
	defer unlock()
	var written int64
	err := h.wal.Checkpoint(func(emit func(rec []byte) error) error {
		unlock() // wal.Checkpoint closed the segment before calling write.
		cw := &checkpointWriter{emit: func(rec []byte) error { written += int64(len(rec)); return emit(rec) }}
		// Everything in memory is live: out-of-order samples may be older
		// than minValidTime and be held nowhere else.
		return cw.write(h, math.MinInt64)
	})
	if h.files != nil {
		// The checkpoint read every chunk through the mappings: give the
		// pages back (they stay in the page cache).
		h.files.dontNeed()
	}
	if err != nil {
		return fmt.Errorf("head: checkpoint: %w", err)
	}
	h.walBytes.Store(0)
	h.lastCheckpointBytes.Store(written)
	h.mu.Lock()
	h.mu.dropped = false
	h.mu.Unlock()
	return nil
}
