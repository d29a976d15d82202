package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// history is HistoryKind: write Span of dashboard data, wait until the
// server stops writing blocks, time the dashboard queries, then restart.
func (r *blockRunner) history() {
	b, o := r.b, r.o
	s := startSampler(r.p.pid(), r.dataDir, new(atomic.Int64), 100*time.Millisecond)
	t0 := time.Now()
	st, err := r.ingest(0, b.rounds(), nil)
	took := time.Since(t0)
	quiet := err == nil && waitIdle(r.ctx, s, 3*time.Second, 2*time.Minute)
	s.stop()
	if err != nil {
		o.fail(b, err)
		return
	}
	if !quiet {
		o.notef("still writing blocks two minutes after the load; queries run anyway")
	}
	if err := r.verify(); err != nil {
		o.fail(b, err)
		return
	}
	blocks, _, _ := newBlockScanner(r.dataDir).scan()
	endMs := r.l.Timestamp(b.rounds() - 1)
	var blocksMax int64
	maxLevel := 0
	for _, bl := range blocks {
		blocksMax, maxLevel = max(blocksMax, bl.MaxTime), max(maxLevel, bl.Level)
	}
	o.notef("%d samples in %s (%.0f/s); %s; the head holds the last %s",
		st.Samples, took.Round(time.Millisecond), st.SamplesPerSecond(), layout(blocks), shortDur(time.Duration(endMs-blocksMax)*time.Millisecond))
	if len(blocks) < 3 || maxLevel < 2 {
		o.notef("layout misses the scenario's aim (≥ 3 blocks, one compacted): queries run anyway")
	}

	lat := map[string][]time.Duration{}
	for it := -1; it < b.QueryIters && r.ctx.Err() == nil; it++ { // it = -1: warm-up, untimed
		for _, q := range dashboardQueries {
			for _, rg := range historyRanges {
				key := fmt.Sprintf("%s/%s/%s", b.id(), q.name, rg.name)
				if _, failed := o.errs[key+"/p50"]; failed {
					continue
				}
				ctx, cancel := context.WithTimeout(r.ctx, 2*time.Minute)
				d, fp, err := rangeQuery(ctx, r.p.url, q.expr, endMs-rg.rng.Milliseconds(), endMs, b.step(rg.minSt))
				cancel()
				switch {
				case err != nil:
					o.errs[key+"/p50"], o.errs[key+"/p99"] = err, err
				case it < 0:
					o.prints[key] = fp
				default:
					lat[key] = append(lat[key], d)
				}
			}
		}
	}
	for key, ds := range lat {
		o.values[key+"/p50"] = quantile(ds, 0.5).Seconds() * 1000
		o.values[key+"/p99"] = quantile(ds, 0.99).Seconds() * 1000
	}

	if !b.Restart {
		return
	}
	np, d, err := restartAt(r.ctx, r.cfg, r.p, r.l, b.Series-1, b.rounds()-1)
	if np != nil {
		r.p = np
	}
	if err != nil {
		o.errs[b.id()+"/restart"] = err
		return
	}
	o.values[b.id()+"/restart"] = d.Seconds()
}

// quantile is the nearest-rank q-quantile of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}
