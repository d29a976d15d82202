package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"

	"mytsdb/storage/block"
	"mytsdb/storage/crashpoint"
)

// tierState is a tenant's side of the object-storage tier.
type tierState struct {
	tier    Tier
	reg     prometheus.Registerer
	metrics *tierMetrics

	// Set by maintenance rounds (under cutMu), read by queriers.
	mu struct {
		sync.Mutex
		store TierStore
	}

	// Under the tenant's cutMu.
	verified map[ulid.ULID]uint64 // block → its tombstone count when verified against the local copy
	failures int                  // consecutive failed rounds
	retryAt  time.Time            // no bucket work before (backoff)
}

func newTierState(tier Tier, reg prometheus.Registerer) *tierState {
	return &tierState{tier: tier, reg: reg, metrics: newTierMetrics(reg), verified: map[ulid.ULID]uint64{}}
}

// BucketBytes is the size of the tenant's blocks in the tier, as their
// meta.json files say; false without a tier or before its store is open.
func (t *Tenant) BucketBytes() (int64, bool) {
	st := t.tier.getStore()
	if st == nil {
		return 0, false
	}
	var n int64
	for _, b := range st.Blocks() {
		n += b.Bytes
	}
	return n, true
}

func (s *tierState) getStore() TierStore {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.store
}

// failed records a failed round and schedules the next try: 10s, 20s, 40s,
// ... up to tierRetryMax.
func (s *tierState) failed(now time.Time) time.Duration {
	s.failures++
	d := 10 * time.Second << min(s.failures-1, 10)
	d = min(d, tierRetryMax)
	s.retryAt = now.Add(d)
	return d
}

func (s *tierState) close() error {
	s.metrics.unregister()
	s.mu.Lock()
	st := s.mu.store
	s.mu.store = nil
	s.mu.Unlock()
	if st == nil {
		return nil
	}
	return st.Close()
}

// tierLocked is the tier's step of a maintenance round (under cutMu), after
// compaction and before retention:
//
//  1. every local block that no compaction will take any more (or that is
//     old enough to be dropped) and is not in the bucket yet is written
//     there and verified against the local copy;
//  2. every local block in the bucket whose end is older than
//     TierLocalRetention (back from the newest local block's end) is
//     verified if it was not in this process, and then removed locally;
//  3. the bucket's blocks older than TierRetention are deleted.
//
// A failure stops the step, keeps every local copy and backs off (10s
// doubling to 10m) before the bucket is tried again.
func (t *Tenant) tierLocked(ctx context.Context) error {
	s := t.tier
	if s == nil {
		return nil
	}
	now := time.Now()
	if now.Before(s.retryAt) {
		return nil
	}
	if err := t.tierStepLocked(ctx); err != nil {
		if ctx.Err() != nil {
			return err
		}
		d := s.failed(now)
		s.metrics.failedRounds.Inc()
		t.logger.Warn("Parquet tier step failed; local blocks are kept and it is retried", "retry_in", d, "err", err)
		return fmt.Errorf("storage: tenant %s: parquet tier: %w", t.id, err)
	}
	s.failures = 0
	return nil
}

func (t *Tenant) tierStepLocked(ctx context.Context) error {
	s := t.tier
	st := s.getStore()
	if st == nil {
		if err := t.openTierStore(ctx); err != nil {
			return err
		}
		st = s.getStore()
	} else if err := st.Sync(ctx); err != nil {
		return fmt.Errorf("list the bucket: %w", err)
	}
	remote := map[ulid.ULID]TierBlock{}
	for _, b := range st.Blocks() {
		remote[b.ULID] = b
	}
	bs := t.blockList()
	if len(bs) > 0 {
		newest := bs[len(bs)-1].MaxTime()
		highTime := bs[len(bs)-1].MinTime()
		for _, b := range bs {
			newest = max(newest, b.MaxTime())
			highTime = max(highTime, b.MinTime())
		}
		dropBefore := newest - t.opts.TierLocalRetention.Milliseconds()
		// Blocks the tier's retention would delete at once are not written.
		expiredBefore := int64(math.MinInt64)
		if r := t.opts.TierRetention.Milliseconds(); r > 0 {
			expiredBefore = newest - r
			for _, b := range remote {
				expiredBefore = max(expiredBefore, b.MaxTime-r)
			}
		}
		for _, b := range bs {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			m := b.Meta()
			if _, ok := remote[m.ULID]; ok || !(t.tierFinal(b, highTime) || b.MaxTime() <= dropBefore) || b.MaxTime() <= expiredBefore {
				continue
			}
			tb, err := t.uploadLocked(ctx, st, b)
			if err != nil {
				return err
			}
			remote[m.ULID] = tb
		}
		var drop []*block.Block
		for _, b := range bs {
			if _, ok := remote[b.Meta().ULID]; !ok || b.MaxTime() > dropBefore {
				continue
			}
			if n, ok := s.verified[b.Meta().ULID]; !ok || n != b.NumTombstones() {
				if err := t.verifyLocked(ctx, st, b, remote[b.Meta().ULID]); err != nil {
					return err
				}
			}
			drop = append(drop, b)
		}
		if len(drop) > 0 {
			crashpoint.Reach(crashpoint.TierVerified)
			// From now on queriers read these blocks from the bucket.
			t.swapBlocks(nil, drop)
			if err := t.retireBlocks(drop); err != nil {
				return err
			}
			crashpoint.Reach(crashpoint.TierDropped)
			for _, b := range drop {
				delete(s.verified, b.Meta().ULID)
				s.metrics.dropped.Inc()
				t.logger.Info("Block removed locally: it is served from the Parquet tier", "block", b.Meta().ULID,
					"mint", b.MinTime(), "maxt", b.MaxTime())
			}
		}
	}
	return t.tierRetentionLocked(ctx, st)
}

