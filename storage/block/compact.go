package block

import (
	"context"
	"errors"
	"math"
	"slices"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// Compact merges blocks (which may overlap in time) into one new block in
// parentDir and returns its meta. Series are merged with
// storage.NewCompactingChunkSeriesMerger(storage.ChainedSeriesMerge), so
// duplicate samples (same series, same timestamp) are kept once; deleted
// samples are left out, which is how compacting a single block cleans its
// tombstones. ErrEmpty when nothing remains.
//
// opts.MinTime and MaxTime default (when both are 0) to the union of the
// blocks' ranges. Compaction.Level defaults to the highest level plus one,
// Sources to the sorted union of the blocks' sources, Parents to the blocks.
// The blocks stay open; the caller closes and removes them.
func Compact(ctx context.Context, parentDir string, blocks []*Block, opts WriteOptions) (Meta, error) {
	if len(blocks) == 0 {
		return Meta{}, errors.New("block: compact of no blocks")
	}
	metas := make([]Meta, len(blocks))
	for i, b := range blocks {
		metas[i] = b.Meta()
	}
	if opts.MinTime == 0 && opts.MaxTime == 0 {
		opts.MinTime, opts.MaxTime = math.MaxInt64, math.MinInt64
		for _, m := range metas {
			opts.MinTime = min(opts.MinTime, m.MinTime)
			opts.MaxTime = max(opts.MaxTime, m.MaxTime)
		}
	}
	if opts.Compaction.Level == 0 {
		for _, m := range metas {
			opts.Compaction.Level = max(opts.Compaction.Level, m.Compaction.Level+1)
		}
	}
	if len(opts.Compaction.Sources) == 0 {
		var sources []ulid.ULID
		for _, m := range metas {
			sources = append(sources, m.Compaction.Sources...)
		}
		slices.SortFunc(sources, func(a, b ulid.ULID) int { return a.Compare(b) })
		opts.Compaction.Sources = slices.Compact(sources)
	}
	if len(opts.Compaction.Parents) == 0 {
		for _, m := range metas {
			opts.Compaction.Parents = append(opts.Compaction.Parents, BlockDesc{ULID: m.ULID, MinTime: m.MinTime, MaxTime: m.MaxTime})
		}
	}
	if opts.MinTime >= opts.MaxTime {
		return Meta{}, errors.New("block: compact into an empty range")
	}

	queriers := make([]storage.ChunkQuerier, 0, len(blocks))
	defer func() {
		for _, q := range queriers {
			q.Close()
		}
	}()
	for _, b := range blocks {
		q, err := b.ChunkQuerier(opts.MinTime, opts.MaxTime-1)
		if err != nil {
			return Meta{}, err
		}
		queriers = append(queriers, q)
	}
	merged := storage.NewMergeChunkQuerier(queriers, nil, storage.NewCompactingChunkSeriesMerger(storage.ChainedSeriesMerge))
	set := merged.Select(ctx, true, nil, labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".*"))
	return Write(ctx, parentDir, set, opts)
}
