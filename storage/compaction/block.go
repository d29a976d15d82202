package compaction

import (
	"slices"

	"github.com/oklog/ulid/v2"
)

// Partial-view hints of Prometheus's meta.Compaction.Hints: blocks carrying
// one are compacted only with blocks carrying the same one.
const (
	HintFromStaleSeries    = "from-stale-series"
	HintFromSelectedSeries = "from-selected-series"
)

// Block describes one persisted block, as its meta.json does.
type Block struct {
	ID            ulid.ULID
	MinTime       int64 // inclusive, ms
	MaxTime       int64 // exclusive, ms (Prometheus's block meta convention)
	Level         int
	Size          int64 // bytes on disk
	NumSeries     uint64
	NumTombstones uint64
	Failed        bool // a compaction of it failed before (Prometheus's meta.Compaction.Failed)
	// Hints is meta.Compaction.Hints; only HintFromStaleSeries and
	// HintFromSelectedSeries change planning. Nil for ordinary blocks.
	Hints []string
}

// byIDThen returns a copy of blocks in Prometheus's order: listed by ID (its
// directory listing is in name order, and a ULID's text sorts as its bytes),
// then sorted with cmp by the same unstable sort Prometheus uses, so that
// ties come out as they do upstream.
func byIDThen(blocks []Block, cmp func(a, b Block) int) []Block {
	s := slices.Clone(blocks)
	slices.SortFunc(s, func(a, b Block) int { return a.ID.Compare(b.ID) })
	slices.SortFunc(s, cmp)
	return s
}

func ids(blocks []Block) []ulid.ULID {
	if len(blocks) == 0 {
		return nil
	}
	res := make([]ulid.ULID, len(blocks))
	for i, b := range blocks {
		res[i] = b.ID
	}
	return res
}
