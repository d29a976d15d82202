// Package loadgen is the remote-write load generator of the benchmark drivers:
// node_exporter-like series (job, instance, ~100 node_* metric names with cpu,
// mode, device, mountpoint, fstype, collector labels), split across senders so
// that every series is written in order by exactly one sender, sent in batches
// of a fixed number of samples with protocol 1.0 (prometheus.WriteRequest) or
// 2.0 (io.prometheus.write.v2.Request with a symbol table per request).
//
// It is built not to be the bottleneck: every request body is protobuf-encoded
// and snappy-compressed once, before the timed phase, by a snappy encoder that
// keeps the bytes of each sample's value and timestamp as literals and never
// copies from them. A later round only overwrites those literal bytes in the
// compressed body (value: 8 bytes, timestamp: a 6-byte varint), which costs a
// few nanoseconds per sample and no allocation.
//
// It owns load generation only: it never starts servers nor measures them
// (package compliance/bench does), and it must not import mytsdb's own
// packages, so that it loads mytsdb and Prometheus identically.
//
// Caveats: a Load is not safe for concurrent use except through Run, which
// gives each sender its own goroutine; Body returns a slice into the sender's
// buffer that the next Body or Run call for that batch overwrites. Timestamps
// must lie in [2^35, 2^42) ms (1971 to 2109) so that their varint is 6 bytes.
package loadgen
