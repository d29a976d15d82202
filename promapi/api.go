package promapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/grafana/regexp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/features"
	"github.com/prometheus/prometheus/util/httputil"
)

// TenantStorage is what the API reads for one tenant. /api/v1/read also needs
// it to be a storage.ChunkQueryable (500 otherwise); /status/tsdb,
// /status/walreplay and /status/tsdb/blocks use TSDBStatusProvider,
// WALReplayStatusProvider and BlockMetasProvider when it implements them,
// and the admin endpoints AdminStorage.
type TenantStorage interface {
	storage.Queryable
	storage.ExemplarQueryable
}

// TargetRetriever gives the scrape targets (the scrape manager implements it).
// It may also implement ScrapePools() []string and
// ScrapePoolConfig(string) (*config.ScrapeConfig, error), which
// /scrape_pools and /scrape_pools/config use when present.
type TargetRetriever interface {
	TargetsActive() map[string][]*scrape.Target
	TargetsDropped() map[string][]*scrape.Target
	TargetsDroppedCounts() map[string]int
}

// Options configure the API. Engine and Storage are required; everything
// else has a working default.
type Options struct {
	// Engine evaluates PromQL. Required.
	Engine *promql.Engine
	// Storage returns the storage of a tenant (from X-Scope-OrgID, absent =
	// "default"). Required. The tenant ID is validated before it is called.
	Storage func(tenant string) (TenantStorage, error)
	// ValidateTenant checks X-Scope-OrgID values before Storage is asked; an
	// error is answered with 400 bad_data. Nil applies the character and
	// length rules only; the binary passes the storage's own check, which
	// also reserves the names of a Prometheus data directory.
	ValidateTenant func(tenant string) error
	// Targets backs /targets, /targets/metadata, /metadata and /scrape_pools.
	// Nil serves them empty.
	Targets TargetRetriever
	// Config is the currently loaded configuration (/status/config).
	Config func() config.Config
	// Flags is /status/flags: every flag name (without dashes) and its value.
	Flags map[string]string
	// BuildInfo is /status/buildinfo.
	BuildInfo BuildInfo
	// RuntimeInfo is /status/runtimeinfo. Nil serves a minimal one.
	RuntimeInfo func() (RuntimeInfo, error)
	// RemoteWrite is mounted at /api/v1/write; nil answers 404 like Prometheus
	// without --web.enable-remote-write-receiver.
	RemoteWrite http.Handler
	// OTLPWrite is mounted at /api/v1/otlp/v1/metrics (promapi/otlp); nil
	// answers 404 like Prometheus without --web.enable-otlp-receiver.
	OTLPWrite http.Handler
	// Logger; nil discards.
	Logger *slog.Logger
	// LookbackDelta is --query.lookback-delta (informational: the engine
	// applies it; a request may override it with lookback_delta).
	LookbackDelta time.Duration
	// QueryTimeout is --query.timeout (informational: the engine applies it).
	QueryTimeout time.Duration

	// GlobalURL rewrites localhost targets' "globalUrl" (--web.listen-address
	// and --web.external-url).
	GlobalURL GlobalURLOptions

	// Parser parses match[] selectors and format/parse_query; nil uses
	// parser.NewParser(parser.Options{}).
	Parser parser.Parser
	// CORSOrigin is --web.cors.origin; nil means ".*" (Prometheus's default).
	CORSOrigin *regexp.Regexp
	// Ready reports whether the server is ready; while it returns false the
	// API answers 503 "Service Unavailable" like Prometheus. Nil = always ready.
	Ready func() bool
	// Gatherer feeds /status/self_metrics and /status/tsdb's chunkCount
	// (prometheus_tsdb_head_chunks).
	Gatherer prometheus.Gatherer
	// Features is /features (Prometheus passes features.DefaultRegistry,
	// filled by the engine, parser, discovery and its flags); nil answers 500
	// "feature registry not configured" as Prometheus does without one.
	Features features.Collector
	// Rules backs /rules and /alerts, Alertmanagers /alertmanagers (the
	// live rule and notifier managers); nil serves empty lists.
	Rules RulesRetriever
	// TenantRules backs /rules and /alerts for a tenant other than the
	// default one: its rules (--rules.tenant-dir), nil if it has none.
	// Nil: no tenant has rules.
	TenantRules   func(tenant string) RulesRetriever
	Alertmanagers AlertmanagerRetriever
	// Notices backs /notifications and /notifications/live; nil serves none.
	Notices Notices
	// Registerer receives the remote-read handler's metrics; nil = none.
	Registerer prometheus.Registerer
	// RemoteReadSampleLimit, RemoteReadConcurrencyLimit and
	// RemoteReadMaxBytesInFrame are --storage.remote.read-sample-limit,
	// -concurrent-limit and -max-bytes-in-frame. Zero means Prometheus's
	// default (5e7, 10, 1 MiB); a negative sample limit means none; a
	// non-positive concurrency limit is 10 (the upstream gate would block
	// forever at 0). The concurrency limit applies per tenant.
	RemoteReadSampleLimit      int
	RemoteReadConcurrencyLimit int
	RemoteReadMaxBytesInFrame  int
	// Now is the clock (default time.Now); tests pin it. It also dates
	// snapshot names.
	Now func() time.Time

	// EnableAdmin is --web.enable-admin-api; false keeps the "admin APIs
	// disabled" answers (500 unavailable, as Prometheus has no 503 for them).
	// With it, /admin/tsdb/delete_series and /admin/tsdb/clean_tombstones act
	// on the request's tenant through its AdminStorage, and
	// /admin/tsdb/snapshot calls Snapshot.
	EnableAdmin bool
	// Snapshot writes a snapshot of all tenants into
	// <storage.tsdb.path>/snapshots/<name>; withHead=false is skip_head=true.
	// It creates that directory even when there is nothing to write
	// (Prometheus's API creates it before asking the TSDB). An error is a 500
	// "create snapshot: <error>", internal, or unavailable if it wraps
	// ErrTSDBNotReady. nil = answered like a Prometheus whose snapshot fails
	// with an internal error.
	Snapshot func(ctx context.Context, name string, withHead bool) error

	// EnableSearch is --enable-feature=search-api: the /search/* endpoints
	// (search.go); without it they answer 500 "search API disabled".
	// MaxSearchLimit is --web.search.max-limit (0: no cap).
	EnableSearch   bool
	MaxSearchLimit int

	// Agent is --agent: the endpoints Prometheus wraps with wrapAgent (the
	// query, label, series, TSDB status, rules, alerts, Alertmanager and
	// admin endpoints) answer 422 execution "unavailable with Prometheus
	// Agent" before looking at the request; Engine may then be nil.
	Agent bool

	// EnableQueryCost is --enable-feature=query-cost (querycost.go): the
	// /query_cost and /query_range_cost endpoints, the per-query limits
	// max_series, max_samples_read and max_query_duration (refused above
	// Config's global.query_max_* ceilings) and cost=true on queries. The
	// engine must be built with EngineOpts.EnableQueryCost to enforce them.
	EnableQueryCost bool

	// Tenants and Progress back mytsdb's own /status/tenants and
	// /status/progress (mytsdb_status.go); nil serves empty answers.
	Tenants  func(ctx context.Context) ([]TenantStatus, error)
	Progress func(ctx context.Context) (Progress, error)
}

