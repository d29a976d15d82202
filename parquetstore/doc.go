// Package parquetstore is mytsdb's cold tier: sealed blocks written as
// Apache Parquet objects in a bucket (thanos-io/objstore), and queriers that
// read them back through the upstream storage interfaces. The object layout
// and every column are in SCHEMA.md.
//
// It owns: the Parquet schema of a block (series.parquet, samples.parquet,
// histograms.parquet, meta.json), Write (any storage.ChunkQuerier to
// <tenant>/<ULID>/ in a bucket, meta.json last), Verify (the uploaded
// block against its source, sample by sample), Store (one tenant's blocks:
// listing, Delete, and storage.Querier / storage.ChunkQuerier over the blocks
// that overlap a range) and the bounded cache of object byte ranges the
// queriers read through (footers, page indexes, pages, series tables).
//
// It must not import mytsdb/storage (storage uses this package: a cycle),
// must not know about the head, local blocks, retention policy, flags or
// HTTP. The caller decides which blocks to write, verify and delete.
//
// Reading little: a query first prunes blocks by their meta.json time range,
// then resolves matchers on the block's series table (series.parquet, read
// whole in one GetRange and cached with postings per label value: it holds
// one row per series with its row range in samples.parquet), opens the data
// file by its footer alone (meta.json says where it starts), fetches the
// page index of only the row groups and columns it touches, narrows each
// series' rows with the timestamp column index, and fetches the pages of a
// batch of series together, adjacent ranges merged into one GetRange. Every
// byte read goes through the cache in fixed-size aligned pieces, and
// decoded pages are cached too, so a repeated query decodes nothing
// (Options.CacheBytes bounds it all).
//
// Caveats:
//   - A block whose meta.json is missing is incomplete (an interrupted
//     Write) and is invisible to Store; Write over it again replaces it.
//   - A block whose objects are unreadable or corrupt makes a querier return
//     a warning naming the block and skip it; it never fails the query or
//     panics (parquet-go panics on some corrupt input are recovered and
//     turned into errors).
//   - Series from Select are sorted by labels whether or not sorting was
//     asked for; hints (Start/End, Func "series", ShardCount/ShardIndex)
//     are honoured as in Prometheus's block querier.
//   - Start timestamps (ST) of samples are not stored.
//   - Integer native histograms are stored with float64 counts (exact below
//     2^53); Write refuses a histogram with a larger count.
//   - Queriers and the series they return are not safe for concurrent use;
//     the Store is.
package parquetstore