// openTierStore opens the tenant's store of the tier (which lists its
// blocks); queriers see them from then on.
func (t *Tenant) openTierStore(ctx context.Context) error {
	s := t.tier
	st, err := s.tier.Open(ctx, t.id, s.reg)
	if err != nil {
		return fmt.Errorf("open the bucket: %w", err)
	}
	s.mu.Lock()
	s.mu.store = st
	s.mu.Unlock()
	// What the tier holds is not accepted again, as for local blocks (all
	// of them may have been dropped).
	bs := st.Blocks()
	for _, b := range bs {
		t.head.SetMinValidTime(b.MaxTime)
	}
	t.logger.Info("Parquet tier opened", "blocks", len(bs))
	return nil
}

// tierFinal says whether no compaction will take b any more: it spans the
// largest compaction range, or the window of that range it falls in ends
// before the newest block begins (the planner compacts a window only then,
// and this round's compactions have run).
func (t *Tenant) tierFinal(b *block.Block, highTime int64) bool {
	r := t.ranges[len(t.ranges)-1]
	if b.MaxTime()-b.MinTime() >= r {
		return true
	}
	lo := b.MinTime() - b.MinTime()%r
	if b.MinTime() < 0 && b.MinTime()%r != 0 {
		lo -= r
	}
	return lo+r <= highTime
}

func tierBlockOf(b *block.Block) TierBlock {
	m := b.Meta()
	return TierBlock{
		ULID: m.ULID, MinTime: m.MinTime, MaxTime: m.MaxTime, NumSeries: m.Stats.NumSeries,
		NumSamples: m.Stats.NumSamples, Level: m.Compaction.Level, Sources: slices.Clone(m.Compaction.Sources),
	}
}

// uploadLocked writes b to the bucket and verifies the copy; a copy that
// does not verify is deleted again.
func (t *Tenant) uploadLocked(ctx context.Context, st TierStore, b *block.Block) (TierBlock, error) {
	s := t.tier
	tb := tierBlockOf(b)
	start := time.Now()
	task := t.opts.tasks.begin(Task{Tenant: t.id, Kind: TaskUpload, Detail: fmt.Sprintf("block %s [%d, %d) to the Parquet tier", tb.ULID, tb.MinTime, tb.MaxTime)})
	defer task.end()
	t.logger.Info("Writing block to the Parquet tier", "block", tb.ULID, "mint", tb.MinTime, "maxt", tb.MaxTime,
		"series", tb.NumSeries, "samples", tb.NumSamples)
	q, err := b.ChunkQuerier(b.MinTime(), b.MaxTime()-1)
	if err != nil {
		return tb, fmt.Errorf("block %s: %w", tb.ULID, err)
	}
	err = st.Write(ctx, tb, q)
	_ = q.Close()
	if err != nil {
		s.metrics.uploadsFailed.Inc()
		return tb, fmt.Errorf("write block %s: %w", tb.ULID, err)
	}
	crashpoint.Reach(crashpoint.TierWritten)
	if err := t.verifyLocked(ctx, st, b, tb); err != nil {
		return tb, err
	}
	if err := st.Sync(ctx); err == nil {
		for _, rb := range st.Blocks() {
			if rb.ULID == tb.ULID {
				tb = rb
			}
		}
	}
	s.metrics.uploaded.Inc()
	s.metrics.uploadedBytes.Add(float64(tb.Bytes))
	s.metrics.lastSuccess.SetToCurrentTime()
	t.logger.Info("Block written to the Parquet tier and verified", "block", tb.ULID, "bytes", tb.Bytes,
		"duration", time.Since(start))
	return tb, nil
}

