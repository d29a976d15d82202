package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"

	"mytsdb/storage/block"
)

// The admin API over blocks that live only in the Parquet tier. Prometheus
// answers delete_series, clean_tombstones and snapshot over all of its
// blocks; a user who replaced it expects the same of the bucket's:
//
//   - delete_series rewrites each bucket-only block holding a deleted
//     sample as a new block without it (same range, level and sources;
//     the old block named as its parent), verifies the new block against
//     the old one read through the deletion, then deletes the old one. A
//     bucket object cannot take tombstones in place, and a rewritten block
//     stays readable by any Parquet engine without our code. A crash after
//     the new block is complete leaves the old one hidden (the store skips
//     a block another names as a parent) until the next round deletes it.
//   - clean_tombstones has nothing to rewrite in the bucket (its blocks
//     never hold tombstones); it finishes rewrites a crash interrupted.
//   - a snapshot writes every bucket-only block into the snapshot as a
//     local block (same ULID, level and sources): the snapshot is a data
//     directory holding all the data, which mytsdb or the tools read
//     without the bucket. It costs the bucket's blocks' size on local disk.
//
// A bucket that cannot be read fails these calls (HTTP 500 from the admin
// API): succeeding without the bucket's blocks would say their series are
// deleted, or a snapshot complete, when they are not.

