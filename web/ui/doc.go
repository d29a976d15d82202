// Package ui owns the files of mytsdb's browser UI and hands them to package
// web as an fs.FS. Our own page code lives in app/ (plain JavaScript, HTML and
// CSS); app/build.mjs bundles it with the npm libraries it imports
// (@prometheus-io/codemirror-promql, CodeMirror, uPlot) into build/, which is
// git-ignored except for placeholder.html. `make build` runs that step, so the
// binary it builds embeds the bundle, while `go build ./...` on a fresh clone
// (npm never run) still compiles and serves the placeholder, which says how to
// build the real pages.
//
// The pages: Prometheus 3's (query, alerts, rules, targets, service
// discovery, config, flags, status, TSDB status) and mytsdb's own tenants
// (tenants.js, from /api/v1/status/tenants) and storage tiers (tiers.js,
// from /status/tsdb, /status/tsdb/blocks and /status/tenants); the status
// page also polls /api/v1/status/progress (progress.js). Every API call
// carries the tenant named by the page URL's "tenant" parameter as
// X-Scope-OrgID (tenant.js); the nav links and the query page's URL keep
// it, so a link opens the same tenant.
//
// What it must not touch: routes, the route prefix and readiness (package web
// decides what is served where) and anything the pages read, which they fetch
// from the same /api/v1 endpoints a user could call.
package ui
