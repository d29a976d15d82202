// Command mytsdb is a drop-in replacement for the prometheus binary: it takes
// every flag of Prometheus 3.16's cmd/prometheus (same names, defaults, help
// texts and hidden-ness) and the same prometheus.yml, serves the same HTTP API
// and scrapes targets with Prometheus's own scrape code, over mytsdb's storage.
//
// This package owns flags (flags.go, features.go), configuration loading and
// the embedded default config (config.go, default.yml), reloads (reload.go:
// SIGHUP, POST /-/reload, --config.auto-reload), the Go runtime knobs
// (runtime.go), the PromQL engine options and reloadable query limits
// (engine.go), the tenants' query cost sampling source (costsampling.go),
// the Parquet tier's flags and bucket (tier.go: Thanos's objstore YAML,
// checked before anything starts; storage/parquettier does the rest), the
// wiring and lifecycle of the components (main.go, wiring.go), and agent
// mode (agent.go: --agent wires Prometheus's own tsdb/agent WAL storage, the
// upstream storage/remote queues and a fanout, with scraping and the
// receivers only, as cmd/prometheus does; mytsdb's storage and remote/
// follower are not used there). It holds no business logic:
// storage, scraping, the API and the HTTP server live in their own packages.
//
// Flags that mytsdb accepts but does not act on yet log one warning each when
// set explicitly; see the honoured/accepted split in flags.go.
package main
