package bench

import (
	"slices"
	"sync/atomic"
	"time"
)

// sampleEvery is the sampler's period in the block scenarios.
const sampleEvery = 50 * time.Millisecond

// cuts is CutsKind: round 0 creates the series (untimed), then the timed
// rounds race through the cuts while a sampler records RSS, progress and
// whether a block is being written.
func (r *blockRunner) cuts() {
	b, o := r.b, r.o
	if _, err := r.ingest(0, 1, nil); err != nil {
		o.fail(b, err)
		return
	}
	var progress atomic.Int64
	s := startSampler(r.p.pid(), r.dataDir, &progress, sampleEvery)
	start := time.Now()
	st, err := r.ingest(1, b.rounds(), &progress)
	end := time.Now()
	// The last cut may still be under way: wait for it, and for quiet.
	deadline := time.Now().Add(90 * time.Second)
	for s.cuts() < b.Cuts && time.Now().Before(deadline) && r.ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	waitIdle(r.ctx, s, time.Second, 30*time.Second)
	ticks := s.stop()
	if err != nil {
		o.fail(b, err)
		return
	}
	if hwm, err := peakRSS(r.p.pid()); err != nil {
		o.errs[b.id()+"/rss"] = err
	} else {
		o.values[b.id()+"/rss"] = float64(hwm) / float64(b.Series)
	}
	a := analyzeTicks(ticks, start, end)
	o.values[b.id()+"/cuts"] = float64(a.cuts)
	o.notef("%d samples in %s; %d head cuts; peak VmRSS per head cycle (MiB): %v, of which anonymous (RssAnon at that peak): %v; VmRSS when each cut was seen: %v; a block was being written %.1f s of the %.1f s load",
		st.Samples, end.Sub(start).Round(time.Millisecond), a.cuts, mib(a.cyclePeak), mib(a.cycleAnon), mib(a.atCut), a.writingSeconds, end.Sub(start).Seconds())
	if len(a.cyclePeak) >= 2 {
		o.values[b.id()+"/growth"] = float64(a.cyclePeak[len(a.cyclePeak)-1]) / float64(a.cyclePeak[0])
	}
	if a.cuts < b.Cuts {
		o.notef("only %d of %d head cuts seen", a.cuts, b.Cuts)
	}
	if a.steadyRate > 0 {
		o.values[b.id()+"/steady"] = a.steadyRate
	}
	if a.writingSeconds > 0 {
		o.values[b.id()+"/during"] = a.writingRate
		if a.steadyRate > 0 {
			o.values[b.id()+"/ratio"] = a.writingRate / a.steadyRate
		}
	}
	if a.median1s > 0 {
		o.values[b.id()+"/worst"] = a.worst1s / a.median1s
	}
	if err := r.verify(); err != nil {
		o.values = map[string]float64{}
		o.fail(b, err)
	}
}

func mib(v []int64) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = (x + 1<<19) >> 20
	}
	return out
}

// tickAnalysis is what the ticks of a CutsKind run say.
type tickAnalysis struct {
	cuts int
	// cyclePeak[k] is the peak VmRSS of head cycle k: the ticks after cut k
	// (cycle 0: from the start) up to the tick that saw cut k+1. Only cycles
	// that ended with a cut count.
	cyclePeak []int64
	cycleAnon []int64 // RssAnon at each cycle's peak
	atCut     []int64 // VmRSS of the tick that first saw each cut
	// Ingest rates over the load [start, end]: steady (no block being written
	// at either end of a tick interval) and while a block was being written.
	steadyRate, writingRate float64
	writingSeconds          float64
	// worst1s and median1s are the lowest and the median rate over 1 s windows.
	worst1s, median1s float64
}

func analyzeTicks(ticks []tick, start, end time.Time) tickAnalysis {
	var a tickAnalysis
	if len(ticks) == 0 {
		return a
	}
	a.cuts = ticks[len(ticks)-1].cuts
	var peak, peakAnon int64
	cycle := 0
	for _, t := range ticks {
		for t.cuts > cycle { // a tick can see more than one new cut
			a.cyclePeak = append(a.cyclePeak, peak)
			a.cycleAnon = append(a.cycleAnon, peakAnon)
			a.atCut = append(a.atCut, t.rss)
			peak, peakAnon, cycle = 0, 0, cycle+1
		}
		if t.rss > peak {
			peak, peakAnon = t.rss, t.anon
		}
	}
	var steadyS, steadyT, writeS, writeT float64
	var windows []float64
	wStart := -1
	for i := 1; i < len(ticks); i++ {
		p, t := ticks[i-1], ticks[i]
		if p.at.Before(start) || t.at.After(end) {
			continue
		}
		dt, ds := t.at.Sub(p.at).Seconds(), float64(t.samples-p.samples)
		if p.writing || t.writing {
			writeS, writeT = writeS+ds, writeT+dt
		} else {
			steadyS, steadyT = steadyS+ds, steadyT+dt
		}
		if wStart < 0 {
			wStart = i - 1
		}
		if w := ticks[wStart]; t.at.Sub(w.at) >= time.Second {
			windows = append(windows, float64(t.samples-w.samples)/t.at.Sub(w.at).Seconds())
			wStart = i
		}
	}
	if steadyT > 0 {
		a.steadyRate = steadyS / steadyT
	}
	if writeT > 0 {
		a.writingRate, a.writingSeconds = writeS/writeT, writeT
	}
	if len(windows) > 0 {
		slices.Sort(windows)
		a.worst1s, a.median1s = windows[0], windows[len(windows)/2]
	}
	return a
}
