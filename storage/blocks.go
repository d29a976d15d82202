package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"

	"mytsdb/storage/block"
	"mytsdb/storage/compaction"
	"mytsdb/storage/crashpoint"
)

// blocksDirName is the directory of a tenant's blocks: <tenant>/blocks/<ULID>/.
const blocksDirName = "blocks"

// allSeries selects every series (the postings fast path for ".*").
var allSeries = labels.MustNewMatcher(labels.MatchRegexp, labels.MetricName, ".*")

// openBlocks opens every block of the tenant, removes what a crash left
// (temporary and half-deleted directories, blocks superseded by a compaction
// whose parents were not deleted yet) and leaves damaged blocks out, with a
// log line and mytsdb_tsdb_corrupt_blocks.
func (t *Tenant) openBlocks() error {
	if err := os.MkdirAll(t.blocksDir, 0o755); err != nil {
		return fmt.Errorf("storage: tenant %s: %w", t.id, err)
	}
	entries, err := os.ReadDir(t.blocksDir)
	if err != nil {
		return fmt.Errorf("storage: tenant %s: %w", t.id, err)
	}
	var (
		opened  []*block.Block
		corrupt int
	)
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(t.blocksDir, name)
		if block.IsTmpDir(name) {
			if err := os.RemoveAll(path); err != nil {
				return fmt.Errorf("storage: tenant %s: remove leftover %s: %w", t.id, name, err)
			}
			continue
		}
		if _, ok := block.ParseDirName(name); !ok || !e.IsDir() {
			t.logger.Warn("Ignoring an entry of the blocks directory that is not a block", "entry", name)
			continue
		}
		b, err := block.Open(path, t.logger)
		if err != nil {
			corrupt++
			t.logger.Error("Block left out: it cannot be read; the rest is served", "block", name, "err", err)
			continue
		}
		opened = append(opened, b)
	}
	t.metrics.corruptBlocks.Set(float64(corrupt))
	// A compaction writes its block, then deletes its parents: a crash in
	// between leaves both, and the parents' data twice.
	parents := map[ulid.ULID]bool{}
	for _, b := range opened {
		for _, p := range b.Meta().Compaction.Parents {
			parents[p.ULID] = true
		}
	}
	var keep, superseded []*block.Block
	for _, b := range opened {
		if parents[b.Meta().ULID] {
			superseded = append(superseded, b)
		} else {
			keep = append(keep, b)
		}
	}
	t.setBlocks(keep)
	return t.retireBlocks(superseded)
}

