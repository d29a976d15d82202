// Package otlp is the OTLP metrics receiver of mytsdb: POST
// /api/v1/otlp/v1/metrics as Prometheus 3.16 serves it with
// --web.enable-otlp-receiver. Decoding (protobuf and JSON, gzip), the
// translation to Prometheus series (the config's otlp: section), the delta
// handling of --enable-feature=otlp-deltatocumulative and
// otlp-native-delta-ingestion, the status codes and the response bodies are
// all the upstream storage/remote OTLP write handler's; this package only puts
// a tenant in front of it.
//
// What it owns: resolving the tenant of a request (X-Scope-OrgID, absent means
// "default"; an invalid ID is a 400 like the remote-write receiver's), one
// upstream handler per tenant so that the delta-to-cumulative state of one
// tenant never mixes with another's, and opening a tenant's storage only when
// a decoded request has something to append. What it must not touch: storage
// internals (it only uses storage.AppendableV2) and the translation itself.
//
// Caveats:
//   - Config is read on every request, so a reload applies new otlp: options
//     to the next request without rebuilding anything.
//   - The upstream handler's metrics (prometheus_api_otlp_*) are registered
//     once per tenant with a tenant label, as the storage's per-tenant metrics
//     are; a tenant's handler, and so its metrics, exist from its first
//     request (the default tenant's from NewHandler).
//   - A tenant whose storage cannot be opened answers 500 with that error;
//     nothing of the request is stored.
//   - Where Prometheus 3.16 answers 200 although its storage failed to
//     commit (the upstream handler drops Commit's error), this receiver
//     answers 500 "committing the samples: ..." so that the sender retries
//     instead of losing the samples.
package otlp
