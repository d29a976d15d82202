// Package remote owns mytsdb's outgoing remote storage: the config's
// remote_write queues, fed from the default tenant's WAL, and its
// remote_read endpoints, merged into what queries of the default tenant
// read. The sending (queue managers, shards, retries, RW 1.0 and 2.0,
// metadata, write relabelling) and the reading (read clients, read_recent,
// required_matchers, external label filtering) are the upstream
// storage/remote package's; this package is the glue between it and our
// WAL, which has its own format that upstream's WAL watcher cannot read.
//
// # How samples reach the queues
//
// Upstream's WriteStorage builds one QueueManager per remote_write entry and
// a WAL watcher that reads Prometheus's WAL. Here the watchers are pointed at
// an empty Prometheus-format WAL (<tenant dir>/remote_write/wal/00000000) and
// stay idle; a follower per queue reads our WAL (storage/wal.Tail) and calls
// the queue manager's exported WriteTo methods (StoreSeries, StoreMetadata,
// Append, AppendHistograms, AppendFloatHistograms, AppendExemplars,
// UpdateSeriesSegment, SeriesReset), as the watcher does with Prometheus's.
// WriteStorage does not export its queue managers: they are read from its
// unexported field by reflection (queues.go), checked against the pinned
// upstream version by a test.
//
// Every follower keeps its position in <tenant dir>/remote_write/<queue
// hash>.position: Safe, the WAL position before which every record has been
// sent (the queue's pending gauges read zero, a poll after it was handed
// over), and Handed, the end of what was handed over. A restart or a
// receiver that is down for a while therefore loses nothing the WAL still
// holds. Samples between the two may or may not have been sent: the queue's
// write client (upstream's, wrapped through QueueManager.SetClient) notes,
// per series, the newest timestamp the receiver accepted, saved at shutdown
// in <queue hash>.sent, and those samples are skipped when read again. That
// matters: a Prometheus receiver rejects a whole RW 1.0 request holding one
// sample older than what it has for the series (400, out of order), and
// upstream drops a rejected request.

// It must not write to the WAL or the head, nor touch any other tenant.
//
// # Caveats
//
//   - A checkpoint (after a head cut) covers the segments before it, but
//     deletes none a follower may still read: each follower holds
//     (wal.Hold) the segment it reads and, if its saved Safe position lies
//     earlier, the one before it; a restarted process keeps every covered
//     segment (storage.Options.DefaultWALHold) until ApplyConfig has
//     started the followers. So a receiver that is down for hours loses
//     nothing: the WAL grows meanwhile (it counts in size retention). This
//     is more than Prometheus does: its head truncation deletes the oldest
//     two thirds of the segments whatever its watchers have read.
//     What is not held: a Safe position more than one segment behind the
//     read position (under a load that never lets the queue empty Safe does
//     not advance; the queue holds far less than a segment), and the
//     segments of a queue that is no longer configured. A follower that
//     still finds its segment deleted (Safe that far behind after a drop or
//     a crash, or a position saved before an upgrade) sends the
//     checkpoint's samples (the head's, after the cut) the receiver does not
//     have, then goes on after the checkpoint; the deleted segments' samples
//     from before the cut (now in blocks) are not sent. The gap is logged
//     and counted in mytsdb_remote_storage_wal_gaps_total. Checkpoint
//     samples handed over but not yet accepted when the gap is found are
//     handed over again. A segment the follower had read to its end before
//     the checkpoint deleted it is no gap (the WAL remembers where it
//     closed it).
//   - A queue whose configuration changes gets a new hash, hence a new
//     queue manager that starts at the end of the WAL, as a new queue does in
//     Prometheus.
//   - Upstream drops what it could not send within --storage.remote.flush-deadline
//     when it stops or reshards a queue, and what a receiver refuses. At
//     shutdown the saved position then stays where everything was sent;
//     while running, a drop (the queue's failed count grows) makes the
//     follower read again from the last position known to be sent, once per
//     position: a second drop from there is taken as a refusal, as upstream
//     takes it.
//   - The sent set costs a walk of every accepted request (snappy, then the
//     protobuf wire bytes without decoding: ~0.4-0.5 µs per sample sent,
//     BenchmarkSentObserve, no allocations), plus one write(2) per accepted
//     request to its journal (<queue hash>.sent.journal, sent_journal.go):
//     the (series, newest timestamp) pairs the request held. The set itself
//     is saved at shutdown and every 10 s while anything was journaled;
//     the save empties the journal. After a SIGKILL the set is read back
//     from the file and the journal, and a resumed follower checks every
//     sample from its saved Safe position up to where the previous
//     process's WAL ended against it: only what the receiver did not accept
//     is sent again (TestRemoteWriteSurvivesSIGKILL, with the real
//     Prometheus as receiver). What remains: a request the receiver
//     accepted in the instant before the kill, before its journal write, is
//     sent again, and with RW 1.0 a request mixing it with new samples is
//     refused and dropped; the journal is not fsynced, so after a power
//     loss samples sent since the last save may be sent again likewise. The
//     saved Safe position does not advance under a load that never lets the
//     queue empty (Handed does, and the sent set covers the difference).
//   - Samples read again before Handed are skipped up to the newest the
//     receiver accepted for their series: an out-of-order sample (with an
//     out_of_order_time_window) older than that, logged before Handed and
//     not sent before the restart, is skipped too.
//   - metadata_config.send (RW 1.0) reads metadata from the upstream scrape
//     manager, as in Prometheus.
package remote
