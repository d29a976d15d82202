package storage

import (
	"math"
	"time"
)

// Background work that competes with ingest for the same cores (the history
// conversion) runs in bursts, each followed by a pause. The pacer picks the
// pause from what it measures: the ingest rate during the burst against the
// rate during the pause before it. If a burst slows ingest to the fraction r
// of its idle rate, a pause of k times the burst keeps the average at
// (r + k) / (1 + k) of it; the pacer chooses the smallest k that keeps
// pacedShare, within [minPause, maxPause].
const (
	pacedShare = 0.92 // 0.9 (issue 14's bound) plus a margin for noise
	minPause   = 1.0  // never more than half the time at work
	maxPause   = 30.0
	// busyIngest is the idle rate (samples/s) below which ingest is taken
	// as absent and the pause is the minimum.
	busyIngest = 1000
)

// pacer measures ingest around bursts of work. Not safe for concurrent use.
type pacer struct {
	appended func() uint64 // samples committed so far
	factor   float64       // the current pause, as a multiple of the burst

	mark     time.Time // start of the current phase
	markN    uint64
	idleRate float64 // samples/s during the last pause
}

func newPacer(appended func() uint64) *pacer {
	return &pacer{appended: appended, factor: minPause, mark: time.Now(), markN: appended()}
}

// idleEnd ends a pause (or the first measurement) and starts a burst.
func (p *pacer) idleEnd() {
	now, n := time.Now(), p.appended()
	if d := now.Sub(p.mark).Seconds(); d > 0 {
		p.idleRate = float64(since(n, p.markN)) / d
	}
	p.mark, p.markN = now, n
}

// workEnd ends a burst and returns the pause to take.
func (p *pacer) workEnd() time.Duration {
	now, n := time.Now(), p.appended()
	work := now.Sub(p.mark)
	if d := work.Seconds(); d > 0 {
		p.factor = pauseFactor(float64(since(n, p.markN))/d, p.idleRate)
	}
	p.mark, p.markN = now, n
	return time.Duration(float64(work) * p.factor)
}

// pauseFactor is the pause, in bursts, that keeps the average ingest rate at
// pacedShare of idle when a burst runs it at busy.
func pauseFactor(busy, idle float64) float64 {
	if idle < busyIngest || busy >= pacedShare*idle {
		return minPause
	}
	r := busy / idle
	k := (pacedShare - r) / (1 - pacedShare)
	return math.Min(maxPause, math.Max(minPause, k))
}

// since is n − m, or 0 when the count went down (a tenant closed meanwhile).
func since(n, m uint64) uint64 {
	if n < m {
		return 0
	}
	return n - m
}
