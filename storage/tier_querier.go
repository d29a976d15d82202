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

func tierReadError(tenant string, err error) error {
	return fmt.Errorf("parquet tier of tenant %s unreadable, its blocks are missing from the result: %w", tenant, err)
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
