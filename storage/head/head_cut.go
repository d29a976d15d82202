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

// PrepareCut makes samples older than maxt out of bounds and waits until
// every appender that began before the call has committed or rolled back, so
// that no sample older than maxt can reach the head afterwards: a block of
// the head's data before maxt, written after PrepareCut returns, is complete.
func (h *Head) PrepareCut(ctx context.Context, maxt int64) error {
	h.SetMinValidTime(maxt)
	return h.appenders.WaitBefore(ctx, h.appenders.Mark())
}
