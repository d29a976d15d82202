package wal

import (
	"math"
	"sync"
)

// Holds keep segments a reader still needs from a checkpoint's deletion.
//
// A checkpoint covers every segment up to its number and normally deletes
// them. A follower that reads the log on its own (outgoing remote write)
// takes a Hold at the first segment it still needs and moves it as it
// reads: a checkpoint then deletes only the covered segments before the
// lowest hold, and leaves the others on disk (still covered: Replay skips
// them, Files lists them as Covered, Tail reads them) until a later
// checkpoint finds them released. Holds live in memory; a process that
// restarts has none until its followers take them again, so
// Options.HoldAtOpen keeps every covered segment from Open on until
// ReleaseOpenHold: the followers take their holds in between.

// holds is the set of holds of one WAL.
type holds struct {
	mu   sync.Mutex
	from map[*Hold]SegmentNum
	open bool // the hold of Options.HoldAtOpen, until ReleaseOpenHold
}

// lowest is the first segment a hold keeps (MaxUint32 when none does).
func (h *holds) lowest() SegmentNum {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.open {
		return 0
	}
	low := SegmentNum(math.MaxUint32)
	for _, n := range h.from {
		low = min(low, n)
	}
	return low
}

// Hold keeps the segments from one number on. The zero value is not
// usable: get one from WAL.Hold.
type Hold struct{ h *holds }

// Hold returns a hold keeping segment n and every later one from deletion
// by checkpoints, until it moves past them or is released.
func (w *WAL) Hold(n SegmentNum) *Hold {
	hd := &Hold{h: &w.holds}
	w.holds.mu.Lock()
	if w.holds.from == nil {
		w.holds.from = map[*Hold]SegmentNum{}
	}
	w.holds.from[hd] = n
	w.holds.mu.Unlock()
	return hd
}

// Move keeps segment n and later ones instead (n may be lower than before:
// a segment a checkpoint already deleted does not come back).
func (hd *Hold) Move(n SegmentNum) {
	hd.h.mu.Lock()
	if _, ok := hd.h.from[hd]; ok {
		hd.h.from[hd] = n
	}
	hd.h.mu.Unlock()
}

// Release lets checkpoints delete what the hold kept. It is idempotent.
func (hd *Hold) Release() {
	hd.h.mu.Lock()
	delete(hd.h.from, hd)
	hd.h.mu.Unlock()
}

// ReleaseOpenHold ends the hold Options.HoldAtOpen took: from now on only
// the holds taken since keep covered segments (the next checkpoint deletes
// the others). It is idempotent.
func (w *WAL) ReleaseOpenHold() {
	w.holds.mu.Lock()
	w.holds.open = false
	w.holds.mu.Unlock()
}
