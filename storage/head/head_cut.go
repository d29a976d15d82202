package head

import (
	"context"
	"math"
)

// ChunkRange returns the head's chunk range in ms (its block duration).
func (h *Head) ChunkRange() int64 { return h.opts.ChunkRange }

// SetMinValidTime makes samples older than t out of bounds, for appends and
// for ReplayWAL: the owner calls it before ReplayWAL with the end of its
// newest block, so that logged samples a block already holds are not
// replayed twice. It never lowers the bound.
func (h *Head) SetMinValidTime(t int64) {
	for {
		cur := h.minValidTime.Load()
		if t <= cur || h.minValidTime.CompareAndSwap(cur, t) {
			return
		}
	}
}

// MinValidTime returns the bound below which samples are out of bounds.
func (h *Head) MinValidTime() int64 { return h.minValidTime.Load() }

// Compactable returns the oldest whole block range [mint, maxt) of the head
// that is due to be cut into a block, as Prometheus decides it: when the head
// spans more than one and a half chunk ranges. By then in-order appends into
// that range are out of bounds (they may not be older than half a range
// behind the newest sample).
func (h *Head) Compactable() (mint, maxt int64, ok bool) {
	lo, hi := h.MinTime(), h.MaxTime()
	if lo == math.MaxInt64 || hi == math.MinInt64 || hi < lo {
		return 0, 0, false
	}
	r := h.opts.ChunkRange
	if hi-lo <= r/2*3 {
		return 0, 0, false
	}
	mint = lo - lo%r
	if lo < 0 && lo%r != 0 {
		mint -= r
	}
	return mint, mint + r, true
}

// PrepareCut makes in-order samples older than maxt out of bounds and waits
// until every appender that began before the call has committed or rolled
// back, so that a block of the head's data before maxt, written after
// PrepareCut returns, holds every in-order sample of the range. Out-of-order
// samples older than maxt may still come in (within the window, as in
// Prometheus): FinishCut keeps those.
func (h *Head) PrepareCut(ctx context.Context, maxt int64) error {
	h.SetMinValidTime(maxt)
	h.cutMaxt.Store(maxt)
	return h.appenders.WaitBefore(ctx, h.appenders.Mark())
}

// lateSample is an out-of-order sample committed during a cut into the
// range being cut.
type lateSample struct {
	s *memSeries
	o oooSample
}

// keepLate records a sample that may miss the block being cut. The series
// is pinned, so that the truncation does not collect it.
func (h *Head) keepLate(s *memSeries, o oooSample) {
	s.pending.Add(1)
	h.late.Lock()
	h.late.samples = append(h.late.samples, lateSample{s: s, o: o})
	h.late.Unlock()
}

// takeLate ends the cut and returns the late samples by series; their pins
// pass to the caller (truncateMemory drops them as it puts the samples
// back). Commits must be held off (commitMu).
func (h *Head) takeLate() map[*memSeries][]oooSample {
	h.late.Lock()
	defer h.late.Unlock()
	h.cutMaxt.Store(math.MinInt64)
	if len(h.late.samples) == 0 {
		return nil
	}
	out := map[*memSeries][]oooSample{}
	for _, l := range h.late.samples {
		if _, ok := out[l.s]; ok {
			l.s.pending.Add(-1) // One pin per series is enough.
		}
		out[l.s] = append(out[l.s], l.o)
	}
	clear(h.late.samples)
	h.late.samples = h.late.samples[:0]
	return out
}
