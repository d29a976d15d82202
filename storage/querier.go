package storage

import (
	promstorage "github.com/prometheus/prometheus/storage"

	"mytsdb/storage/block"
	"mytsdb/storage/inflight"
)

// Querier implements storage.Queryable: the head and every block that
// overlaps [mint, maxt], merged by the upstream merge querier (the chained
// merge drops a sample that two of them hold, as around a cut).
func (t *Tenant) Querier(mint, maxt int64) (promstorage.Querier, error) {
	ticket := t.readers.Begin()
	// Block queriers are opened under the read lock, so that a block
	// swapped out by a compaction is closed (which waits for its
	// queriers) only after they hold it.
	t.blocks.RLock()
	defer t.blocks.RUnlock()
	bs, withHead := t.sourcesRLocked(mint, maxt)
	qs := make([]promstorage.Querier, 0, len(bs)+1)
	fail := func(err error) (promstorage.Querier, error) {
		for _, q := range qs {
			_ = q.Close()
		}
		t.readers.End(ticket)
		return nil, err
	}
	for _, b := range bs {
		q, err := b.Querier(mint, maxt)
		if err != nil {
			return fail(err)
		}
		qs = append(qs, q)
	}
	if withHead {
		q, err := t.head.Querier(mint, maxt)
		if err != nil {
			return fail(err)
		}
		qs = append(qs, q)
	}
	if t.historyOverlaps(mint, maxt) {
		q, err := t.history.Querier(mint, maxt)
		if err != nil {
			return fail(err)
		}
		qs = append(qs, q)
	}
	var tqs []promstorage.Querier
	st, spans, err := t.tierSpansRLocked(mint, maxt)
	if err != nil {
		tqs = append(tqs, warningQuerier{failingQuerier{err: err}, t.id})
	}
	for _, sp := range spans {
		q, err := st.Querier(sp.lo, sp.hi)
		if err != nil {
			q = failingQuerier{err: tierReadError(t.id, err)}
		}
		tqs = append(tqs, warningQuerier{q, t.id})
	}
	var q promstorage.Querier
	if len(qs) == 1 && len(tqs) == 0 {
		q = qs[0]
	} else {
		// The tier's queriers answer their errors as warnings (see
		// warningQuerier), as Prometheus's secondaries do for remote read:
		// a bucket that fails, and the rest is served.
		q = promstorage.NewMergeQuerier(append(qs, tqs...), nil, promstorage.ChainedSeriesMerge)
	}
	q = noMatcherQuerier{q} // see trim.go
	return &trackedQuerier{Querier: q, t: t, ticket: ticket}, nil
}

// ChunkQuerier implements storage.ChunkQueryable, merged like Querier;
// chunks that two sources hold for the same series are merged into new ones.
// Its chunks are in upstream encodings only (see xorChunkQuerier).
func (t *Tenant) ChunkQuerier(mint, maxt int64) (promstorage.ChunkQuerier, error) {
	ticket := t.readers.Begin()
	t.blocks.RLock() // See Querier.
	defer t.blocks.RUnlock()
	bs, withHead := t.sourcesRLocked(mint, maxt)
	qs := make([]promstorage.ChunkQuerier, 0, len(bs)+1)
	fail := func(err error) (promstorage.ChunkQuerier, error) {
		for _, q := range qs {
			_ = q.Close()
		}
		t.readers.End(ticket)
		return nil, err
	}
	for _, b := range bs {
		q, err := b.ChunkQuerier(mint, maxt)
		if err != nil {
			return fail(err)
		}
		qs = append(qs, q)
	}
	if withHead {
		q, err := t.head.ChunkQuerier(mint, maxt)
		if err != nil {
			return fail(err)
		}
		qs = append(qs, trimmingChunkQuerier{ChunkQuerier: q, mint: mint, maxt: maxt})
	}
	if t.historyOverlaps(mint, maxt) {
		q, err := t.history.ChunkQuerier(mint, maxt)
		if err != nil {
			return fail(err)
		}
		qs = append(qs, trimmingChunkQuerier{ChunkQuerier: q, mint: mint, maxt: maxt})
	}
	var tqs []promstorage.ChunkQuerier
	st, spans, err := t.tierSpansRLocked(mint, maxt)
	if err != nil {
		tqs = append(tqs, warningChunkQuerier{failingChunkQuerier{err: err}, t.id})
	}
	for _, sp := range spans {
		q, err := st.ChunkQuerier(sp.lo, sp.hi)
		if err != nil {
			q = failingChunkQuerier{err: tierReadError(t.id, err)}
		}
		tqs = append(tqs, warningChunkQuerier{q, t.id})
	}
	var q promstorage.ChunkQuerier
	if len(qs) == 1 && len(tqs) == 0 {
		q = qs[0]
	} else {
		q = promstorage.NewMergeChunkQuerier(append(qs, tqs...), nil, promstorage.NewCompactingChunkSeriesMerger(promstorage.ChainedSeriesMerge))
	}
	// The merge passes a Select without matchers on to its sources, and
	// the blocks' answer everything (see trim.go). Trimmed or not, the
	// chunks leave in upstream's encodings (xor_chunks.go).
	q = trimmingChunkQuerier{ChunkQuerier: q, mint: mint, maxt: maxt}
	return &trackedChunkQuerier{ChunkQuerier: xorChunkQuerier{q}, t: t, ticket: ticket}, nil
}

// sourcesRLocked returns the blocks overlapping [mint, maxt] and whether the head
// may hold data in it. The head may be appended to before the querier's
// Select, so it is left out only when nothing at or before maxt can enter
// it any more: its data is newer, in-order appends are out of bounds that
// far back (a cut has passed), and so are out-of-order ones.
// historyOverlaps says whether the Prometheus history holds data in
// [mint, maxt]. Where it overlaps mytsdb's own data, the chained merge drops
// the samples both hold.
func (t *Tenant) historyOverlaps(mint, maxt int64) bool {
	return t.history != nil && t.history.MinTime() <= maxt && t.history.MaxTime() >= mint
}

func (t *Tenant) sourcesRLocked(mint, maxt int64) ([]*block.Block, bool) {
	var out []*block.Block
	for _, b := range t.blocks.list {
		// A block's MaxTime is exclusive.
		if b.MinTime() <= maxt && b.MaxTime() > mint {
			out = append(out, b)
		}
	}
	hmin, hmax := t.head.MinTime(), t.head.MaxTime()
	if hmin > hmax { // Empty.
		return out, true
	}
	floor := min(hmin, t.head.MinValidTime())
	if w := t.opts.OutOfOrderTimeWindow; w > 0 {
		floor = min(floor, hmax-w)
	}
	return out, maxt >= floor
}

type trackedQuerier struct {
	promstorage.Querier
	t      *Tenant
	ticket inflight.Ticket
	closed bool
}

func (q *trackedQuerier) Close() error {
	if q.closed {
		return nil
	}
	q.closed = true
	err := q.Querier.Close()
	q.t.readers.End(q.ticket)
	return err
}

type trackedChunkQuerier struct {
	promstorage.ChunkQuerier
	t      *Tenant
	ticket inflight.Ticket
	closed bool
}

func (q *trackedChunkQuerier) Close() error {
	if q.closed {
		return nil
	}
	q.closed = true
	err := q.ChunkQuerier.Close()
	q.t.readers.End(q.ticket)
	return err
}
