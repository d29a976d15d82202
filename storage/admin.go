package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/prometheus/model/labels"

	"mytsdb/storage/block"
	"mytsdb/storage/crashpoint"
)

// snapshotsDirName is where snapshots go, as in Prometheus's data directory.
const snapshotsDirName = "snapshots"

// DeleteSeries deletes the samples of the series matching ms in [mint, maxt]
// (inclusive) from every block (as tombstones, honoured by every read path
// until CleanTombstones or a compaction rewrites the block), from the
// blocks held only in the Parquet tier (rewritten without them at once,
// tier_admin.go) and from the head (at once).
func (t *Tenant) DeleteSeries(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	t.cutMu.Lock()
	defer t.cutMu.Unlock()
	if mint > maxt {
		return nil
	}
	if err := t.tierDeleteLocked(ctx, mint, maxt, ms); err != nil {
		return fmt.Errorf("storage: tenant %s: delete series: %w", t.id, err)
	}
	tombs := map[ulid.ULID]uint64{}
	for _, b := range t.blockList() {
		if b.MinTime() > maxt || b.MaxTime() <= mint {
			continue
		}
		tombs[b.Meta().ULID] = b.NumTombstones()
		if err := b.Delete(ctx, mint, maxt, ms...); err != nil {
			return fmt.Errorf("storage: tenant %s: delete series: %w", t.id, err)
		}
	}
	if t.tier != nil {
		if err := t.tierDropStaleCopiesLocked(ctx, tombs); err != nil {
			return fmt.Errorf("storage: tenant %s: delete series: %w", t.id, err)
		}
	}
	crashpoint.Reach(crashpoint.DeleteBlocksDone)
	if err := t.head.Delete(ctx, mint, maxt, ms...); err != nil {
		return fmt.Errorf("storage: tenant %s: delete series: %w", t.id, err)
	}
	return nil
}

// CleanTombstones rewrites every block that has tombstones without the
// samples they delete. The Parquet tier's blocks hold none (delete_series
// rewrites them at once); a rewrite a crash interrupted is finished.
func (t *Tenant) CleanTombstones(ctx context.Context) error {
	t.cutMu.Lock()
	defer t.cutMu.Unlock()
	if st := t.tier.getStore(); st != nil {
		if err := st.Sync(ctx); err != nil {
			return fmt.Errorf("storage: tenant %s: clean tombstones: parquet tier: %w", t.id, err)
		}
		if err := t.tierReplacedLocked(ctx, st); err != nil {
			return fmt.Errorf("storage: tenant %s: clean tombstones: parquet tier: %w", t.id, err)
		}
	}
	for _, b := range t.blockList() {
		if b.NumTombstones() == 0 {
			continue
		}
		if err := t.rewriteLocked(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// BlockMetas implements promapi.BlockMetasProvider: the metas of the
// tenant's local blocks, exactly as Prometheus shapes them, and of the
// blocks held only in the Parquet tier, shaped the same with two more
// fields, "tier": "parquet" and "bytes" (their size in the bucket); sorted
// by MinTime as Prometheus sorts its blocks.
func (t *Tenant) BlockMetas() (any, error) {
	local := t.Blocks()
	remote := t.TierBlocks()
	out := make([]any, 0, len(local)+len(remote))
	i, j := 0, 0
	for i < len(local) || j < len(remote) {
		if j == len(remote) || (i < len(local) && local[i].MinTime <= remote[j].MinTime) {
			out = append(out, local[i])
			i++
			continue
		}
		out = append(out, tierBlockMeta(remote[j]))
		j++
	}
	return out, nil
}

// TierBlockMeta is a Parquet tier block on /api/v1/status/tsdb/blocks:
// Prometheus's block meta fields, then the tier and the size in the bucket.
type TierBlockMeta struct {
	block.Meta
	Tier  string `json:"tier"`
	Bytes int64  `json:"bytes"`
}

func tierBlockMeta(b TierBlock) TierBlockMeta {
	return TierBlockMeta{
		Meta: block.Meta{
			ULID: b.ULID, MinTime: b.MinTime, MaxTime: b.MaxTime,
			Stats:      block.Stats{NumSamples: b.NumSamples, NumSeries: b.NumSeries},
			Compaction: block.Compaction{Level: b.Level, Sources: b.Sources},
			Version:    1,
		},
		Tier: "parquet", Bytes: b.Bytes,
	}
}

// snapshot writes the tenant's blocks into dir (hard links where the
// filesystem allows, copies otherwise), the blocks held only in the Parquet
// tier (written from the bucket as local blocks) and, with withHead, the
// head's data as one more block.
func (t *Tenant) snapshot(ctx context.Context, dir string, withHead bool) error {
	t.cutMu.Lock()
	defer t.cutMu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, b := range t.blockList() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := b.Snapshot(dir); err != nil {
			return fmt.Errorf("storage: tenant %s: snapshot block %s: %w", t.id, filepath.Base(b.Dir()), err)
		}
		if i == 0 {
			crashpoint.Reach(crashpoint.SnapshotPartial)
		}
	}
	if err := t.tierSnapshotLocked(ctx, dir); err != nil {
		return fmt.Errorf("storage: tenant %s: snapshot: %w", t.id, err)
	}
	if withHead {
		hmin, hmax := t.head.MinTime(), t.head.MaxTime()
		if hmin <= hmax {
			b, err := t.writeHeadBlock(ctx, dir, hmin, min(hmax, math.MaxInt64-1)+1)
			switch {
			case errors.Is(err, block.ErrEmpty):
			case err != nil:
				return fmt.Errorf("storage: tenant %s: snapshot head: %w", t.id, err)
			default:
				_ = b.Close()
			}
		}
	}
	t.metrics.snapshotsWritten.Inc()
	return syncDir(dir)
}

// Snapshot writes a snapshot of every tenant under
// <Dir>/snapshots/<name>/<tenant>/blocks/: the layout of a data directory,
// so that mytsdb started with --storage.tsdb.path on it serves the snapshot.
// withHead=false leaves out what is only in the heads (skip_head).
func (db *DB) Snapshot(ctx context.Context, name string, withHead bool) error {
	if err := ValidateSnapshotName(name); err != nil {
		return err
	}
	root := filepath.Join(db.opts.Dir, snapshotsDirName, name)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("storage: snapshot: %w", err)
	}
	for _, t := range db.openTenants() {
		if err := t.snapshot(ctx, filepath.Join(root, t.id, blocksDirName), withHead); err != nil {
			return err
		}
	}
	return nil
}

// ValidateSnapshotName refuses names that would leave the snapshots
// directory.
func ValidateSnapshotName(name string) error {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		return fmt.Errorf("storage: invalid snapshot name %q", name)
	}
	return nil
}

// syncDir makes the entries a snapshot created in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