// ReloadBlocks reads the tenant's blocks directory again: block directories
// that appeared (a backfill, blocks copied from another server) are opened
// and served, blocks whose directory is gone are closed and no longer
// served, and blocks named as parents by another are retired, as at open.
// The DB calls it every Options.BlockReloadInterval.
func (t *Tenant) ReloadBlocks() error {
	t.cutMu.Lock()
	defer t.cutMu.Unlock()
	if t.isClosed() {
		return nil
	}
	entries, err := os.ReadDir(t.blocksDir)
	if err != nil {
		return fmt.Errorf("storage: tenant %s: reload blocks: %w", t.id, err)
	}
	current := t.blockList()
	known := map[string]*block.Block{}
	for _, b := range current {
		known[filepath.Base(b.Dir())] = b
	}
	present := map[string]bool{}
	var added, gone []*block.Block
	corrupt := 0
	for _, e := range entries {
		name := e.Name()
		if _, ok := block.ParseDirName(name); !ok || !e.IsDir() {
			continue // temporary directories belong to a cut or compaction in flight
		}
		present[name] = true
		if known[name] != nil {
			continue
		}
		b, err := block.Open(filepath.Join(t.blocksDir, name), t.logger)
		if err != nil {
			corrupt++
			t.logger.Error("Block left out: it cannot be read; the rest is served", "block", name, "err", err)
			continue
		}
		t.logger.Info("Block found in the blocks directory is served", "block", name)
		added = append(added, b)
	}
	for name, b := range known {
		if !present[name] {
			t.logger.Info("Block removed from the blocks directory is no longer served", "block", name)
			gone = append(gone, b)
		}
	}
	t.metrics.corruptBlocks.Set(float64(corrupt))
	parents := map[ulid.ULID]bool{}
	for _, b := range append(slices.Clip(current), added...) {
		for _, p := range b.Meta().Compaction.Parents {
			parents[p.ULID] = true
		}
	}
	var superseded, addKept []*block.Block
	for _, b := range added {
		if parents[b.Meta().ULID] {
			superseded = append(superseded, b)
		} else {
			addKept = append(addKept, b)
		}
	}
	for _, b := range current {
		if parents[b.Meta().ULID] && present[filepath.Base(b.Dir())] {
			superseded = append(superseded, b)
		}
	}
	if len(addKept) == 0 && len(gone) == 0 && len(superseded) == 0 {
		return nil
	}
	t.swapBlocks(addKept, append(slices.Clip(gone), superseded...))
	var errs []error
	for _, b := range gone {
		// Its files are gone already; Close waits for the queriers on it.
		if err := b.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := t.retireBlocks(superseded); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func sortBlocks(bs []*block.Block) {
	slices.SortFunc(bs, func(a, b *block.Block) int {
		if c := cmp.Compare(a.MinTime(), b.MinTime()); c != 0 {
			return c
		}
		return a.Meta().ULID.Compare(b.Meta().ULID)
	})
}

func (t *Tenant) setBlocks(bs []*block.Block) {
	sortBlocks(bs)
	t.blocks.Lock()
	t.blocks.list = bs
	t.blocks.Unlock()
}

// blockList returns the open blocks, sorted by MinTime. The slice is never
// modified: a change replaces it.
func (t *Tenant) blockList() []*block.Block {
	t.blocks.RLock()
	defer t.blocks.RUnlock()
	return t.blocks.list
}

func (t *Tenant) blocksBytes() int64 {
	var n int64
	for _, b := range t.blockList() {
		n += b.Size()
	}
	return n
}

// swapBlocks makes add visible and remove invisible to new readers, at once.
func (t *Tenant) swapBlocks(add []*block.Block, remove []*block.Block) {
	t.blocks.Lock()
	defer t.blocks.Unlock()
	next := make([]*block.Block, 0, len(t.blocks.list)+len(add))
	for _, b := range t.blocks.list {
		if !slices.Contains(remove, b) {
			next = append(next, b)
		}
	}
	next = append(next, add...)
	sortBlocks(next)
	t.blocks.list = next
}

// retireBlocks closes blocks no reader can reach any more (Close waits for
// the queriers still open on them) and deletes their directories.
func (t *Tenant) retireBlocks(bs []*block.Block) error {
	var errs []error
	for i, b := range bs {
		if err := b.Close(); err != nil {
			errs = append(errs, err)
		}
		if err := block.Remove(b.Dir()); err != nil {
			errs = append(errs, fmt.Errorf("storage: tenant %s: %w", t.id, err))
		}
		if i == 0 && len(bs) > 1 {
			crashpoint.Reach(crashpoint.CompactParentGone)
		}
	}
	return errors.Join(errs...)
}

// maintain is one round of the tenant's background work: cut what the head
// holds of past ranges into blocks, compact, apply retention. One round runs
// at a time; appends and queries never wait on it (a cut waits for the
// appenders and queriers already in flight only).
func (t *Tenant) maintain(ctx context.Context) error {
	t.cutMu.Lock()
	defer t.cutMu.Unlock()
	if t.isClosed() {
		return nil
	}
	var errs []error
	if err := t.cutHeadLocked(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := t.compactLocked(ctx); err != nil {
		errs = append(errs, err)
	}
	// Before retention: a block retention expires is in the tier first
	// (unless the tier's retention expires it too).
	if err := t.tierLocked(ctx); err != nil {
		errs = append(errs, err)
	}
	// Retention deletes blocks only, as Prometheus's: the head keeps
	// everything until it is cut, so nothing skips the blocks.
	if err := t.applyBlockRetentionLocked(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// cutHeadLocked writes every range of the head that is due (Head.Compactable)
// as a block, oldest first.
func (t *Tenant) cutHeadLocked(ctx context.Context) error {
	for {
		mint, maxt, ok := t.head.Compactable()
		if ok && t.opts.CompactionDelay > 0 {
			if t.dueSince.IsZero() {
				t.dueSince = time.Now()
			}
			if time.Since(t.dueSince) < t.opts.CompactionDelay {
				return nil
			}
		}
		if !ok {
			t.dueSince = time.Time{}
			return nil
		}
		if err := t.cutRangeLocked(ctx, mint, maxt); err != nil {
			return err
		}
	}
}

// cutRangeLocked writes the head's data before maxt as level-1 blocks (the
// range [mint, maxt), and one block per older range that out-of-order
// samples reached meanwhile), then drops it from the head. A failure (disk
// full) leaves the head as it was: the same range is cut again next round.
func (t *Tenant) cutRangeLocked(ctx context.Context, mint, maxt int64) error {
	start := time.Now()
	t.metrics.compactionsTrig.Inc()
	task := t.opts.tasks.begin(Task{Tenant: t.id, Kind: TaskHeadCut, Detail: fmt.Sprintf("head range [%d, %d)", mint, maxt)})
	defer task.end()
	if err := t.head.PrepareCut(ctx, maxt); err != nil {
		t.head.AbortCut()
		return fmt.Errorf("storage: tenant %s: cut [%d, %d): %w", t.id, mint, maxt, err)
	}
	// Out-of-order samples older than mint may have come in after the
	// range was chosen; FinishCut drops everything before maxt, so they
	// must be in a block too. None can come in now.
	r := t.head.ChunkRange()
	if lo := t.head.MinTime(); lo < mint {
		mint = lo - lo%r
		if lo < 0 && lo%r != 0 {
			mint -= r
		}
	}
	// Like Prometheus, a block starts at the head's start when that is
	// inside its range (the first block of a new head starts at its first
	// sample), at the range's start otherwise.
	hmin := t.head.MinTime()
	var written []*block.Block
	abort := func(err error) error {
		t.head.AbortCut()
		t.metrics.compactionsFailed.Inc()
		for _, b := range written {
			_ = b.Close()
			_ = block.Remove(b.Dir())
		}
		return fmt.Errorf("storage: tenant %s: cut [%d, %d): %w", t.id, mint, maxt, err)
	}
	for lo := mint; lo < maxt; lo += r {
		b, err := t.writeHeadBlock(ctx, t.blocksDir, max(lo, hmin), lo+r)
		switch {
		case errors.Is(err, block.ErrEmpty):
		case err != nil:
			return abort(err)
		default:
			written = append(written, b)
		}
	}
	if len(written) > 0 {
		crashpoint.Reach(crashpoint.CutWritten)
		t.swapBlocks(written, nil)
	}
	// Queriers begun before the blocks were visible may still read the
	// head's copy of the range.
	if err := t.readers.WaitBefore(ctx, t.readers.Mark()); err != nil {
		t.head.AbortCut()
		return fmt.Errorf("storage: tenant %s: cut [%d, %d): %w", t.id, mint, maxt, err)
	}
	if err := t.head.FinishCut(maxt); err != nil {
		return fmt.Errorf("storage: tenant %s: %w", t.id, err)
	}
	t.metrics.headCuts.Inc()
	t.metrics.compactions.Inc()
	t.metrics.compactionDuration.Observe(time.Since(start).Seconds())
	for _, b := range written {
		t.logger.Info("Head range written as a block", "block", b.Meta().ULID, "mint", b.MinTime(), "maxt", b.MaxTime(),
			"series", b.Meta().Stats.NumSeries, "samples", b.Meta().Stats.NumSamples, "duration", time.Since(start))
	}
	return nil
}

// writeHeadBlock writes the head's data in [mint, maxt) as a block under
// dir and opens it.
func (t *Tenant) writeHeadBlock(ctx context.Context, dir string, mint, maxt int64) (*block.Block, error) {
	q, err := t.head.ChunkQuerier(mint, maxt-1)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	meta, err := block.Write(ctx, dir, q.Select(ctx, true, nil, allSeries), block.WriteOptions{
		MinTime: mint, MaxTime: maxt, Logger: t.logger, SegmentSize: t.opts.BlockSegmentSize,
	})
	if err != nil {
		return nil, err
	}
	return block.Open(filepath.Join(dir, meta.ULID.String()), t.logger)
}

func describe(bs []*block.Block) []compaction.Block {
	out := make([]compaction.Block, len(bs))
	for i, b := range bs {
		m := b.Meta()
		out[i] = compaction.Block{
			ID: m.ULID, MinTime: m.MinTime, MaxTime: m.MaxTime, Level: m.Compaction.Level,
			Size: b.Size(), NumSeries: m.Stats.NumSeries, NumTombstones: b.NumTombstones(),
			Failed: m.Compaction.Failed,
		}
	}
	return out
}

func pick(bs []*block.Block, ids []ulid.ULID) []*block.Block {
	var out []*block.Block
	for _, b := range bs {
		if slices.Contains(ids, b.Meta().ULID) {
			out = append(out, b)
		}
	}
	return out
}

// compactionCandidates are the blocks the planner may pick from: all of
// them, or those before the first that Options.CompactionExclude excludes
// (compacting around it would leave gaps of single uncompacted blocks).
func (t *Tenant) compactionCandidates() []*block.Block {
	bs := t.blockList()
	if t.opts.CompactionExclude == nil {
		return bs
	}
	for i, b := range bs {
		if t.opts.CompactionExclude(b.Meta()) {
			return bs[:i]
		}
	}
	return bs
}

// compactLocked runs the compactions the planner asks for until none is left.
func (t *Tenant) compactLocked(ctx context.Context) error {
	for ctx.Err() == nil {
		bs := t.compactionCandidates()
		sel := pick(bs, compaction.PlanWithOptions(describe(bs), t.ranges,
			compaction.PlanOptions{NoOverlapping: t.opts.NoOverlappingCompaction}))
		if len(sel) == 0 {
			return nil
		}
		if len(sel) == 1 && sel[0].NumTombstones() > 0 {
			if err := t.rewriteLocked(ctx, sel[0]); err != nil {
				return err
			}
			continue
		}
		t.metrics.compactionsTrig.Inc()
		start := time.Now()
		task := t.opts.tasks.begin(Task{Tenant: t.id, Kind: TaskCompaction, Detail: compactionDetail(sel)})
		meta, err := block.Compact(ctx, t.blocksDir, sel, block.WriteOptions{Logger: t.logger, SegmentSize: t.opts.BlockSegmentSize})
		task.end() // the swap and retirement below are quick
		var nb *block.Block
		if err == nil {
			nb, err = block.Open(filepath.Join(t.blocksDir, meta.ULID.String()), t.logger)
		}
		switch {
		case errors.Is(err, block.ErrEmpty): // Everything was deleted.
		case err != nil:
			t.metrics.compactionsFailed.Inc()
			return fmt.Errorf("storage: tenant %s: compact %d blocks: %w", t.id, len(sel), err)
		}
		var add []*block.Block
		if nb != nil {
			crashpoint.Reach(crashpoint.CompactWritten)
			add = append(add, nb)
		}
		t.swapBlocks(add, sel)
		t.metrics.compactions.Inc()
		t.metrics.compactionDuration.Observe(time.Since(start).Seconds())
		if nb != nil {
			t.logger.Info("Blocks compacted", "block", nb.Meta().ULID, "mint", nb.MinTime(), "maxt", nb.MaxTime(),
				"sources", len(sel), "level", nb.Meta().Compaction.Level, "duration", time.Since(start))
		}
		if err := t.retireBlocks(sel); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// rewriteLocked rewrites one block without its tombstones (the deleted
// samples gone), keeping its range, level and sources.
func (t *Tenant) rewriteLocked(ctx context.Context, b *block.Block) error {
	m := b.Meta()
	task := t.opts.tasks.begin(Task{Tenant: t.id, Kind: TaskCompaction, Detail: "rewrite without tombstones: " + compactionDetail([]*block.Block{b})})
	defer task.end()
	meta, err := block.Compact(ctx, t.blocksDir, []*block.Block{b}, block.WriteOptions{
		MinTime: m.MinTime, MaxTime: m.MaxTime,
		Compaction: block.Compaction{
			Level: m.Compaction.Level, Sources: m.Compaction.Sources,
			Parents: []block.BlockDesc{{ULID: m.ULID, MinTime: m.MinTime, MaxTime: m.MaxTime}},
		},
		Logger: t.logger, SegmentSize: t.opts.BlockSegmentSize,
	})
	var nb *block.Block
	if err == nil {
		nb, err = block.Open(filepath.Join(t.blocksDir, meta.ULID.String()), t.logger)
	}
	if err != nil && !errors.Is(err, block.ErrEmpty) {
		return fmt.Errorf("storage: tenant %s: rewrite block %s: %w", t.id, m.ULID, err)
	}
	var add []*block.Block
	if nb != nil {
		crashpoint.Reach(crashpoint.TombstonesRewritten)
		add = append(add, nb)
	}
	t.swapBlocks(add, []*block.Block{b})
	t.metrics.tombstoneCleans.Inc()
	return t.retireBlocks([]*block.Block{b})
}

// applyBlockRetentionLocked deletes the blocks time and size retention
// expire, whole, as Prometheus does.
func (t *Tenant) applyBlockRetentionLocked() error {
	bs := t.blockList()
	var walBytes int64
	if t.wal != nil {
		walBytes, _ = t.wal.Size()
	}
	if t.head != nil {
		// As Prometheus's Head.Size: the WAL and the head's chunk files.
		walBytes += t.head.ChunkFilesSize()
	}
	exp := compaction.Expired(describe(bs), t.opts.RetentionDuration.Milliseconds(), t.opts.RetentionSize, walBytes)
	if t.tier != nil && len(exp) > 0 {
		// With the tier on, a block leaves the disk only once the tier
		// holds it: a bucket outage keeps it here.
		newest := int64(math.MinInt64)
		for _, b := range bs {
			newest = max(newest, b.MaxTime())
		}
		kept := exp[:0:0]
		for _, e := range exp {
			if b := t.findBlock(e.ID); b != nil && t.tierHolds(e.ID, b.MaxTime(), newest) {
				kept = append(kept, e)
			}
		}
		exp = kept
	}
	if len(exp) == 0 {
		return nil
	}
	ids := make([]ulid.ULID, len(exp))
	var byTime, bySize bool
	for i, e := range exp {
		ids[i] = e.ID
		switch e.Reason {
		case compaction.ReasonTime:
			byTime = true
		case compaction.ReasonSize:
			bySize = true
		}
	}
	sel := pick(bs, ids)
	t.swapBlocks(nil, sel)
	if byTime {
		t.metrics.timeRetentions.Inc()
	}
	if bySize {
		t.metrics.sizeRetentions.Inc()
	}
	for _, e := range exp {
		t.logger.Info("Deleting block by retention", "block", e.ID, "reason", e.Reason)
	}
	return t.retireBlocks(sel)
}
