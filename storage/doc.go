// Package storage is mytsdb's per-tenant database: it opens, for every tenant,
// the directory <Dir>/<tenant>/ holding its write-ahead log (wal/), its blocks
// (blocks/<ULID>/) and a lock file, replays the WAL into an in-memory head
// (storage/head), cuts the head into blocks, compacts them, applies retention,
// and serves each tenant through the upstream Prometheus storage interfaces
// (storage.Storage, storage.ChunkQueryable and storage.ExemplarQueryable).
//
// It owns the data directory layout, the data directory's lock (Prometheus's
// own <Dir>/lock), tenant ID validation, the per-tenant lock, the block
// lifecycle of each tenant (cut, compaction, retention, delete_series,
// tombstone cleaning, snapshots) and the merged querier. It must not parse
// configuration files or speak HTTP; the WAL format belongs to storage/wal,
// the in-memory layout to storage/head, the block format to storage/block,
// and the decisions of what to compact or expire to storage/compaction.
//
// # The block lifecycle
//
// A maintenance round runs every Options.MaintenanceInterval, and at once
// when a commit leaves a head spanning more than one and a half block ranges
// (Prometheus's rule). A round, one at a time per tenant (cutMu):
//
//  1. Cut: Head.PrepareCut(maxt) makes in-order samples before maxt out of
//     bounds and waits for the appenders begun before; the head's data
//     before maxt is written as level-1 blocks (one per range; out-of-order
//     samples can reach older ranges); the blocks become visible; the round
//     waits for the queriers begun before that (they may still read the
//     head's copy); Head.FinishCut drops the range from memory and
//     checkpoints the WAL. Out-of-order samples that commit during a cut are
//     kept in the head. A crash between the block's rename and the
//     checkpoint replays samples a block holds: without an out-of-order
//     window they are skipped (SetMinValidTime), with one they are merged
//     away by queries and by the compaction of the overlapping block the
//     next cut writes.
//  2. Compaction: storage/compaction plans (Prometheus's planner: overlapping
//     blocks first, then 3× ranges up to the max block duration, then a
//     rewrite of a block with many tombstones); storage/block merges; the
//     new block replaces its parents in one step; the parents are closed
//     (Close waits for their queriers) and deleted.
//  3. Retention: whole blocks, by time (relative to the newest block's end)
//     and by size (blocks plus WAL), as Prometheus decides.
//
// A block directory is removed by renaming it to <ULID>.tmp-for-deletion
// first; Open removes such leftovers, unfinished <ULID>.tmp-for-creation
// directories, and blocks a finished compaction lists as its parents. A
// block that cannot be read is left out with a log line and
// mytsdb_tsdb_corrupt_blocks; the rest is served.
//
// Each cut, compaction, tombstone rewrite, upload to the Parquet tier and
// the conversion of Prometheus's data is listed by DB.Tasks while it runs
// (tasks.go), for the status page.
//
// # The object-storage tier
//
// With Options.Tier (cmd/mytsdb wires storage/parquettier, which writes
// Parquet through mytsdb/parquetstore to a thanos-io/objstore bucket; this
// package never imports either), a round has a fourth step, after
// compaction and before retention (tier_lifecycle.go):
//
//  1. Upload: a local block is written to the tenant's part of the bucket
//     (<tenant>/<ULID>/) once no compaction will take it any more (it spans
//     the largest compaction range, or the window of that range it lies in
//     ends before the newest block begins: the planner compacts a window
//     only then), or once it is old enough to be dropped; then it is read
//     back and compared series by series with the local copy (Verify). A
//     copy that does not verify is deleted and written again next round.
//     Blocks the tier's retention would delete at once are not written.
//  2. Local drop: a block the bucket holds whose end is at least
//     Options.TierLocalRetention behind the newest local block's end is
//     verified (again, unless this process verified it, with the same
//     tombstones) and removed locally like a retired block; queriers opened
//     from then on read it from the bucket.
//  3. Bucket retention: tier blocks whose end is Options.TierRetention behind
//     the newest block's end (local or tier) are deleted, meta.json first;
//     so are tier blocks whose sources another tier block holds all of (one
//     uploaded as old enough, then compacted locally before its drop).
//
// Local retention (step 3 of the lifecycle) then deletes only blocks the
// tier holds, or that its retention would delete anyway: a bucket outage
// keeps blocks on the disk. A failed tier step keeps every local copy and is
// retried after a backoff (10s doubling to 10m). Crash safety rests on the
// order: a block is complete in the bucket only once its meta.json is there
// (written last: crashpoint tier-before-meta), it is verified before it is
// dropped (tier-written, tier-verified), and the drop is a block removal
// (rename, then delete: tier-dropped), so a restart finds it local, in the
// bucket, or both, and finishes the step.
//
// Queriers add the tier's blocks that no local block holds (the same ULID,
// or a local block compacted from all of its sources) as secondaries of the
// merge querier, as Prometheus adds remote-read sources: the store's
// querier is opened only over the time spans of those blocks, so a block
// whose local copy is present is not read, and an unreadable bucket turns
// into a warning beside the rest of the answer. The tenant's store lists
// the bucket at open (and every round), so a restarted server serves the
// tier at once; until a bucket unreachable at open answers, every query
// carries that warning.
//
// The admin API reaches the tier's blocks as Prometheus's reaches its own
// (tier_admin.go): delete_series rewrites each block held only in the
// bucket without the deleted samples (the new block names the old one as
// its parent, which hides it from then on, and the old one is deleted),
// and deletes the bucket copy of a block also held locally (the local
// block takes tombstones and is uploaded again); clean_tombstones deletes
// what an interrupted rewrite left; a snapshot writes the bucket-only
// blocks into it as local blocks, so it holds all the data; `mytsdb tsdb
// export` reads the bucket too. These fail while the bucket cannot be read.
//
// Queriers merge the head and the blocks overlapping the range with the
// upstream merge queriers (chained merge: a sample two sources hold is
// returned once). Block queriers are opened under the blocks' read lock, so a
// block swapped out by a compaction is closed only after they hold it.
//
// Caveats:
//   - <Dir>/lock is taken with Prometheus's DirLocker: a Prometheus or
//     another mytsdb running on the directory makes Open fail with ErrLocked
//     (Options.NoLockfile skips it, as --storage.tsdb.no-lockfile).
//   - A tenant directory is also locked with flock(2) while open, and a
//     killed process leaves no stale lock (the kernel releases it).
//   - The data directory may be the one a replaced Prometheus used: Open
//     skips Prometheus's entries (wal, chunks_head, wbl, snapshots,
//     queries.active, ULID block directories) as tenants, with one warning,
//     and ValidateTenantID reserves those names, so that no tenant can be
//     opened on top of Prometheus's files. Their data (storage/promtsdb) is
//     merged into the default tenant's reads from the start; unless
//     Options.KeepPrometheusData, convert.go moves it part by part into the
//     default tenant's blocks (write, verify series by series, serve, then
//     remove Prometheus's copy; crash-safe at every step) and snapshots,
//     exports and retention then see it as ours. With the tier open, a
//     Prometheus block ending Options.TierLocalRetention or more behind
//     the newest data goes straight to the bucket instead (written under
//     its ULID, verified against the source, then the source removed; a
//     copy a crash left is verified, not rewritten): what the lifecycle
//     would upload and drop at the next round, without a local copy.
//   - Series and iterators from a tenant's querier are valid until its
//     Close (block data is memory-mapped), as with Prometheus's queriers.
//   - delete_series applies to the head at once (the samples are removed and
//     a tombstones record logged) and to blocks as tombstones, which every
//     read path honours until CleanTombstones or a compaction rewrites them.
//   - Snapshots go to <Dir>/snapshots/<name>/<tenant>/blocks/: the layout of
//     a data directory, so mytsdb started on it serves the snapshot.
//   - Tenant.Close closes only that tenant; DB.Tenant reopens it on next use.
//   - Metrics of the default tenant carry Prometheus's plain names; other
//     tenants' carry the same names with a constant label tenant="<id>" (they
//     are registered unchecked, so that both shapes can share one registry).
package storage
