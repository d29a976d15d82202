package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mytsdb/storage/block"
	"mytsdb/storage/compaction"
	"mytsdb/storage/wal"
)

// DefaultRetention is Prometheus's default --storage.tsdb.retention.time.
const DefaultRetention = 15 * 24 * time.Hour

// DefaultMaintenanceInterval is how often every tenant's head is cut into
// blocks, blocks compacted and retention applied (Prometheus's compaction
// loop runs every minute too).
const DefaultMaintenanceInterval = time.Minute

// DefaultBlockReloadInterval and MinBlockReloadInterval are Prometheus's.
const (
	DefaultBlockReloadInterval = time.Minute
	MinBlockReloadInterval     = time.Second
)

// Options configures a DB.
type Options struct {
	Dir               string        // --storage.tsdb.path
	RetentionDuration time.Duration // --storage.tsdb.retention.time (0 = DefaultRetention)
	WALSync           wal.SyncPolicy
	WALSyncInterval   time.Duration
	WALSegmentSize    int64
	WALWriter         string
	// WALCompression is wal.Options.Compression: none (default), snappy, zstd.
	WALCompression string
	// DefaultWALHold is wal.Options.HoldAtOpen for the default tenant's
	// WAL, which outgoing remote write follows (package remote): its
	// covered segments stay until the remote storage has applied its
	// config and its followers hold what they still need.
	DefaultWALHold       bool
	OutOfOrderTimeWindow int64 // ms, from the config's storage.tsdb.out_of_order_time_window
	Logger               *slog.Logger
	Registerer           prometheus.Registerer

	// MaxExemplars is the exemplar ring size per tenant (0 = head default,
	// < 0 disables exemplar storage).
	MaxExemplars int
	// ChunkRange is the head chunk range in ms (0 = 2h), Prometheus's
	// --storage.tsdb.min-block-duration: the head is cut into blocks of it.
	ChunkRange int64
	// SamplesPerChunk is --storage.tsdb.samples-per-chunk (0 = 120).
	SamplesPerChunk int
	// STAsZeroSample is --enable-feature=created-timestamp-zero-ingestion
	// (head.Options.STAsZeroSample).
	STAsZeroSample bool
	// MemorySnapshotOnShutdown is --enable-feature=memory-snapshot-on-shutdown
	// (head.Options.SnapshotOnShutdown): Close writes each tenant's head to
	// <tenant>/chunk_snapshot.<segment>.<offset> after closing its WAL, and
	// Open restores the head from it when the WAL still ends there.
	MemorySnapshotOnShutdown bool
	// HeadChunksWriteQueueSize is --storage.tsdb.head-chunks-write-queue-size
	// (head.Options.ChunkWriteQueueSize): each tenant's cut head chunks are
	// written to <tenant>/head_chunks/ and read back through mmap; this many
	// series may wait for the background writer, 0 = every commit writes
	// its own.
	HeadChunksWriteQueueSize int
	// MaxBlockDuration is --storage.tsdb.max-block-duration in ms: the
	// longest range compaction makes (0 = 10% of the retention, at most 31d).
	MaxBlockDuration int64
	// RetentionSize is --storage.tsdb.retention.size in bytes (0 = off):
	// the oldest blocks are deleted while blocks, WAL and the head's chunk
	// files (as Prometheus counts chunks_head/) exceed it.
	RetentionSize int64
	// BlockSegmentSize is --storage.tsdb.max-block-chunk-segment-size: the
	// largest chunk segment file of a block (0 = 512 MiB).
	BlockSegmentSize int64
	// NoOverlappingCompaction is
	// --storage.tsdb.allow-overlapping-compaction=false: overlapping blocks
	// (out-of-order data) are left as they are, for another component to
	// merge; queries merge them meanwhile.
	NoOverlappingCompaction bool
	// NoLockfile is --storage.tsdb.no-lockfile: do not take <Dir>/lock.
	NoLockfile bool
	// MaintenanceInterval is how often blocks are cut, compacted and
	// expired (0 = DefaultMaintenanceInterval).
	MaintenanceInterval time.Duration
	// BlockReloadInterval is --storage.tsdb.block-reload-interval: how often
	// each tenant's blocks directory is read again, so that blocks copied in
	// (backfilled) or removed by hand are served or dropped. 0 = 1m; values
	// below MinBlockReloadInterval are raised to it, as Prometheus does.
	BlockReloadInterval time.Duration
	// CompactionDelay holds a head cut back for this long after the head
	// is first found due (Prometheus's delayed-compaction feature: a random
	// delay per server, so that servers scraping the same targets do not
	// all compact at the same instant). Block compactions are not delayed.
	CompactionDelay time.Duration
	// CompactionExclude, when set, leaves a block and every later one (by
	// time) out of compaction planning when it returns true: Prometheus's
	// BlockCompactionExcludeFunc, used by --storage.tsdb.delay-compact-file.path
	// to keep blocks a sidecar has not uploaded yet as they are.
	CompactionExclude func(block.Meta) bool
	// ReplayProgress, if set, receives the default tenant's WAL replay
	// progress while Open runs (/api/v1/status/walreplay during startup).
	ReplayProgress *wal.ReplayProgress
	// KeepPrometheusData serves a Prometheus TSDB found in Dir read-only
	// and leaves its files alone. Without it, its blocks and WAL are
	// converted into the default tenant's blocks in the background and
	// each part's files are removed once its copy is verified.
	KeepPrometheusData bool

	// Tier, when set, is where sealed blocks are copied (the Parquet tier
	// on object storage): see the package doc's "The object-storage tier".
	Tier Tier
	// TierLocalRetention is how long a block stays local once it is in
	// the tier, measured back from the newest local block's end (0: it is
	// dropped as soon as its copy is verified).
	TierLocalRetention time.Duration
	// TierRetention is how long blocks are kept in the tier, measured back
	// from the newest block's end, local or in the tier (0: forever).
	TierRetention time.Duration

	// compactable is the DB's channel on which heads ask for a round.
	compactable chan struct{}
	// tasks lists the DB's long work running now (tasks.go).
	tasks *taskList
}

