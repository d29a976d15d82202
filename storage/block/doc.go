// Package block is mytsdb's immutable on-disk blocks: a directory
// <ULID>/ holding the samples of a time range [MinTime, MaxTime) of many
// series, written once and then only read (and marked with tombstones).
// The layout of every file is in FORMAT.md.
//
// It owns: the block files (meta.json, the index, the chunk segment files,
// tombstones) and their checksums; Write (a sorted ChunkSeriesSet to a new
// block, atomically); Open (verifying meta.json, every index section and
// the tombstones, mapping the chunk files); queriers with Prometheus's
// block-querier semantics (storage.Querier and storage.ChunkQuerier of the
// upstream module); Delete (tombstones); and Compact (merging blocks with
// the upstream compacting chunk-series merger). It knows nothing of the
// head, the WAL, tenants, retention, compaction planning or HTTP: the
// caller decides which blocks to write, compact, keep and remove.
//
// Float samples are stored in mytsdb's own codec (storage/chunkenc,
// encoding byte EncFloat): Write re-encodes every float chunk it is given
// (XOR from the head or from Prometheus blocks, ours from blocks being
// compacted), keeping the chunk boundaries it is given (so a block's chunk
// count is the one Prometheus's block would have), each stored without its
// first timestamp (segment byte 0x21: the index's mint gives it back; the
// chunk reader hands out EncFloat chunks). Histogram chunks
// and the encodings with start timestamps keep their upstream encodings:
// those that lie wholly in the block's range are copied as they come, one
// that sticks out of it, or that a query or a compaction cuts with a deleted
// interval, is re-encoded. Every chunk carries its encoding byte, so blocks
// written before the codec (XOR float chunks) stay readable.
//
// Write streams chunks to the segment files as the series arrive, and keeps
// every series' labels and chunk metas in memory until it writes the index.
//
// Caveats:
//   - Series, iterators and chunks obtained from a querier are valid only
//     until the querier's Close (as in Prometheus): chunks point into the
//     block's memory-mapped files, which Block.Close unmaps once the last
//     querier is closed. Labels are copies and stay valid.
//   - A querier, its series sets and iterators are not safe for concurrent
//     use; use one querier per goroutine (the Block itself is safe).
//   - Block.Close waits for every querier opened from the block: a leaked
//     querier makes Close hang. Queriers and Delete fail after Close began.
//   - Write needs the series sorted by labels, each once, with its chunks
//     sorted by time and disjoint; it returns an error otherwise.
//   - Like Prometheus's block querier, LabelNames and LabelValues read the
//     index only: a series whose samples are all deleted or outside the
//     querier's range still contributes its labels until the block is
//     compacted. Select, by contrast, returns only series with a sample in
//     range after tombstones.
//   - A query's time range is closed, [mint, maxt]; the block's is
//     half-open, [MinTime, MaxTime), as in Prometheus's meta.json.
//   - Select returns series sorted by labels whether or not sortSeries is
//     set (series refs are in label order); hints.ShardCount/ShardIndex
//     are honoured with labels.StableHash.
//   - Chunk CRCs are checked when a chunk is read, not at Open (Open checks
//     every segment file's size, so truncation is found there); a damaged
//     chunk makes the query's iterator or series set fail with ErrCorrupt.
//   - Start timestamps (AtST) are kept when the input chunks store them
//     (the ST encodings); the meta's Stats count them as float or histogram
//     samples by encoding.
//   - Chunks from a ChunkQuerier may be in mytsdb's encoding EncFloat,
//     which Prometheus's own code does not decode: a protocol that sends
//     chunks to others converts them (storage/chunkenc.ToXOR).
//   - The upstream chunkenc.Iterator interface has a Seek(int64) method,
//     which go vet's stdmethods check flags: vet this package with
//     -stdmethods=false.
package block
