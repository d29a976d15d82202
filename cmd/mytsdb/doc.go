// Command mytsdb is a drop-in replacement for the prometheus binary: it takes
// every flag of Prometheus 3.16's cmd/prometheus (same names, defaults, help
// texts and hidden-ness) and the same prometheus.yml, serves the same HTTP API
// and scrapes targets with Prometheus's own scrape code, over mytsdb's storage.
//
// This package owns flags (flags.go, features.go), configuration loading and
// the embedded default config (config.go, default.yml), reloads (reload.go:
// SIGHUP, POST /-/reload, --config.auto-reload), the Go runtime knobs
// (runtime.go), the PromQL engine options (engine.go), the Parquet tier's
// flags and bucket (tier.go: Thanos's objstore YAML, checked before anything
// starts; storage/parquettier does the rest) and the wiring and
// lifecycle of the components (main.go, wiring.go). It holds no business logic:
// storage, scraping, the API and the HTTP server live in their own packages.
//
// Flags that mytsdb accepts but does not act on yet log one warning each when
// set explicitly; see the honoured/accepted split in flags.go.
package main