// API serves Prometheus's HTTP API.
type API struct {
	opts   Options
	logger *slog.Logger
	parser parser.Parser
	now    func() time.Time
	cors   *regexp.Regexp
	routes router
	reads  readHandlers
	fed    federation
	// searchMeta caches the targets' metadata for the search API.
	searchMeta searchMetaCache
}

// result is what an endpoint returns; the envelope is written by serve.
type result struct {
	data     any
	err      *apiError
	warnings annotations.Annotations
	// finalizer runs after the response is written (closes queriers whose
	// memory the data still references).
	finalizer func()
}

type endpoint func(r *http.Request) result

// Validate reports every missing required option at once. New does not call
// it: an API built without them answers 500 where they are needed.
func (o Options) Validate() error {
	var errs []error
	if o.Engine == nil {
		errs = append(errs, errors.New("promapi: Options.Engine is required"))
	}
	if o.Storage == nil {
		errs = append(errs, errors.New("promapi: Options.Storage is required"))
	}
	return errors.Join(errs...)
}

// New builds the API.
func New(o Options) *API {
	a := &API{opts: o, logger: o.Logger, parser: o.Parser, now: o.Now, cors: o.CORSOrigin}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	if a.parser == nil {
		a.parser = parser.NewParser(parser.Options{})
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.cors == nil {
		a.cors = regexp.MustCompile("^(?s:.*)$")
	}
	a.register()
	return a
}

// register lists every endpoint with the methods Prometheus accepts.
func (a *API) register() {
	getPost := []string{http.MethodGet, http.MethodPost}
	get := []string{http.MethodGet}
	for _, e := range []struct {
		path    string
		methods []string
		fn      endpoint
	}{
		{"/query", getPost, a.query},
		{"/query_range", getPost, a.queryRange},
		{"/query_exemplars", getPost, a.queryExemplars},
		{"/format_query", getPost, a.formatQuery},
		{"/parse_query", getPost, a.parseQuery},
		{"/labels", getPost, a.labelNames},
		{"/series", getPost, a.series},
		{"/scrape_pools", get, a.scrapePools},
		{"/scrape_pools/config", get, a.scrapePoolConfig},
		{"/targets", get, a.targets},
		{"/targets/metadata", get, a.targetMetadata},
		{"/targets/relabel_steps", get, a.targetRelabelSteps},
		{"/status/self_metrics", get, a.selfMetrics},
		{"/features", get, a.features},
		{"/status/tsdb/blocks", get, a.statusTSDBBlocks},
		{"/alertmanagers", get, a.alertmanagers},
		{"/metadata", get, a.metricMetadata},
		{"/status/config", get, a.statusConfig},
		{"/status/runtimeinfo", get, a.statusRuntimeInfo},
		{"/status/buildinfo", get, a.statusBuildInfo},
		{"/status/flags", get, a.statusFlags},
		{"/status/tsdb", get, a.statusTSDB},
		{"/alerts", get, a.alerts},
		{"/rules", get, a.rules},
	} {
		for _, m := range e.methods {
			a.handle(m, e.path, a.wrap(a.agentWrapped(e.path, e.fn)))
		}
	}
	a.registerQueryCost()
	a.handle(http.MethodGet, "/label/:name/values", a.wrap(a.agentWrapped(paramRoute, a.labelValues)))
	a.registerMytsdbStatus()
	// As in Prometheus, these answer while the server starts and stops (the
	// UI's startup page polls them), uncompressed.
	a.handle(http.MethodGet, "/status/walreplay", a.envelope(a.statusWALReplay))
	a.handle(http.MethodGet, "/notifications", a.envelope(a.notifications))
	a.handle(http.MethodGet, "/notifications/live", http.HandlerFunc(a.notificationsLive))
	a.handle(http.MethodPost, "/write", http.HandlerFunc(a.remoteWrite))
	a.handle(http.MethodPost, "/read", a.ready(http.HandlerFunc(a.remoteRead)))
	a.handle(http.MethodPost, "/otlp/v1/metrics", a.ready(http.HandlerFunc(a.otlpWrite)))
	for _, e := range []struct {
		path string
		h    http.HandlerFunc
	}{
		{"/search/metric_names", a.searchMetricNames},
		{"/search/label_names", a.searchLabelNames},
		{"/search/label_values", a.searchLabelValues},
	} {
		a.handle(http.MethodGet, e.path, a.ready(e.h))
		a.handle(http.MethodPost, e.path, a.ready(e.h))
	}
	for _, e := range []struct {
		path string
		fn   endpoint
	}{
		{"/admin/tsdb/delete_series", a.deleteSeries},
		{"/admin/tsdb/clean_tombstones", a.cleanTombstones},
		{"/admin/tsdb/snapshot", a.snapshot},
	} {
		fn := e.fn
		if !a.opts.EnableAdmin {
			fn = a.adminDisabled
		}
		fn = a.agentWrapped(e.path, fn)
		a.handle(http.MethodPost, e.path, a.wrap(fn))
		a.handle(http.MethodPut, e.path, a.wrap(fn))
	}
}

// agentUnavailable are the routes upstream registers with wrapAgent.
var agentUnavailable = map[string]bool{
	"/query": true, "/query_range": true, "/query_exemplars": true,
	"/format_query": true, "/parse_query": true, "/labels": true,
	paramRoute: true, "/series": true, "/alertmanagers": true,
	"/status/tsdb": true, "/status/tsdb/blocks": true, "/alerts": true,
	"/rules": true, "/admin/tsdb/delete_series": true,
	"/admin/tsdb/clean_tombstones": true, "/admin/tsdb/snapshot": true,
	"/query_cost": true, "/query_range_cost": true,
}

// agentWrapped is Prometheus's wrapAgent: in agent mode the route answers
// 422 "unavailable with Prometheus Agent" whatever the request.
func (a *API) agentWrapped(path string, fn endpoint) endpoint {
	if !a.opts.Agent || !agentUnavailable[path] {
		return fn
	}
	return func(*http.Request) result {
		return result{err: &apiError{errorExec, errorString("unavailable with Prometheus Agent")}}
	}
}

// wrap turns an endpoint into a handler: CORS, readiness, gzip, and the
// JSON envelope.
func (a *API) wrap(fn endpoint) http.Handler {
	return a.ready(httputil.CompressionHandler{Handler: a.envelope(fn)})
}

// envelope is CORS and the JSON envelope around an endpoint.
func (a *API) envelope(fn endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httputil.SetCORS(w, a.cors, r)
		res := fn(r)
		if res.finalizer != nil {
			defer res.finalizer()
		}
		if res.err != nil {
			a.respondError(w, res.err, res.data)
			return
		}
		if res.data == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		a.respond(w, r, res.data, res.warnings, r.FormValue("query"))
	})
}

// ready answers 503 while the server is not ready, as Prometheus does.
func (a *API) ready(h http.Handler) http.Handler {
	if a.opts.Ready == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.opts.Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("Service Unavailable"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// adminDisabled answers the TSDB admin endpoints like Prometheus without
// --web.enable-admin-api.
func (a *API) adminDisabled(*http.Request) result {
	return result{err: &apiError{errorUnavailable, errorString("admin APIs disabled")}}
}

func (a *API) otlpWrite(w http.ResponseWriter, r *http.Request) {
	if a.opts.OTLPWrite == nil {
		http.Error(w, "otlp write receiver needs to be enabled with --web.enable-otlp-receiver", http.StatusNotFound)
		return
	}
	a.opts.OTLPWrite.ServeHTTP(w, r)
}

func (a *API) remoteWrite(w http.ResponseWriter, r *http.Request) {
	if a.opts.RemoteWrite == nil {
		http.Error(w, "remote write receiver needs to be enabled with --web.enable-remote-write-receiver", http.StatusNotFound)
		return
	}
	a.ready(a.opts.RemoteWrite).ServeHTTP(w, r)
}
