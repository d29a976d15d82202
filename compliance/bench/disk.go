package bench

import (
	"context"
	"sync/atomic"
	"time"
)

// disk is DiskKind: write the storage mix, let the server finish its cuts,
// take an admin snapshot with the head and size it.
func (r *blockRunner) disk() {
	b, o := r.b, r.o
	s := startSampler(r.p.pid(), r.dataDir, new(atomic.Int64), 100*time.Millisecond)
	st, err := r.ingest(0, b.rounds(), nil)
	if err == nil && !waitIdle(r.ctx, s, 2*time.Second, time.Minute) {
		o.notef("still writing blocks a minute after the load; snapshot taken anyway")
	}
	s.stop()
	if err != nil {
		o.fail(b, err)
		return
	}
	if err := r.verify(); err != nil {
		o.fail(b, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	dir, err := snapshot(ctx, r.p.url, r.dataDir)
	took := time.Since(t0)
	if err != nil {
		o.fail(b, err)
		return
	}
	n, err := dirBytes(dir)
	if err != nil {
		o.fail(b, err)
		return
	}
	blocks, _, _ := newBlockScanner(dir).scan()
	var inBlocks uint64
	for _, bl := range blocks {
		inBlocks += bl.Samples
	}
	o.values[b.id()+"/bps"] = float64(n) / float64(st.Samples)
	o.notef("snapshot of %d samples: %d bytes, %s, %d samples in its meta.json files; took %s",
		st.Samples, n, layout(blocks), inBlocks, took.Round(time.Millisecond))
	if inBlocks != 0 && inBlocks != uint64(st.Samples) {
		o.notef("the snapshot's blocks hold %d samples, %d were written", inBlocks, st.Samples)
	}
}
