// Package compaction holds the pure decisions of the block lifecycle: which
// blocks to compact together next (Plan), which compaction ranges a set of
// flags yields (Ranges, ExponentialRanges) and which blocks retention deletes
// (Expired). It decides, it never does: every function works on plain Block
// descriptions and returns IDs.
//
// The rules are Prometheus v0.316's, reimplemented (not copied) and checked
// against upstream's own code by differential tests (upstream_test.go) as
// well as by hand-written transcripts (testdata/*.txt):
//
//   - Plan is tsdb.LeveledCompactor.Plan with overlapping compaction enabled
//     (Prometheus's default): blocks are sorted by MinTime; the first run of
//     overlapping blocks wins; otherwise the newest block (greatest MinTime)
//     is left out and ranges[1:] are tried, smallest first, for a group of at
//     least two blocks inside one aligned window that either spans the whole
//     window (gaps allowed) or ends no later than the newest remaining block
//     starts; groups holding a Failed block are skipped (Failed does not stop
//     overlapping compaction or rewrites). Failing that, a newest-first
//     scan (newest block still left out) rewrites one block alone if it
//     spans at least ranges[len(ranges)/2] and
//     NumTombstones/(NumSeries+1) > 5%; the scan
//     stops at the first shorter block, which is rewritten only if it is
//     entirely deleted (NumTombstones > 0 and NumTombstones >= NumSeries).
//     Level and Size play no part. Blocks carrying the partial-view hints
//     "from-stale-series" or "from-selected-series" are planned only with
//     blocks of the same class, regular blocks first.
//   - Ranges is ExponentialRanges(min, 10, 3) cut before the first range
//     above the maximum block duration; a zero maximum is derived as
//     cmd/prometheus derives it (10% of the time retention, at most 31d).
//   - Expired is tsdb's BeyondTimeRetention and BeyondSizeRetention: the
//     time rule's reference is the newest block's MaxTime (never the head's),
//     so the newest block is never deleted for time; the size rule starts
//     from the head's on-disk bytes (WAL, WBL, head chunks) and adds blocks
//     newest first.
//
// Ties are broken exactly as Prometheus breaks them: it lists block
// directories in name (ULID) order and sorts them with the unstable
// slices.SortFunc, so this package sorts by ID first and then with the same
// comparator, which yields the same order.
//
// The package owns nothing on disk. It must not open files, know the block
// format, the head, the WAL, tenants or HTTP; callers read block metas and
// act on the answers (compact, delete, mark failed).
//
// Caveats:
//   - Plan returns one group; after the caller compacts it, reload the block
//     list and call Plan again until it returns nil, as Prometheus's
//     compaction loop does.
//   - Plan has no notion of Prometheus's BlockExcludeFilter (unset in
//     Prometheus) nor of vertical compaction being disabled: callers that
//     must not compact some blocks leave them out of the input, keeping in
//     mind that Prometheus stops at the first excluded block in ULID order.
//   - Expired does not cover blocks Prometheus deletes for other reasons
//     (meta.Compaction.Deletable, parents of a compacted block); the caller
//     handles those.
//   - The returned slices are new; the input slice is never reordered.
package compaction
