package compaction

import (
	"cmp"
	"slices"

	"github.com/oklog/ulid/v2"
)

// tombstoneRatio is the share of tombstones per series above which a block
// spanning at least the middle range is rewritten alone.
const tombstoneRatio = 0.05

// Plan returns the IDs of the blocks to compact together next, nil when there
// is nothing to do, as Prometheus v0.316's LeveledCompactor.Plan with
// overlapping compaction on (see the package doc for the rules). ranges are
// the compaction ranges in ms, positive and ascending (Ranges); with no ranges Plan
// returns nil (Prometheus refuses to build a compactor without one). Input
// may be unsorted; the result is in MinTime order, ties as Prometheus orders
// them.
func Plan(blocks []Block, ranges []int64) []ulid.ULID {
	return PlanWithOptions(blocks, ranges, PlanOptions{})
}

// PlanOptions changes what Plan does; the zero value is Prometheus's
// default.
type PlanOptions struct {
	// NoOverlapping is --storage.tsdb.allow-overlapping-compaction=false
	// (LeveledCompactorOptions.EnableOverlappingCompaction false): the step
	// that merges overlapping blocks first is skipped, and only leveled
	// compactions and tombstone rewrites are planned.
	NoOverlapping bool
}

// PlanWithOptions is Plan with options.
func PlanWithOptions(blocks []Block, ranges []int64, opts PlanOptions) []ulid.ULID {
	if len(blocks) == 0 || len(ranges) == 0 {
		return nil
	}
	// Prometheus lists block directories in ULID order and partitions them
	// by class keeping that order; planClass then sorts each class.
	s := slices.Clone(blocks)
	slices.SortFunc(s, func(a, b Block) int { return a.ID.Compare(b.ID) })
	var stale, selected, regular []Block
	for _, b := range s {
		switch {
		case slices.Contains(b.Hints, HintFromStaleSeries):
			stale = append(stale, b)
		case slices.Contains(b.Hints, HintFromSelectedSeries):
			selected = append(selected, b)
		default:
			regular = append(regular, b)
		}
	}
	for _, class := range [][]Block{regular, stale, selected} {
		if res := planClass(class, ranges, !opts.NoOverlapping); len(res) > 0 {
			return res
		}
	}
	return nil
}

// planClass plans blocks of one class, given in ID order.
func planClass(blocks []Block, ranges []int64, overlap bool) []ulid.ULID {
	if len(blocks) == 0 {
		return nil
	}
	slices.SortFunc(blocks, func(a, b Block) int { return cmp.Compare(a.MinTime, b.MinTime) })

	if overlap {
		if res := overlapping(blocks); len(res) > 0 {
			return ids(res)
		}
	}
	// The newest block (greatest MinTime), usually just cut from the head,
	// stays out of leveled compaction and of tombstone rewrites: it leaves a
	// full block's time to back it up without overlaps.
	older := blocks[:len(blocks)-1]
	if res := leveled(older, ranges); len(res) > 0 {
		return ids(res)
	}
	if b, ok := tombstoned(older, ranges[len(ranges)/2]); ok {
		return []ulid.ULID{b.ID}
	}
	return nil
}

// overlapping returns the first run of blocks (sorted by MinTime) whose time
// ranges overlap the union of those before them.
func overlapping(blocks []Block) []Block {
	if len(blocks) < 2 {
		return nil
	}
	start := -1
	reach := blocks[0].MaxTime // greatest MaxTime so far
	for i := 1; i < len(blocks); i++ {
		b := blocks[i]
		if b.MinTime < reach {
			if start < 0 {
				start = i - 1
			}
		} else if start >= 0 {
			return blocks[start:i]
		}
		reach = max(reach, b.MaxTime)
	}
	if start < 0 {
		return nil
	}
	return blocks[start:]
}

// leveled returns the blocks (sorted by MinTime, not overlapping) to merge
// into one block of the smallest range, from ranges[1:], that has a group of
// at least two blocks which spans its aligned window, or ends no later than
// the newest of these blocks starts, and holds no failed block.
func leveled(blocks []Block, ranges []int64) []Block {
	if len(ranges) < 2 || len(blocks) == 0 {
		return nil
	}
	newestStart := blocks[len(blocks)-1].MinTime
	for _, r := range ranges[1:] {
	group:
		for _, g := range splitByRange(blocks, r) {
			if len(g) < 2 {
				continue
			}
			for _, b := range g {
				if b.Failed {
					continue group
				}
			}
			mint, maxt := g[0].MinTime, g[len(g)-1].MaxTime
			if maxt-mint == r || maxt <= newestStart {
				return g
			}
		}
	}
	return nil
}

// splitByRange groups consecutive blocks (sorted by MinTime) that lie within
// one window [k*r, (k+1)*r]; a block reaching past the window its MinTime
// falls in belongs to no group.
func splitByRange(blocks []Block, r int64) [][]Block {
	var groups [][]Block
	for i := 0; i < len(blocks); {
		end := floorDiv(blocks[i].MinTime, r)*r + r
		if blocks[i].MaxTime > end {
			i++
			continue
		}
		j := i
		for j < len(blocks) && blocks[j].MaxTime <= end {
			j++
		}
		groups = append(groups, blocks[i:j])
		i = j
	}
	return groups
}

// floorDiv is a/b rounded towards negative infinity, for b > 0, computed as
// Prometheus computes a window start for a negative MinTime.
func floorDiv(a, b int64) int64 {
	if a >= 0 {
		return a / b
	}
	return (a - b + 1) / b
}

// tombstoned scans blocks (sorted by MinTime) newest first for one to
// rewrite alone: one spanning at least minSpan with more than 5% tombstones
// per series (+1), or, at the first shorter block, where the scan ends, that
// block if it is entirely deleted.
func tombstoned(blocks []Block, minSpan int64) (Block, bool) {
	for i := len(blocks) - 1; i >= 0; i-- {
		b := blocks[i]
		if b.MaxTime-b.MinTime < minSpan {
			// One tombstone is taken to delete one series.
			return b, b.NumTombstones > 0 && b.NumTombstones >= b.NumSeries
		}
		if float64(b.NumTombstones)/float64(b.NumSeries+1) > tombstoneRatio {
			return b, true
		}
	}
	return Block{}, false
}
