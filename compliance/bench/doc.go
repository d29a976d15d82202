// Package bench is the `make bench` driver: it runs the same remote-write load
// (package compliance/loadgen) against the real Prometheus and against mytsdb
// on 127.0.0.1, alternating A B A B, and reports per metric Prometheus's
// figure, mytsdb's and the ratio mytsdb/Prometheus: sustained ingest
// (samples/s), peak RSS per active series (VmHWM), WAL bytes per sample,
// restart-to-ready time (SIGKILL, restart, /-/ready and a query that sees the
// last sample) and server CPU seconds per million samples.
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
