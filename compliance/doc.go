// Package compliance is the side-by-side harness: it starts the real
// prometheus (the reference) and a candidate (mytsdb, or a second prometheus
// to prove the harness deterministic) on the same config, writes the same
// remote-write requests to both (datagen), lets both scrape the same fixture
// targets (targets), then sends every case of the corpus (corpus,
// testdata/queries.txt) to both and compares the answers exactly (compare).
//
// The short-block mode (Options.Blocks, `compliance -blocks`, also run by
// `make compliance` after the normal run) starts both servers with 5-minute
// blocks (--storage.tsdb.min-block-duration, --storage.tsdb.max-block-duration
// 15m), writes the same data in time order (datagen.TimeOrderedWrites) to
// servers that scrape nothing yet, with a base time (BlocksBase) that leaves
// the data's last minute in the head and everything before in blocks, then
// reloads the scrape config and waits (WaitBlocks) until both have cut and
// compacted it, before the same cases run against head, blocks and
// compactions.
//
// After the corpus, the fresh phase (Fresh, fresh.go) writes a small data set
// stamped just before the run's now, by remote write and by OTLP (protobuf,
// JSON, gzip, malformed requests), and compares /federate in every format,
// the OTLP series and samples, and /api/v1/query_exemplars: federation looks
// back from the server's clock, which the corpus's data set (ending Lead-Span
// before the run) never reaches. Both servers run with FreshFlags
// (--web.enable-otlp-receiver, --enable-feature=exemplar-storage,
// --enable-feature=search-api for the corpus's search cases).
//
// Subpackages: server (process lifetime, reused by the benchmark drivers),
// datagen, targets, corpus, compare; cmd/compliance is the command behind
// `make compliance`. compliance/bench, compliance/loadgen and
// compliance/cmd/bench belong to the benchmark work, not to this package
// (they reuse compliance/server).
//
// It is test and tooling code only: nothing in it is imported by the
// production packages, and it must not import them.
package compliance
