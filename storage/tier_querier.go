package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// span is an inclusive time range [lo, hi] in ms.
type span struct{ lo, hi int64 }

// tierSpansRLocked returns the tier's store and the time ranges within
// [mint, maxt] to read from it (under the blocks' read lock): those of its
// blocks that no local block holds. A tier block whose local copy is present
// is not opened: the store's querier for a span opens only the blocks
// overlapping it. Where a block held only in the tier overlaps one also held
// locally (overlapping blocks, rare), the span covers both and the chained
// merge drops the samples read twice.
//
// While the tier is configured but its bucket could not be listed yet
// (unreachable since the start), the error says so: the merge querier turns
// it into a warning, since the answer may lack what only the bucket holds.
func (t *Tenant) tierSpansRLocked(mint, maxt int64) (TierStore, []span, error) {
	if t.tier == nil {
		return nil, nil, nil
	}
	st := t.tier.getStore()
	if st == nil {
		return nil, nil, tierReadError(t.id, errTierNotOpen)
	}
	var remote, local []TierBlock
	for _, b := range st.Blocks() {
		if b.MinTime > maxt || b.MaxTime <= mint { // MaxTime is exclusive
			continue
		}
		if t.heldLocallyRLocked(b) {
			local = append(local, b)
		} else {
			remote = append(remote, b)
		}
	}
	if len(remote) == 0 {
		return nil, nil, nil
	}
	var spans []span
	for _, b := range remote {
		lo, hi := max(b.MinTime, mint), min(b.MaxTime-1, maxt)
		for _, l := range local {
			if l.MinTime <= hi && l.MaxTime > lo {
				lo, hi = min(lo, max(l.MinTime, mint)), max(hi, min(l.MaxTime-1, maxt))
			}
		}
		spans = append(spans, span{lo, hi})
	}
	slices.SortFunc(spans, func(a, b span) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	merged := spans[:1]
	for _, sp := range spans[1:] {
		last := &merged[len(merged)-1]
		if sp.lo <= last.hi+1 {
			last.hi = max(last.hi, sp.hi)
			continue
		}
		merged = append(merged, sp)
	}
	return st, merged, nil
}

var errTierNotOpen = errors.New("its bucket has not been reachable since the start")

// tierError marks an error as the tier's, said once.
type tierError struct{ error }

func (e tierError) Unwrap() error { return e.error }

func tierReadError(tenant string, err error) error {
	return tierError{fmt.Errorf("parquet tier of tenant %s unreadable, its blocks are missing from the result: %w", tenant, err)}
}

// failingQuerier stands for a tier store that could not open a querier:
// as a secondary of the merge querier its errors become warnings.
type failingQuerier struct{ err error }

func (q failingQuerier) Select(context.Context, bool, *promstorage.SelectHints, ...*labels.Matcher) promstorage.SeriesSet {
	return promstorage.ErrSeriesSet(q.err)
}

func (q failingQuerier) LabelValues(context.Context, string, *promstorage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, q.err
}

func (q failingQuerier) LabelNames(context.Context, *promstorage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, q.err
}

func (failingQuerier) Close() error { return nil }

type failingChunkQuerier struct{ err error }

func (q failingChunkQuerier) Select(context.Context, bool, *promstorage.SelectHints, ...*labels.Matcher) promstorage.ChunkSeriesSet {
	return promstorage.ErrChunkSeriesSet(q.err)
}

func (q failingChunkQuerier) LabelValues(context.Context, string, *promstorage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, q.err
}

func (q failingChunkQuerier) LabelNames(context.Context, *promstorage.LabelHints, ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return nil, nil, q.err
}

func (failingChunkQuerier) Close() error { return nil }

// warningQuerier turns a tier querier's errors into warnings. Upstream's
// secondary queriers (NewMergeQuerier's secondaries) do the same but panic
// when Select is called after a series set was iterated, which PromQL does
// (the info function selects during evaluation), so the tier's queriers are
// merged as primaries behind this instead. A set that fails midway keeps
// the series it gave and ends with the error as a warning.
type warningQuerier struct {
	promstorage.Querier
	tenant string
}

func (q warningQuerier) Select(ctx context.Context, sortSeries bool, hints *promstorage.SelectHints, ms ...*labels.Matcher) promstorage.SeriesSet {
	return &warningSeriesSet{SeriesSet: q.Querier.Select(ctx, sortSeries, hints, ms...), tenant: q.tenant}
}

func (q warningQuerier) LabelValues(ctx context.Context, name string, hints *promstorage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	vs, ws, err := q.Querier.LabelValues(ctx, name, hints, ms...)
	if err != nil {
		return nil, ws.Add(asTierError(q.tenant, err)), nil
	}
	return vs, ws, nil
}

func (q warningQuerier) LabelNames(ctx context.Context, hints *promstorage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	ns, ws, err := q.Querier.LabelNames(ctx, hints, ms...)
	if err != nil {
		return nil, ws.Add(asTierError(q.tenant, err)), nil
	}
	return ns, ws, nil
}

type warningSeriesSet struct {
	promstorage.SeriesSet
	tenant string
}

func (s *warningSeriesSet) Err() error { return nil }

func (s *warningSeriesSet) Warnings() annotations.Annotations {
	ws := s.SeriesSet.Warnings()
	if err := s.SeriesSet.Err(); err != nil {
		ws = ws.Add(asTierError(s.tenant, err))
	}
	return ws
}

type warningChunkQuerier struct {
	promstorage.ChunkQuerier
	tenant string
}

func (q warningChunkQuerier) Select(ctx context.Context, sortSeries bool, hints *promstorage.SelectHints, ms ...*labels.Matcher) promstorage.ChunkSeriesSet {
	return &warningChunkSeriesSet{ChunkSeriesSet: q.ChunkQuerier.Select(ctx, sortSeries, hints, ms...), tenant: q.tenant}
}

func (q warningChunkQuerier) LabelValues(ctx context.Context, name string, hints *promstorage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	vs, ws, err := q.ChunkQuerier.LabelValues(ctx, name, hints, ms...)
	if err != nil {
		return nil, ws.Add(asTierError(q.tenant, err)), nil
	}
	return vs, ws, nil
}

func (q warningChunkQuerier) LabelNames(ctx context.Context, hints *promstorage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	ns, ws, err := q.ChunkQuerier.LabelNames(ctx, hints, ms...)
	if err != nil {
		return nil, ws.Add(asTierError(q.tenant, err)), nil
	}
	return ns, ws, nil
}

type warningChunkSeriesSet struct {
	promstorage.ChunkSeriesSet
	tenant string
}

func (s *warningChunkSeriesSet) Err() error { return nil }

func (s *warningChunkSeriesSet) Warnings() annotations.Annotations {
	ws := s.ChunkSeriesSet.Warnings()
	if err := s.ChunkSeriesSet.Err(); err != nil {
		ws = ws.Add(asTierError(s.tenant, err))
	}
	return ws
}

// asTierError names the tier in err unless it does already.
func asTierError(tenant string, err error) error {
	var te tierError
	if errors.As(err, &te) {
		return err
	}
	return tierReadError(tenant, err)
}