func (o Options) chunkRange() int64 {
	if o.ChunkRange == 0 {
		return compaction.DefaultMinBlockDuration
	}
	return o.ChunkRange
}

// Validate reports every problem of o at once.
func (o Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("storage: Dir is empty"))
	}
	if o.RetentionDuration < 0 {
		errs = append(errs, fmt.Errorf("storage: negative RetentionDuration %s", o.RetentionDuration))
	}
	if o.OutOfOrderTimeWindow < 0 {
		errs = append(errs, fmt.Errorf("storage: negative OutOfOrderTimeWindow %d", o.OutOfOrderTimeWindow))
	}
	if o.WALSegmentSize < 0 {
		errs = append(errs, fmt.Errorf("storage: negative WALSegmentSize %d", o.WALSegmentSize))
	}
	if o.ChunkRange < 0 {
		errs = append(errs, fmt.Errorf("storage: negative ChunkRange %d", o.ChunkRange))
	}
	if o.MaxBlockDuration < 0 {
		errs = append(errs, fmt.Errorf("storage: negative MaxBlockDuration %d", o.MaxBlockDuration))
	}
	if o.RetentionSize < 0 {
		errs = append(errs, fmt.Errorf("storage: negative RetentionSize %d", o.RetentionSize))
	}
	if o.TierLocalRetention < 0 {
		errs = append(errs, fmt.Errorf("storage: negative TierLocalRetention %s", o.TierLocalRetention))
	}
	if o.TierRetention < 0 {
		errs = append(errs, fmt.Errorf("storage: negative TierRetention %s", o.TierRetention))
	}
	if o.MaintenanceInterval < 0 {
		errs = append(errs, fmt.Errorf("storage: negative MaintenanceInterval %s", o.MaintenanceInterval))
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.RetentionDuration == 0 {
		o.RetentionDuration = DefaultRetention
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaintenanceInterval == 0 {
		o.MaintenanceInterval = DefaultMaintenanceInterval
	}
	if o.BlockReloadInterval == 0 {
		o.BlockReloadInterval = DefaultBlockReloadInterval
	}
	o.BlockReloadInterval = max(o.BlockReloadInterval, MinBlockReloadInterval)
	return o
}
