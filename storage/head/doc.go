// Package head is mytsdb's in-memory head: the series, their samples in
// compressed chunks, the postings index, exemplars and metadata of one tenant,
// made durable by the write-ahead log in storage/wal.
//
// It owns: series storage (sharded by label hash, lock striping), the
// postings index (label name → value → sorted series refs), chunk cutting,
// append validation (the same rules and errors as Prometheus's head), the
// out-of-order window, exemplars (a bounded ring) and per-series metadata,
// WAL record encoding at commit, parallel WAL replay, retention truncation
// and WAL checkpoints, and the segment files its cut chunks live in off the
// Go heap (chunk_files.go, FORMAT.md). Durable state goes only through the
// WAL (wal.WAL): the chunk files are a cache of it, deleted when a head
// opens and rebuilt by the replay. It knows nothing of tenants, HTTP or
// configuration files.
//
// Chunks are cut like Prometheus's (~120 samples or a 2h range boundary for
// floats, a byte target for histograms). The open float chunk of a series is
// an upstream XOR chunk written by xorWriter, inline in the series; once cut,
// a float chunk is re-encoded in the background into mytsdb's own codec
// (storage/chunkenc, recode.go), which holds the same samples in about half
// the bytes and decodes faster; histogram chunks keep upstream's encodings.
// With Options.ChunkDir every cut chunk (re-encoded first if it is XOR) is
// then written to the head's chunk segment files and the series keeps only
// its 8-byte reference; a reader copies the chunk out of a read-only mmap of
// the file, under the series lock, so no chunk handed out points into a
// mapping and a segment can be unmapped as soon as no series refers to it
// (after a truncation: segments whose chunks all end before its mint). The
// commit that cut the chunks writes them itself when
// Options.ChunkWriteQueueSize is 0 (Prometheus's default, synchronous) or
// the queue is full; otherwise the recoder's goroutine does.
// xorWriter writes the same bytes as chunkenc's XOR appender (a fuzz
// test compares them bit for bit), without its per-chunk objects and with a
// 64-bit bit accumulator, because with many series an append is bound by
// cache misses. For the same reason series are found by ref in a lock-free
// two-level array (refs are dense), and the fields an append touches sit in
// the first 128 bytes of a memSeries. memSeries is paid for per active
// series, times the GC's headroom: it fits the 208-byte size class (a test
// guards both), with what only histogram series need behind a pointer, no
// copy of the head's chunk range (appends are given it), and the open float
// chunk's buffer grown by half to a Go size class rather than doubled.
//
// Replay (replay.go) is a pipeline: the WAL reader decodes records; a router
// creates series (their postings are built by a goroutine of their own) and
// routes samples to the worker owning the series; each worker sorts a large
// batch by series (a stable counting sort, so a series keeps its log order)
// and applies it without the series lock, since nothing else touches the
// chunks of a head being replayed. Sorting turns one cache miss per sample
// into one per series per batch.
//
// Memory snapshot (snapshot.go, FORMAT.md): with Options.SnapshotOnShutdown
// the owner calls WriteSnapshot after closing the WAL, which writes every
// series, its chunks (the open one with its writer's state), metadata,
// out-of-order samples and exemplars to one CRC-checked file named by where
// the WAL ends; ReplayWAL restores the head from it, instead of replaying,
// only when the WAL still ends exactly there, and deletes it in every case. The
// chunks are written series by series, but the file is read whole (simple;
// it costs its size in memory for the time of the restore).
//
// Durability: Commit encodes the new series, samples, exemplars and metadata
// as WAL records, calls wal.Log once, and only then applies the samples to
// memory. A Commit that returned nil survives a crash (per the WAL's sync
// policy); samples are never visible to queries before they are logged.
//
// Caveats:
//   - An appender is not safe for concurrent use; use one per goroutine. After
//     Commit or Rollback it must not be used again (it is pooled).
//   - Histograms passed to Append must not be modified until Commit or
//     Rollback returns.
//   - Iterators and series returned by a querier stay valid after the querier
//     is closed (they hold immutable chunks or private copies), but an
//     iterator is not safe for concurrent use.
//   - Samples that pass Append but lose a race at Commit against a concurrent
//     appender on the same series (it made them out of order or duplicate)
//     are dropped silently and counted, like Prometheus does; they stay in the
//     WAL and replay drops them again by the same per-series rules, except
//     that replay does not re-check the out-of-order window.
//   - Truncate holds off commits while it writes a WAL checkpoint (it only
//     checkpoints when data was dropped and the WAL outgrew the last
//     checkpoint, so this is rare; Checkpoint forces one).
//   - Truncate drops whole chunks only: samples older than mint that share a
//     chunk with newer ones stay visible until the whole chunk is older. Like
//     Prometheus, Select returns a series whose chunk overlaps the range even
//     when none of its samples falls inside it (its iterator is then empty).
//   - ReplayWAL must be called once, on a new head, before any append; call
//     SetMinValidTime before it with the end of the newest block, so that
//     logged samples a block holds are not replayed (without an out-of-order
//     window; with one, everything is replayed and duplicates of block data
//     are merged away above the head).
//   - A cut: PrepareCut(maxt), write the head's data before maxt (a
//     ChunkQuerier), then FinishCut(maxt), or AbortCut on failure. Between
//     them in-order appends before maxt are out of bounds; out-of-order ones
//     are accepted and kept through FinishCut. Delete and cuts must not run
//     at the same time (the owner serialises them).
//   - Delete clamps each series' interval to the samples it holds. Replay
//     applies tombstones records after every sample, so an out-of-order
//     sample logged after a delete inside its interval is deleted too.
//   - The upstream chunkenc.Iterator interface has a Seek(int64) method, which
//     go vet's stdmethods check flags (upstream's own package fails it too):
//     vet this package with -stdmethods=false.
//   - Start timestamps (AppenderV2's st) are not stored yet.
//   - With chunk files, a query allocates a copy of each cut chunk it
//     reads (the open chunk was copied already); their pages are mapped
//     only while read, and dropped again after a checkpoint.
//   - After a restart the replayed chunks stay on the heap until the
//     recoder's sweep has written them (in the background, whatever the
//     queue size; each series' oldest chunk first, round by round, so that
//     the segments fill roughly in time order and the cuts delete them in
//     order).
//   - Cut float chunks are swapped for their re-encoding by a goroutine
//     that Close stops; a chunk is never changed in place, so a reader
//     holding one is unaffected. Chunks from a ChunkQuerier may be in
//     mytsdb's encoding (storage/chunkenc.EncFloat); WaitRecoded waits
//     until the queued chunks are re-encoded.
package head
