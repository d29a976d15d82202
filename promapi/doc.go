// Package promapi serves Prometheus's HTTP API — every /api/v1/* endpoint
// except the remote-write and OTLP receivers, which live in
// promapi/remotewrite and promapi/otlp and are only mounted here — and
// /federate (API.Federate, mounted by the web handler outside /api/v1/), on
// top of the upstream PromQL engine and any storage that speaks the upstream
// storage interfaces.
//
// The bytes it writes are those of Prometheus 3.16: the same envelope
// ({"status","data","errorType","error","warnings","infos"}), field order,
// float formatting ("NaN", "+Inf", strconv 'f' with shortest precision, 'e'
// below 1e-6 and from 1e21), string escaping (two kinds, see json.go), error
// types, messages and status codes, parameter validation, and router
// behaviour (404, 405 with Allow, the trailing-slash and case redirects).
// compare_test.go and targets_compare_test.go diff every endpoint against the
// real prometheus binary (`make ref`).
//
// Files: api.go (Options, New, endpoint table), router.go (Handler and the
// httprouter-compatible routing), respond.go and json.go (envelope and
// encoders), errors.go, params.go, tenant.go, and one file per group of
// endpoints: query.go, ast.go, series.go, labels.go, targets.go, relabel.go,
// status.go, rules.go, notifications.go, features.go, admin.go, federate.go,
// search.go and search_filter.go (the experimental search API, behind
// Options.EnableSearch: NDJSON streams, and the relevance scores of
// Prometheus's filters over upstream util/strutil's matchers).
// querycost.go (--enable-feature=query-cost: the cost endpoints, the
// per-query limits and cost=true, with upstream's estimator; a tenant
// storage may implement storage.CostSamplingQueryable for it to sample).
// and mytsdb_status.go: mytsdb's own /status/tenants and /status/progress
// (Prometheus has neither; the UI's tenants, tiers and status pages read
// them).
//
// Tenants: the X-Scope-OrgID header names the tenant whose storage a request
// reads (absent means "default"); an invalid tenant ID is a 400 bad_data,
// checked after the request's own parameters so that parameter errors stay
// identical to Prometheus's.
//
// What this package owns: request parsing and validation, calling the engine
// and the queriers, JSON encoding. What it must not touch: storage internals
// (it only uses storage.Queryable and storage.ExemplarQueryable, plus the
// optional TSDBStatusProvider, WALReplayStatusProvider, BlockMetasProvider
// and AdminStorage a tenant storage may implement, and Options.Snapshot),
// the scrape loops (it only reads targets through TargetRetriever), the rule
// and notifier managers (only read through RulesRetriever and
// AlertmanagerRetriever), promapi/remotewrite and promapi/otlp.
//
// Caveats:
//   - Handler serves full paths ("/api/v1/query"); mount it at "/api/v1/"
//     without stripping the prefix.
//   - Options are read once by New; Config, RuntimeInfo, Ready and the
//     Targets are consulted on every request, so they may change on reload.
//   - The package registers a jsoniter type encoder for labels.Labels (as
//     Prometheus's web/api/v1 does), so it must not be linked together with
//     that package.
//   - The admin endpoints (/admin/tsdb/*) answer "admin APIs disabled"
//     unless Options.EnableAdmin. delete_series and clean_tombstones act on
//     the request's tenant; snapshot covers every tenant and ignores
//     X-Scope-OrgID.
//   - With Options.Agent (--agent) the endpoints Prometheus's agent refuses
//     (its wrapAgent list: queries, labels, series, TSDB status, rules,
//     alerts, Alertmanagers, admin, and the search API when enabled) answer
//     422 "unavailable with Prometheus Agent"; Engine may be nil then.
//   - The search API uses a tenant querier's storage.Searcher when it has
//     one, else LabelNames/LabelValues through upstream's ApplySearchHints.
//   - Without TSDBStatusProvider, /status/tsdb scans every series' labels on
//     each request: fine for tests, slow on millions of series.
package promapi
