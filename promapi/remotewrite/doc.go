// Package remotewrite is the remote-write receiver of mytsdb: POST
// /api/v1/write for protocol 1.0 (prometheus.WriteRequest) and 2.0
// (io.prometheus.write.v2.Request), answering exactly as Prometheus 3.16
// started with --web.enable-remote-write-receiver: the same content-type and
// Content-Encoding negotiation, status codes, response bodies and 2.0
// X-Prometheus-Remote-Write-*-Written headers, the same treatment of
// out-of-order, duplicate, out-of-bounds and too-old samples (1.0 aborts the
// request; 2.0 writes the rest and answers 400), exemplars, native histograms,
// 2.0 metadata and start timestamps. The tenant comes from X-Scope-OrgID.
//
// It owns the hot path of ingestion up to the storage's AppenderV2: pooled
// body and snappy buffers, protobuf decoders of its own (decode_v1.go,
// decode_v2.go) that keep no per-sample allocation and reference label strings
// inside the request buffer, and a per-tenant cache from a 128-bit hash of the
// label pairs of a series, as sent, to its storage.SeriesRef (refcache.go), so
// that repeat series skip resolving and building labels and the storage's
// label lookup. 2.0 series are hashed from per-request symbol hashes, so a
// symbol shared by many series is hashed once.
//
// It must not touch storage internals: it only uses storage.AppendableV2 (whose
// appenders must implement storage.ExemplarAppenderV2) and retries an append
// with ref 0 when the storage refuses a cached ref.
//
// Caveats:
//   - Decoded strings alias the request buffer, which is reused by the next
//     request. Everything handed to the storage is a copy: labels come from
//     labels.ScratchBuilder.Labels, which copies in the default (stringlabels)
//     build (with -tags slicelabels or dedupelabels the strings are cloned
//     before, see key_other.go); metadata strings are cloned when
//     Options.AppendMetadata is set; histograms are freshly allocated because
//     the storage may keep them.
//   - A cache hit is appended with its ref and empty labels; labels are
//     built only for a miss, an error message, exemplars, or the retry of a
//     ref the storage refuses. The storage must therefore resolve a known ref
//     without the labels (both mytsdb's head and Prometheus's do).
//   - Cache entries are not verified against labels (the cache keeps none):
//     they are keyed by 88 bits of the hash, see refCache for the odds. A
//     tenant whose storage instance changes gets a fresh cache, as the new
//     instance may give the same refs to other series.
package remotewrite
