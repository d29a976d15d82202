package storage

import (
	"math"
	"testing"
	"time"
)

// TestPauseFactorKeepsShare: the pause chosen keeps the average rate over a
// burst and its pause at pacedShare of idle, within the bounds.
func TestPauseFactorKeepsShare(t *testing.T) {
	for _, c := range []struct{ busy, idle float64 }{
		{450, 1000}, {100_000, 1_000_000}, {0, 50_000}, {850_000, 1_000_000},
	} {
		k := pauseFactor(c.busy, c.idle)
		avg := (c.busy + k*c.idle) / (1 + k)
		if k < maxPause && math.Abs(avg/c.idle-pacedShare) > 1e-9 && k > minPause {
			t.Errorf("busy %v idle %v: pause %v gives %v of idle, want %v", c.busy, c.idle, k, avg/c.idle, pacedShare)
		}
		if k == minPause && avg/c.idle < pacedShare-1e-9 {
			t.Errorf("busy %v idle %v: the minimum pause gives %v of idle", c.busy, c.idle, avg/c.idle)
		}
		if k < minPause || k > maxPause {
			t.Errorf("pause %v out of [%v, %v]", k, minPause, maxPause)
		}
	}
	if k := pauseFactor(0, 0); k != minPause {
		t.Errorf("no ingest: pause %v, want %v", k, minPause)
	}
	if k := pauseFactor(0, 10*busyIngest); math.Abs(k-pacedShare/(1-pacedShare)) > 1e-9 {
		t.Errorf("ingest stopped by the work: pause %v, want %v", k, pacedShare/(1-pacedShare))
	}
}

// TestPacerMeasures: a burst that halves the ingest rate of the pause
// before it is followed by the pause pauseFactor gives for that.
func TestPacerMeasures(t *testing.T) {
	var n uint64
	p := newPacer(func() uint64 { return n })
	p.mark = time.Now().Add(-time.Second)
	n += 100_000 // 100k/s idle
	p.idleEnd()
	p.mark = time.Now().Add(-time.Second)
	n += 50_000 // 50k/s busy
	d := p.workEnd()
	want := pauseFactor(50_000, 100_000)
	if math.Abs(p.factor-want) > 0.01*want || d < time.Duration(float64(time.Second)*want*0.99) {
		t.Fatalf("factor %v (pause %v), want %v", p.factor, d, want)
	}
	n = 10 // a tenant closed: the count went down
	p.idleEnd()
	if p.idleRate != 0 {
		t.Fatalf("idle rate %v after the count went down", p.idleRate)
	}
}
