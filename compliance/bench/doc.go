// Package bench is the `make bench` driver: it runs the same remote-write load
// (package compliance/loadgen) against the real Prometheus and against mytsdb
// on 127.0.0.1, alternating A B A B, and reports per metric Prometheus's
// figure, mytsdb's and the ratio mytsdb/Prometheus: sustained ingest
// (samples/s), peak RSS per active series (VmHWM), WAL bytes per sample,
// restart-to-ready time (SIGKILL, restart, /-/ready and a query that sees the
// last sample) and server CPU seconds per million samples.
//
// Then the block scenarios (blocks.go), with both servers given the same
// --storage.tsdb.min/max-block-duration and synthetic timestamps in the past,
// every sender in lockstep (one round at a time, for Prometheus's
// out-of-bounds rule): CutsKind races a steady load through several short
// blocks while a sampler (blockscan.go) reads VmRSS, the acknowledged samples
// and the block directories every 50 ms, for peak RSS per series, the RSS
// growth from head cut to head cut and the ingest rate while a block is being
// written (a <ULID>.tmp-for-creation directory exists) against the steady
// rate; DiskKind writes FACTS.md's storage mix and sizes an admin snapshot
// with the head; HistoryKind writes 24h of dashboard series with classic
// histograms into short blocks (head, level-1 and compacted blocks), times
// dashboard range queries over 1h, 6h and 24h, compares the two servers'
// answers, and times a SIGKILL restart to ready. Their rows carry their own
// keys; a target on mytsdb's own figure (e.g. "mytsdb ≥ 0.9") is marked as
// such, and every target's cell says "met" or by how much it is missed.
// ParquetKind (parquet.go, mytsdb only: Prometheus's cells stay "—")
// writes 36.5h of node series into 24h blocks and measures the Parquet
// tier's targets on the first 24h block: its bytes per sample local and in
// the bucket, then a 1h query over 10 of its series timed warm with the
// block local, and, after a restart with --storage.parquet.local-retention=0s
// has removed the local copy, once cold (GetRange calls and bytes fetched,
// from objstore's counters on /metrics) and warm from the bucket, side by
// side. `-only` picks scenario groups (ingest, cuts, disk, history,
// convert, parquet).
//
// It owns measurement and reporting only. It must not import mytsdb's
// production packages: both servers are black boxes started from their
// binaries, so the figures compare what a user would run.
//
// It starts server processes with a small launcher of its own (proc.go)
// rather than compliance/server, because it needs the process id (for
// /proc/<pid>/status and stat), a SIGKILL and a restart on the same data
// directory, which that package does not expose; it reuses that package's
// binary lookup (PrometheusBinary, MytsdbBinary) and FreePort.
//
// Caveats: the load generator shares the machine's cores with the server, as
// in FACTS.md's reference figures, so a costlier server also slows its own
// load a little; the driver reports its own CPU per sample to make that
// visible. A scenario that fails for one server (no binary, not ready, an HTTP
// error) is reported as "error: …" in its row; the other rows still run.
package bench