// tierDeleteLocked applies delete_series to the tier's blocks (under
// cutMu): a block also held locally loses its bucket copy (the local block
// takes tombstones, and the next round uploads it again), a block held only
// in the bucket is rewritten without the deleted samples.
func (t *Tenant) tierDeleteLocked(ctx context.Context, mint, maxt int64, ms []*labels.Matcher) error {
	if t.tier == nil {
		return nil
	}
	st := t.tier.getStore()
	if st == nil {
		return fmt.Errorf("parquet tier: %w", errTierNotOpen)
	}
	if err := st.Sync(ctx); err != nil {
		return fmt.Errorf("parquet tier: list the bucket: %w", err)
	}
	if err := t.tierReplacedLocked(ctx, st); err != nil {
		return err
	}
	for _, b := range st.Blocks() {
		if b.MinTime > maxt || b.MaxTime <= mint {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		t.blocks.RLock()
		local := t.heldLocallyRLocked(b)
		t.blocks.RUnlock()
		if local {
			continue // see tierDropStaleCopiesLocked
		}
		if err := t.tierRewriteLocked(ctx, st, b, deletion{mint, maxt, ms}); err != nil {
			return fmt.Errorf("parquet tier: delete series in block %s: %w", b.ULID, err)
		}
	}
	return nil
}

// tierDropStaleCopiesLocked deletes the bucket copies of the local blocks
// in before (their tombstone counts before a delete) whose tombstones
// changed: the copy holds deleted samples. The local block is uploaded
// again by the next round.
func (t *Tenant) tierDropStaleCopiesLocked(ctx context.Context, before map[ulid.ULID]uint64) error {
	st := t.tier.getStore()
	if st == nil {
		return nil
	}
	remote := map[ulid.ULID]bool{}
	for _, b := range st.Blocks() {
		remote[b.ULID] = true
	}
	for _, b := range t.blockList() {
		id := b.Meta().ULID
		n, touched := before[id]
		if !remote[id] || !touched || b.NumTombstones() == n {
			continue
		}
		if err := st.Delete(ctx, id); err != nil {
			return fmt.Errorf("parquet tier: delete the copy of block %s holding deleted series: %w", id, err)
		}
		delete(t.tier.verified, id)
		t.logger.Info("Parquet copy of a block with new tombstones deleted; the block is uploaded again", "block", id)
	}
	return nil
}

// deletion is one delete_series call: [mint, maxt] of the series matching ms.
type deletion struct {
	mint, maxt int64
	ms         []*labels.Matcher
}

func (d deletion) matches(l labels.Labels) bool {
	for _, m := range d.ms {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}

// tierRewriteLocked writes b again without the samples d deletes, if it
// holds any (see the comment at the top of this file).
func (t *Tenant) tierRewriteLocked(ctx context.Context, st TierStore, b TierBlock, d deletion) error {
	// Cheap check first: only the matching series in the deleted range.
	has, err := tierHasSamples(ctx, st, b, d)
	if err != nil || !has {
		return err
	}
	task := t.opts.tasks.begin(Task{Tenant: t.id, Kind: TaskUpload, Detail: fmt.Sprintf("rewrite block %s [%d, %d) in the Parquet tier without deleted series", b.ULID, b.MinTime, b.MaxTime)})
	defer task.end()
	open := func() (promstorage.ChunkQuerier, error) {
		q, err := st.BlockChunkQuerier(b.ULID)
		if err != nil {
			return nil, err
		}
		return deletingChunkQuerier{q: q, d: d}, nil
	}
	q, err := open()
	if err != nil {
		return err
	}
	series, samples, err := countChunkSeries(ctx, q, b)
	_ = q.Close()
	if err != nil {
		return err
	}
	if samples == 0 {
		t.logger.Info("Deleting a block from the Parquet tier: delete_series deleted all of it", "block", b.ULID)
		return st.Delete(ctx, b.ULID)
	}
	nb := TierBlock{
		ULID: ulid.Make(), MinTime: b.MinTime, MaxTime: b.MaxTime, NumSeries: series, NumSamples: samples,
		Level: b.Level, Sources: slices.Clone(b.Sources), Parents: append(slices.Clone(b.Parents), b.ULID),
	}
	if q, err = open(); err != nil {
		return err
	}
	err = st.Write(ctx, nb, q)
	_ = q.Close()
	if err != nil {
		return fmt.Errorf("write %s: %w", nb.ULID, err)
	}
	if q, err = open(); err != nil {
		return err
	}
	err = st.Verify(ctx, nb, q)
	_ = q.Close()
	if err != nil {
		// The old block is still listed (the new one is hidden by nothing
		// until complete and verified): drop the bad copy, keep the old.
		return errors.Join(fmt.Errorf("verify %s: %w", nb.ULID, err), st.Delete(ctx, nb.ULID))
	}
	// Listing again hides the old block behind its successor; deleting it
	// is then only housekeeping.
	if err := st.Sync(ctx); err != nil {
		return fmt.Errorf("list the bucket: %w", err)
	}
	if err := st.Delete(ctx, b.ULID); err != nil {
		return fmt.Errorf("delete the replaced block: %w", err)
	}
	t.tier.metrics.rewritten.Inc()
	t.logger.Info("Block rewritten in the Parquet tier without deleted series", "block", b.ULID, "new", nb.ULID,
		"samples", b.NumSamples, "left", samples)
	return nil
}

// tierHasSamples says whether d deletes any sample of tier block b.
func tierHasSamples(ctx context.Context, st TierStore, b TierBlock, d deletion) (bool, error) {
	q, err := st.BlockChunkQuerier(b.ULID)
	if err != nil {
		return false, err
	}
	defer q.Close()
	lo, hi := max(d.mint, b.MinTime), min(d.maxt, b.MaxTime-1)
	set := strictChunkSeriesSet{q.Select(ctx, false, &promstorage.SelectHints{Start: lo, End: hi}, d.ms...)}
	var it chunkenc.Iterator
	for set.Next() {
		chks := set.At().Iterator(nil)
		for chks.Next() {
			it = chks.At().Chunk.Iterator(it)
			for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
				if ts := it.AtT(); ts >= lo && ts <= hi {
					return true, nil
				}
			}
			if err := it.Err(); err != nil {
				return false, err
			}
		}
		if err := chks.Err(); err != nil {
			return false, err
		}
	}
	return false, set.Err()
}

// countChunkSeries counts the series with samples, and the samples, of q
// over b's range.
func countChunkSeries(ctx context.Context, q promstorage.ChunkQuerier, b TierBlock) (series, samples uint64, err error) {
	set := q.Select(ctx, true, &promstorage.SelectHints{Start: b.MinTime, End: b.MaxTime - 1}, allSeries)
	for set.Next() {
		it := set.At().Iterator(nil)
		var n uint64
		for it.Next() {
			n += uint64(it.At().Chunk.NumSamples())
		}
		if err := it.Err(); err != nil {
			return 0, 0, err
		}
		if n > 0 {
			series++
			samples += n
		}
	}
	return series, samples, set.Err()
}

// tierReplacedLocked deletes the blocks the store hides behind a
// successor (a rewrite a crash interrupted before its last step).
func (t *Tenant) tierReplacedLocked(ctx context.Context, st TierStore) error {
	for _, id := range st.Replaced() {
		if err := st.Delete(ctx, id); err != nil {
			return fmt.Errorf("delete replaced block %s: %w", id, err)
		}
		t.logger.Info("Deleting a block from the Parquet tier: a rewrite without deleted series replaced it", "block", id)
	}
	return nil
}

// tierSnapshotLocked writes every block held only in the tier into dir as
// a local block (under cutMu).
func (t *Tenant) tierSnapshotLocked(ctx context.Context, dir string) error {
	if t.tier == nil {
		return nil
	}
	st := t.tier.getStore()
	if st == nil {
		return fmt.Errorf("parquet tier: %w", errTierNotOpen)
	}
	for _, b := range t.TierBlocks() {
		if err := ctx.Err(); err != nil {
			return err
		}
		q, err := st.BlockChunkQuerier(b.ULID)
		if err != nil {
			return fmt.Errorf("parquet tier: snapshot block %s: %w", b.ULID, err)
		}
		set := strictChunkSeriesSet{q.Select(ctx, true, nil, allSeries)}
		_, err = block.Write(ctx, dir, set, block.WriteOptions{
			MinTime: b.MinTime, MaxTime: b.MaxTime, ULID: b.ULID, Logger: t.logger, SegmentSize: t.opts.BlockSegmentSize,
			Compaction: block.Compaction{Level: b.Level, Sources: slices.Clone(b.Sources)},
		})
		_ = q.Close()
		if err != nil && !errors.Is(err, block.ErrEmpty) {
			return fmt.Errorf("parquet tier: snapshot block %s: %w", b.ULID, err)
		}
	}
	return nil
}

// strictChunkSeriesSet turns a tier series set's warnings (an unreadable
// block or object) into its error: a rewrite or a snapshot must not go on
// with part of a block.
type strictChunkSeriesSet struct{ promstorage.ChunkSeriesSet }

func (s strictChunkSeriesSet) Err() error {
	if err := s.ChunkSeriesSet.Err(); err != nil {
		return err
	}
	if ws := s.ChunkSeriesSet.Warnings(); len(ws) > 0 {
		return ws.AsErrors()[0]
	}
	return nil
}

func (strictChunkSeriesSet) Warnings() annotations.Annotations { return nil }

// deletingChunkQuerier reads a tier block as delete_series d leaves it,
// as chunks (what TierStore.Write and Verify take): the series d does not
// match keep their chunks, those it matches are re-encoded without the
// deleted samples. Its sets fail on any warning of the block
// (strictChunkSeriesSet).
type deletingChunkQuerier struct {
	q promstorage.ChunkQuerier
	d deletion
}

func (q deletingChunkQuerier) Select(ctx context.Context, sortSeries bool, hints *promstorage.SelectHints, ms ...*labels.Matcher) promstorage.ChunkSeriesSet {
	return &deletingSeriesSet{set: strictChunkSeriesSet{q.q.Select(ctx, sortSeries, hints, ms...)}, d: q.d}
}

func (q deletingChunkQuerier) LabelValues(ctx context.Context, name string, hints *promstorage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.q.LabelValues(ctx, name, hints, ms...)
}

func (q deletingChunkQuerier) LabelNames(ctx context.Context, hints *promstorage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.q.LabelNames(ctx, hints, ms...)
}

func (q deletingChunkQuerier) Close() error { return q.q.Close() }

// deletingSeriesSet leaves out the samples d deletes, and the series left
// with none.
type deletingSeriesSet struct {
	set promstorage.ChunkSeriesSet
	d   deletion
	cur promstorage.ChunkSeries
	it  chunkenc.Iterator
	err error
}

func (s *deletingSeriesSet) Next() bool {
	for s.set.Next() {
		cs := s.set.At()
		if !s.d.matches(cs.Labels()) {
			s.cur = cs
			return true
		}
		one := promstorage.NewSeriesSetFromChunkSeriesSet(&oneChunkSeries{s: cs})
		if !one.Next() {
			if err := one.Err(); err != nil {
				s.err = err
				return false
			}
			continue
		}
		f := &deletedSeries{Series: one.At(), mint: s.d.mint, maxt: s.d.maxt}
		s.it = f.Iterator(s.it)
		if s.it.Next() != chunkenc.ValNone {
			s.cur = promstorage.NewSeriesToChunkEncoder(f)
			return true
		}
		if err := s.it.Err(); err != nil {
			s.err = err
			return false
		}
	}
	return false
}

func (s *deletingSeriesSet) At() promstorage.ChunkSeries { return s.cur }

func (s *deletingSeriesSet) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.set.Err()
}

