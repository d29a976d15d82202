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
// Then the remote-read phase (RemoteRead, remoteread.go) sends the same
// POST /api/v1/read requests, sampled and streamed XOR chunks, over the
// corpus's data, and the rules phase (Rules, rules.go) reloads both servers
// with the same rule_files (RulesYAML): recording rules over the scraped
// targets, an alert on the flaky target, one that stays pending, and one on
// a remote-written toggle that is switched on (pending, then firing) and
// off (resolved); at each state /api/v1/rules with its filters,
// /api/v1/alerts, the recording rules' series and ALERTS /
// ALERTS_FOR_STATE are compared, each case asked again until both servers,
// evaluating on their own schedules, agree (or rulesSettle passes).
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
