package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promstorage "github.com/prometheus/prometheus/storage"

	"mytsdb/storage/block"
	"mytsdb/storage/compaction"
	"mytsdb/storage/head"
	"mytsdb/storage/inflight"
	"mytsdb/storage/promtsdb"
	"mytsdb/storage/wal"
)

// Tenant is one tenant's storage: its WAL, head, blocks and directory lock.
// It implements the upstream storage.Storage and storage.ExemplarQueryable.
type Tenant struct {
	id        string
	dir       string
	blocksDir string
	opts      Options
	logger    *slog.Logger
	lock      *dirLock
	wal       *wal.WAL
	head      *head.Head
	metrics   *blockMetrics
	ranges    []int64       // compaction ranges (ms)
	onDone    func(*Tenant) // tells the DB it closed

	// history is the Prometheus TSDB of the data directory, merged into
	// the default tenant's reads (read-only; nil for other tenants).
	history *promtsdb.History
	// tier is the tenant's side of the Parquet tier (nil without
	// Options.Tier).
	tier *tierState

	// readers are the open queriers: a cut waits for those begun before
	// its block became visible before it drops the head's copy.
	readers inflight.Tracker
	// cutMu serialises what changes the set of blocks: cuts, compactions,
	// retention, deletes, tombstone cleaning, snapshots and Close.
	cutMu sync.Mutex
	// dueSince is when the head was first found due for a cut while
	// Options.CompactionDelay held the cut back (cutMu); zero when not due.
	dueSince time.Time

	blocks struct {
		sync.RWMutex
		list []*block.Block // sorted by MinTime; replaced, never modified
	}

	mu struct {
		sync.Mutex
		closed bool
	}
}

// headChunksDirName is the directory of a tenant's head chunk segment files
// (storage/head/FORMAT.md), not Prometheus's chunks_head: the format is ours.
const headChunksDirName = "head_chunks"

// openTenant locks <opts.Dir>/<id>, opens its WAL and replays it.
func openTenant(opts Options, id string) (_ *Tenant, err error) {
	if err := ValidateTenantID(id); err != nil {
		return nil, err
	}
	dir := filepath.Join(opts.Dir, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: tenant %s: %w", id, err)
	}
	lk, err := lockFile(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = lk.release()
		}
	}()
	reg := opts.Registerer
	logger := opts.Logger.With("tenant", id)
	if reg != nil && id != DefaultTenant {
		reg = newUncheckedRegisterer(prometheus.WrapRegistererWith(prometheus.Labels{"tenant": id}, reg))
	}
	t := &Tenant{
		id: id, dir: dir, blocksDir: filepath.Join(dir, blocksDirName), opts: opts, logger: logger, lock: lk,
		ranges: compaction.Ranges(opts.chunkRange(), opts.MaxBlockDuration, opts.RetentionDuration.Milliseconds()),
	}
	t.metrics = newBlockMetrics(t, reg, logger)
	if opts.Tier != nil {
		t.tier = newTierState(opts.Tier, reg)
	}
	defer func() {
		if err != nil {
			t.metrics.unregister()
			if t.tier != nil {
				_ = t.tier.close()
			}
			for _, b := range t.blockList() {
				_ = b.Close()
			}
		}
	}()
	if err := t.openBlocks(); err != nil {
		return nil, err
	}
	w, err := wal.Open(wal.Options{
		Dir:          filepath.Join(dir, "wal"),
		SegmentSize:  opts.WALSegmentSize,
		Sync:         opts.WALSync,
		SyncInterval: opts.WALSyncInterval,
		Writer:       opts.WALWriter,
		Compression:  opts.WALCompression,
		HoldAtOpen:   opts.DefaultWALHold && id == DefaultTenant,
		Progress:     replayProgress(opts, id),
		Logger:       logger,
		Registerer:   reg,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: tenant %s: open WAL: %w", id, err)
	}
	h, err := head.New(head.Options{
		WAL:                  w,
		OutOfOrderTimeWindow: opts.OutOfOrderTimeWindow,
		Logger:               logger,
		Registerer:           reg,
		MaxExemplars:         opts.MaxExemplars,
		ChunkRange:           opts.ChunkRange,
		SamplesPerChunk:      opts.SamplesPerChunk,
		STAsZeroSample:       opts.STAsZeroSample,
		Compactable:          opts.compactable,
		ChunkDir:             filepath.Join(dir, headChunksDirName),
		ChunkWriteQueueSize:  opts.HeadChunksWriteQueueSize,
		SnapshotDir:          dir,
		SnapshotOnShutdown:   opts.MemorySnapshotOnShutdown,
	})
	if err == nil {
		// What the blocks hold is not replayed again, nor accepted again.
		if bs := t.blockList(); len(bs) > 0 {
			h.SetMinValidTime(slices.MaxFunc(bs, func(a, b *block.Block) int { return cmp.Compare(a.MaxTime(), b.MaxTime()) }).MaxTime())
		}
		err = h.ReplayWAL()
		if err != nil {
			_ = h.Close()
		}
	}
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("storage: tenant %s: %w", id, err)
	}
	t.wal, t.head = w, h
	if t.tier != nil {
		// Queries reach the tier's blocks from the start; a bucket that
		// cannot be listed now is tried again every maintenance round.
		ctx, cancel := context.WithTimeout(context.Background(), tierOpenTimeout)
		if err := t.openTierStore(ctx); err != nil {
			t.logger.Warn("Parquet tier not reachable; its blocks are not served until it is", "err", err)
		}
		cancel()
	}
	return t, nil
}