func (s *deletingSeriesSet) Warnings() annotations.Annotations { return s.set.Warnings() }

// oneChunkSeries is a set of one chunk series.
type oneChunkSeries struct {
	s    promstorage.ChunkSeries
	done bool
}

func (o *oneChunkSeries) Next() bool {
	if o.done {
		return false
	}
	o.done = true
	return true
}

func (o *oneChunkSeries) At() promstorage.ChunkSeries       { return o.s }
func (o *oneChunkSeries) Err() error                        { return nil }
func (o *oneChunkSeries) Warnings() annotations.Annotations { return nil }

// deletedSeries is a series without its samples in [mint, maxt].
type deletedSeries struct {
	promstorage.Series
	mint, maxt int64
}

func (s *deletedSeries) Iterator(reuse chunkenc.Iterator) chunkenc.Iterator {
	var inner chunkenc.Iterator
	if d, ok := reuse.(*deletedIterator); ok {
		inner = d.Iterator
	}
	return &deletedIterator{Iterator: s.Series.Iterator(inner), mint: s.mint, maxt: s.maxt}
}

type deletedIterator struct {
	chunkenc.Iterator
	mint, maxt int64
}

func (it *deletedIterator) Next() chunkenc.ValueType {
	for {
		vt := it.Iterator.Next()
		if vt == chunkenc.ValNone {
			return vt
		}
		if ts := it.Iterator.AtT(); ts < it.mint || ts > it.maxt {
			return vt
		}
	}
}

func (it *deletedIterator) Seek(t int64) chunkenc.ValueType {
	vt := it.Iterator.Seek(t)
	if vt == chunkenc.ValNone {
		return vt
	}
	if ts := it.Iterator.AtT(); ts >= it.mint && ts <= it.maxt {
		return it.Next()
	}
	return vt
}
