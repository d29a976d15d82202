// Package scrape owns target discovery and scraping for mytsdb: it glues the
// upstream Prometheus discovery.Manager (with every service-discovery
// mechanism registered through discovery/install) to the upstream
// scrape.Manager, and appends what they produce to one storage.AppendableV2
// (the storage's default tenant).
//
// Why wrap instead of rewrite: mytsdb promises that a user who swaps the
// prometheus binary for mytsdb gets exactly the same data. The scrape output —
// which series exist, their labels after relabelling, the synthetic series
// (up, scrape_duration_seconds, scrape_samples_scraped, ...), sample
// timestamps and their alignment, staleness markers at the end of a target's
// life or a failed scrape, honor_labels/honor_timestamps, limits, native
// histograms and exemplars — is defined by the upstream scrape loop. Running
// that very code is the only way to stay identical release after release, so
// this package adds no scraping logic of its own: it applies configuration the
// way cmd/prometheus/main.go's "scrape" and "scrape_sd" reloaders do (scrape
// manager first, then discovery, so new target groups always meet the new
// config) and exposes target state for the HTTP API.
//
// What it must not touch: storage internals (it only appends through the
// upstream storage.AppendableV2 interface), HTTP (promapi reads targets through
// the methods of Manager), and flag parsing (cmd/mytsdb passes options in).
//
// Caveats: ApplyConfig must be called once before Run, as Prometheus applies
// its initial configuration before the scrape manager starts. Stop may be
// called more than once; the Manager cannot be restarted after Stop.
package scrape