// verifyLocked compares the bucket's copy of b with the local one. A copy
// that differs is deleted from the bucket (the next round writes it again);
// one that cannot be read is left for the next round.
func (t *Tenant) verifyLocked(ctx context.Context, st TierStore, b *block.Block, tb TierBlock) error {
	s := t.tier
	q, err := b.ChunkQuerier(b.MinTime(), b.MaxTime()-1)
	if err != nil {
		return fmt.Errorf("block %s: %w", tb.ULID, err)
	}
	err = st.Verify(ctx, tb, q)
	_ = q.Close()
	if err != nil {
		s.metrics.uploadsFailed.Inc()
		if ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			t.logger.Error("The Parquet tier's copy of a block does not verify; it is deleted and written again", "block", tb.ULID, "err", err)
			if derr := st.Delete(ctx, tb.ULID); derr != nil {
				err = errors.Join(err, derr)
			}
		}
		return fmt.Errorf("verify block %s: %w", tb.ULID, err)
	}
	s.verified[tb.ULID] = b.NumTombstones()
	return nil
}

// tierRetentionLocked deletes the bucket's blocks whose end is older than
// TierRetention, back from the newest block's end (local or in the tier).
func (t *Tenant) tierRetentionLocked(ctx context.Context, st TierStore) error {
	if err := t.tierReplacedLocked(ctx, st); err != nil {
		return err
	}
	if err := t.tierSupersededLocked(ctx, st); err != nil {
		return err
	}
	ret := t.opts.TierRetention.Milliseconds()
	if ret <= 0 {
		return nil
	}
	remote := st.Blocks()
	newest := int64(-1 << 63)
	for _, b := range remote {
		newest = max(newest, b.MaxTime)
	}
	for _, b := range t.blockList() {
		newest = max(newest, b.MaxTime())
	}
	for _, b := range remote {
		if b.MaxTime > newest-ret {
			continue
		}
		if t.findBlock(b.ULID) != nil {
			continue // local retention deletes the local copy; this one goes next round
		}
		if err := st.Delete(ctx, b.ULID); err != nil {
			return fmt.Errorf("delete expired block %s: %w", b.ULID, err)
		}
		t.tier.metrics.deleted.Inc()
		t.logger.Info("Deleting block from the Parquet tier by retention", "block", b.ULID, "mint", b.MinTime, "maxt", b.MaxTime)
	}
	return nil
}

// tierSupersededLocked deletes tier blocks whose data another tier block
// holds whole: a block uploaded because it was old enough to be dropped,
// then compacted locally with others before the drop, and the compacted
// block uploaded in turn.
func (t *Tenant) tierSupersededLocked(ctx context.Context, st TierStore) error {
	remote := st.Blocks()
	for _, b := range remote {
		if len(b.Sources) == 0 {
			continue
		}
		for _, o := range remote {
			if o.ULID == b.ULID || o.MinTime > b.MinTime || o.MaxTime < b.MaxTime || len(o.Sources) <= len(b.Sources) {
				continue
			}
			all := true
			for _, src := range b.Sources {
				if !slices.Contains(o.Sources, src) {
					all = false
					break
				}
			}
			if !all {
				continue
			}
			if err := st.Delete(ctx, b.ULID); err != nil {
				return fmt.Errorf("delete superseded block %s: %w", b.ULID, err)
			}
			t.logger.Info("Deleting a block from the Parquet tier: a compacted block there holds its data", "block", b.ULID, "by", o.ULID)
			break
		}
	}
	return nil
}

// tierHolds says whether a local block may be deleted by the local
// retention without losing data the tier should keep: the tier is off, it
// holds the block, or the tier's own retention would delete it anyway.
func (t *Tenant) tierHolds(id ulid.ULID, maxt, newest int64) bool {
	if t.tier == nil {
		return true
	}
	st := t.tier.getStore()
	if r := t.opts.TierRetention.Milliseconds(); r > 0 && maxt <= newest-r {
		return true
	}
	if st == nil {
		return false
	}
	for _, b := range st.Blocks() {
		if b.ULID == id {
			return true
		}
	}
	return false
}

// TierBlocks returns the blocks of the tenant's tier that are not held
// locally, sorted by MinTime (nil without a tier or before it is open).
func (t *Tenant) TierBlocks() []TierBlock {
	st := t.tier.getStore()
	if st == nil {
		return nil
	}
	t.blocks.RLock()
	defer t.blocks.RUnlock()
	var out []TierBlock
	for _, b := range st.Blocks() {
		if !t.heldLocallyRLocked(b) {
			out = append(out, b)
		}
	}
	return out
}

// heldLocallyRLocked says whether a local block holds tier block b's data:
// the same block, or one compacted from all of its sources.
func (t *Tenant) heldLocallyRLocked(b TierBlock) bool {
	for _, l := range t.blocks.list {
		m := l.Meta()
		if m.ULID == b.ULID {
			return true
		}
		if len(b.Sources) > 0 && m.MinTime <= b.MinTime && m.MaxTime >= b.MaxTime {
			all := true
			for _, src := range b.Sources {
				if !slices.Contains(m.Compaction.Sources, src) {
					all = false
					break
				}
			}
			if all {
				return true
			}
		}
	}
	return false
}
