// Package chunkenc is mytsdb's own float chunk codec: a chunk of up to 65535
// (timestamp, float64) samples, encoded per chunk in whichever of a few
// layouts the data suits best, and decoded in one pass into plain arrays so a
// query iterates over memory instead of over a bit stream. The byte layout is
// in FORMAT.md.
//
// It owns the encoding byte EncFloat, the chunk type FloatChunk (which
// satisfies the upstream github.com/prometheus/prometheus/tsdb/chunkenc.Chunk
// interface), its appender and iterator, FromData and NewEmptyChunk (which
// hand every other encoding to upstream), NewPool (likewise for upstream's
// chunk pool), SealedChunk and AppendEncoded (an immutable chunk of bytes
// only, and an append-style encoder, for callers that seal many chunks: the
// head's recoder and the block writer), ElideFirstTimestamp and
// NewSealedChunkAt (a chunk stored without its first timestamp, which the
// block index holds anyway), and the conversions to and from
// upstream XOR chunks. It must not know about the head, blocks, WAL or
// queries: callers decide when to cut a chunk, where its bytes live and
// which encoding to write.
//
// # Layouts
//
// Timestamps are stored as frame-of-reference bit-packed deltas,
// delta-of-deltas or offsets from a regular grid, whichever is smallest; a
// regular scrape interval costs zero bits per sample and ±5 ms of jitter
// four. Values are stored as one of:
//   - a constant (every value has the same bits, NaN payloads included;
//     a short decimal is stored as its integer);
//   - decimals: every value v is an integer d divided by 10^e for one
//     exponent e per chunk (the ALP idea), and the d are bit-packed
//     directly, as deltas, or as residuals from a line (integer counters
//     are e = 0 with deltas or a line); values
//     that do not round-trip bit for bit (NaN, stale markers, ±Inf, -0, full
//     precision outliers) are kept raw as exceptions;
//   - binary fixed point: every value an integer times 2^E, for
//     full-precision values within a few binades, float counters and
//     integers ending in zero bits, with the same lanes and exceptions;
//   - split (ALP's "real doubles"): for full-precision values, the high bits
//     of each value index a small per-chunk dictionary and the low bits are
//     bit-packed as they are;
//   - XOR of consecutive values (Gorilla), the fallback when neither split
//     nor binary is smaller.
//
// Every layout is bit-exact for every float64: the encoder checks each value
// through the decoder's own arithmetic and keeps anything that would change
// as an exception.
//
// # Choices
//
// An open chunk buffers its samples uncompressed (16 bytes each) and encodes
// them when Bytes or Compact is called: appending is a slice append, and the
// encoder sees all values at once to pick the layout. Compact encodes and
// drops the buffer; call it when a chunk is cut so sealed chunks cost only
// their encoded size. Bytes returns a fresh slice after every change, so a
// slice handed out earlier never changes under its reader.
//
// The iterator decodes the whole chunk into arrays on its first Next or
// Seek (the arrays are reused when the iterator is passed back to
// Iterator), then steps through them; Seek scans forward in memory.
//
// Histograms are out of scope: native histogram chunks keep upstream's
// encodings (FromData passes them through). Start timestamps (the ST
// argument of Append) are not stored; AtST returns 0, as for upstream XOR.
//
// # Caveats
//
//   - A FloatChunk is not safe for concurrent use: Append, Bytes, Compact,
//     Reset and Iterator must not run concurrently with each other. An
//     iterator, once returned, may be used while the chunk is appended to; it
//     sees the samples present when Iterator was called.
//   - Append panics when the chunk already holds 65535 samples, like
//     upstream's XOR appender; callers cut chunks long before.
//   - Cut chunks by NumSamples, not by len(Bytes()): Bytes encodes the open
//     chunk each time it changed.
//   - AtHistogram and AtFloatHistogram panic, as on upstream's XOR iterator:
//     a float chunk holds no histograms.
//   - Bytes given to FromData must not change while the chunk or its
//     iterators are in use (they are read lazily, as upstream does).
package chunkenc
