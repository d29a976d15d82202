// Package wal is mytsdb's write-ahead log: segment files of CRC32C-framed
// records, group commit, crash repair, checkpoints, and the codecs of the
// records the head writes into it (series, float samples, integer and float
// native histograms, exemplars, metadata).
//
// # What it owns
//
// Everything inside one WAL directory (<data>/<tenant>/wal): the segment files
// 00000001, 00000002, ..., at most one checkpoint.N (and, transiently,
// checkpoint.N.tmp), and the byte formats of records and frames, documented in
// FORMAT.md. It must not touch anything outside that directory and knows
// nothing of the head: a record is opaque bytes to the log, and only the codecs
// (Append*Record, Decode*Record) know their layout.
//
// # Writing
//
// Log may be called from many goroutines. Callers copy their framed records
// into a shared queue; one commit goroutine takes everything queued, writes it
// with one write and, with SyncAlways, one fdatasync, and then releases every
// caller whose bytes are covered. With SyncInterval, Log returns once the
// bytes are written and the segment is fdatasync'ed every SyncInterval; Sync
// forces it. Segments are preallocated; a record never spans segments. Log is
// allocation-free in steady state (the queue is double-buffered).
//
// With Options.Compression set, each record is compressed (snappy or zstd)
// by its caller before the lock, into a frame of its own kind (FORMAT.md);
// readers decode every kind, so the setting may change between opens.
//
// Two writers put group commits on disk: pwrite(2)+fdatasync(2), and on Linux
// an io_uring writer (raw io_uring_setup/io_uring_enter, mmapped rings) that
// submits a commit's write linked to an fdatasync in one io_uring_enter.
// Writes that need no sync go through pwrite(2) in both: io_uring would punt
// a buffered ext4 write to a kernel worker. Options.Writer "auto" falls back
// to pwrite when io_uring cannot be set up. Both produce identical files.
//
// The filesystem is an interface (FS, File): OSFS in production, MemFS in
// tests, whose CrashClone keeps only what was synced.
//
// # Recovery
//
// Open truncates a torn or corrupt tail of the last segment. Replay reads the
// newest checkpoint then every later segment, stops at the first damaged
// record, truncates it, removes later segments and reports it in ReplayStats
// and prometheus_tsdb_wal_corruptions_total; damage is never an error, except
// in a checkpoint, which cannot be repaired.
//
// # Caveats
//
//   - The rec passed to Replay's fn aliases an internal buffer: it is valid
//     only during the call. Decode it (decoded labels and strings are copies)
//     or copy it before fn returns.
//   - Decode*Record append to dst; pass dst[:0] to reuse a slice. Decoded
//     histograms are freshly allocated and owned by the caller.
//   - Call Replay before the first Log. Replay never reads segments written by
//     this process once Log has started, and Replay, Checkpoint and Close are
//     serialised.
//   - Checkpoint deletes every record logged before it was called: the state
//     its write function emits must cover all of them (for example, quiesce or
//     account for appends in flight). A covered segment a Hold keeps (hold.go:
//     a follower has not read it yet) stays on disk, but Replay never reads
//     it again; Files lists it as Covered. Holds live in memory: Options.
//     HoldAtOpen keeps covered segments from Open until ReleaseOpenHold, for
//     the followers of a restarted process. Kept segments count in Size.
//   - After a write or sync error the WAL is failed: every later Log returns
//     the error (the bytes on disk are then uncertain). Reopen to recover.
//   - Metrics are registered on Options.Registerer; two WALs in one process
//     need registerers wrapped with distinct labels
//     (prometheus.WrapRegistererWith), otherwise Open returns an error.
//     Close unregisters them.
//   - Record sizes are limited by the segment size (a record never spans
//     segments).
package wal