func (t *Tenant) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mu.closed
}

// ID returns the tenant ID.
func (t *Tenant) ID() string { return t.id }

// Head returns the tenant's head.
func (t *Tenant) Head() *head.Head { return t.head }

// WAL returns the tenant's write-ahead log, for followers that read it
// (outgoing remote write); they must not write to it.
func (t *Tenant) WAL() *wal.WAL { return t.wal }

// Dir returns the tenant's directory, <Dir>/<tenant>.
func (t *Tenant) Dir() string { return t.dir }

// Appender implements storage.Appendable.
func (t *Tenant) Appender(ctx context.Context) promstorage.Appender { return t.head.Appender(ctx) }

// AppenderV2 implements storage.AppendableV2.
func (t *Tenant) AppenderV2(ctx context.Context) promstorage.AppenderV2 {
	return t.head.AppenderV2(ctx)
}

// ExemplarQuerier implements storage.ExemplarQueryable.
func (t *Tenant) ExemplarQuerier(ctx context.Context) (promstorage.ExemplarQuerier, error) {
	return t.head.ExemplarQuerier(ctx)
}

// EndTime is the newest timestamp held: head, blocks and the Prometheus
// history (math.MinInt64 when empty).
func (t *Tenant) EndTime() int64 {
	et := int64(math.MinInt64)
	if t.head.NumSeries() > 0 {
		et = t.head.MaxTime()
	}
	for _, b := range t.blockList() {
		et = max(et, b.MaxTime()-1) // a block's MaxTime is exclusive
	}
	if t.history != nil {
		et = max(et, t.history.MaxTime())
	}
	return et
}

// StartTime implements storage.Storage: the oldest timestamp held, the
// Parquet tier included (math.MaxInt64 when empty, like Prometheus's head).
func (t *Tenant) StartTime() (int64, error) {
	st := t.head.MinTime()
	if bs := t.blockList(); len(bs) > 0 {
		st = min(st, bs[0].MinTime())
	}
	if t.history != nil {
		st = min(st, t.history.MinTime())
	}
	for _, b := range t.TierBlocks() {
		st = min(st, b.MinTime)
	}
	return st, nil
}

// Truncate drops head data older than mint (retention of the head).
func (t *Tenant) Truncate(mint int64) error { return t.head.Truncate(mint) }

// Maintain runs one round of the background work now: cut the head's past
// ranges into blocks, compact, and apply retention (DB runs it every
// Options.MaintenanceInterval).
func (t *Tenant) Maintain(ctx context.Context) error { return t.maintain(ctx) }

// Blocks returns the metas of the tenant's blocks, sorted by MinTime.
func (t *Tenant) Blocks() []block.Meta {
	bs := t.blockList()
	out := make([]block.Meta, len(bs))
	for i, b := range bs {
		out[i] = b.Meta()
	}
	return out
}

// Close closes the head and the WAL and releases the lock. Committed data
// is in the WAL; nothing else needs flushing.
func (t *Tenant) Close() error {
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return nil
	}
	t.mu.closed = true
	t.mu.Unlock()
	// A maintenance round in progress finishes first.
	t.cutMu.Lock()
	defer t.cutMu.Unlock()
	var errs []error
	for _, b := range t.blockList() {
		errs = append(errs, b.Close())
	}
	t.metrics.unregister()
	if t.tier != nil {
		errs = append(errs, t.tier.close())
	}
	// The WAL closes first: a memory snapshot records where it ends, so
	// nothing may be logged after it (and it reads the chunk files, which
	// the head's Close releases).
	walErr := t.wal.Close()
	if walErr == nil {
		if err := t.head.WriteSnapshot(); err != nil {
			t.logger.Warn("Could not write the memory snapshot; the next start replays the WAL", "err", err)
		}
	}
	err := errors.Join(append(errs, walErr, t.head.Close(), t.lock.release())...)
	if t.onDone != nil {
		t.onDone(t)
	}
	if err != nil {
		return fmt.Errorf("storage: close tenant %s: %w", t.id, err)
	}
	return nil
}

var (
	_ promstorage.Storage           = (*Tenant)(nil)
	_ promstorage.ExemplarQueryable = (*Tenant)(nil)
)

// replayProgress is where tenant id's WAL reports its replay: the shared
// Options.ReplayProgress for the default tenant, the WAL's own otherwise.
func replayProgress(opts Options, id string) *wal.ReplayProgress {
	if id == DefaultTenant {
		return opts.ReplayProgress
	}
	return nil
}

// ReplayProgress is how far the tenant's WAL replay got (complete once the
// tenant is open).
func (t *Tenant) ReplayProgress() *wal.ReplayProgress { return t.wal.ReplayProgress() }
