package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/template"
	"github.com/prometheus/prometheus/util/features"
	"github.com/thanos-io/objstore"

	"mytsdb/promapi"
	"mytsdb/promapi/otlp"
	"mytsdb/promapi/remotewrite"
	"mytsdb/ruler"
	"mytsdb/scrape"
	"mytsdb/storage"
	"mytsdb/storage/head"
	"mytsdb/storage/parquettier"
	"mytsdb/storage/wal"
	"mytsdb/web"
)

// localStorage is the opened storage and what the rest of the wiring needs
// from it.
type localStorage struct {
	db        *storage.DB
	noTenant  *head.Head // what the query API reads for a tenant that does not exist (yet)
	retention time.Duration
	ooo       int64
	logger    *slog.Logger
	bucket    objstore.Bucket // the Parquet tier's; nil when it is off
	// queryDefault is what queries of the default tenant read: the tenant
	// with the remote_read sources beside it (nil: the tenant alone).
	queryDefault promstorage.Storage
}

func openStorage(s *server, reg prometheus.Registerer) (*localStorage, error) {
	retention := s.retention
	if retention == 0 { // Only size retention: no time limit (Prometheus's 0).
		retention = 100 * 365 * 24 * time.Hour
	}
	var (
		tier   storage.Tier
		bucket objstore.Bucket
	)
	if s.tier.enabled {
		bucket = instrumentBucket(s.tier.bucket, reg)
		tier = parquettier.New(bucket, parquettier.Options{CacheBytes: s.tier.cacheBytes, Logger: s.logger.With("component", "parquet")})
		s.logger.Info("Parquet tier on", "bucket", s.tier.source, "provider", bucket.Provider(),
			"local_retention", s.tier.localRetention, "retention", s.tier.retention)
	}
	db, err := storage.Open(storage.Options{
		Dir:                      s.cfg.storagePath,
		RetentionDuration:        retention,
		RetentionSize:            s.retentionSz,
		MaxBlockDuration:         s.maxBlock,
		NoLockfile:               s.cfg.noLockfile,
		BlockSegmentSize:         int64(s.cfg.maxBlockChunkSegment),
		NoOverlappingCompaction:  !s.cfg.allowOverlapping,
		WALSync:                  wal.SyncPolicy(s.cfg.walSync),
		WALSyncInterval:          s.cfg.walSyncInterval,
		WALSegmentSize:           int64(s.cfg.walSegmentSize),
		WALWriter:                s.cfg.walWriter,
		WALCompression:           walCompression(s.cfg.walCompression, s.cfg.walCompressionType),
		DefaultWALHold:           true, // released by the remote storage's first ApplyConfig
		OutOfOrderTimeWindow:     s.oooWindow,
		MaxExemplars:             s.maxExemplars,
		ChunkRange:               s.chunkRange,
		SamplesPerChunk:          s.cfg.samplesPerChunk,
		HeadChunksWriteQueueSize: s.cfg.headChunksQueueSize,
		STAsZeroSample:           s.features.stZeroIngestion,
		MemorySnapshotOnShutdown: s.features.memorySnapshot,
		BlockReloadInterval:      blockReloadInterval(time.Duration(s.cfg.blockReloadInterval), s.logger),
		CompactionDelay:          s.compactionDelay(),
		CompactionExclude:        uploadedOnly(s.cfg.delayCompactFilePath, s.logger),
		ReplayProgress:           s.replayProgress,
		KeepPrometheusData:       s.cfg.keepPrometheusData,
		Tier:                     tier,
		TierLocalRetention:       s.tier.localRetention,
		TierRetention:            s.tier.retention,
		Logger:                   s.logger.With("component", "tsdb"),
		Registerer:               reg,
	})
	if err != nil {
		if bucket != nil {
			err = errors.Join(err, bucket.Close())
		}
		return nil, err
	}
	registerTimeGauges(db, reg)
	// An empty head without WAL or metrics: what a tenant created now would
	// answer. Nothing ever appends to it, so it keeps no exemplar ring.
	empty, err := head.New(head.Options{
		Logger:               s.logger.With("component", "tsdb"),
		OutOfOrderTimeWindow: s.oooWindow,
		MaxExemplars:         -1,
		ChunkRange:           s.chunkRange,
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("empty head for unknown tenants: %w", err), db.Close())
	}
	return &localStorage{db: db, noTenant: empty, retention: s.retention, ooo: s.oooWindow, logger: s.logger, bucket: bucket}, nil
}

// apiStorage is the storage the query API reads for a tenant (already
// validated by the API). A read does not create a tenant: one that does not
// exist is answered from the empty head, as it would be right after its
// creation, instead of a directory, lock and open head being added for
// every X-Scope-OrgID a client sends. Every tenant present on disk is open
// (storage.Open opens them all), and writers create theirs.
func (l *localStorage) apiStorage(tenant string) (promapi.TenantStorage, error) {
	if !slices.Contains(l.db.Tenants(), tenant) {
		return l.noTenant, nil
	}
	t, err := l.db.Tenant(tenant)
	if err != nil {
		return nil, err
	}
	if tenant == storage.DefaultTenant && l.queryDefault != nil {
		return remoteReadTenant{apiTenant: apiTenant{t}, fanout: l.queryDefault}, nil
	}
	return sampledTenant{apiTenant{t}, l.costSampling(t)}, nil
}

// registerTimeGauges adds the gauges Prometheus's main registers next to its
// TSDB (dashboards show retention with them), for the default tenant. The
// integer division by 1000 is Prometheus's.
func registerTimeGauges(db *storage.DB, reg prometheus.Registerer) {
	head := func() interface {
		MinTime() int64
		MaxTime() int64
	} {
		if t := db.Default(); t != nil {
			return t.Head()
		}
		return nil
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_lowest_timestamp_seconds",
			Help: "Lowest timestamp value stored in the database.",
		}, func() float64 {
			t := db.Default()
			if t == nil {
				return 0
			}
			st, err := t.StartTime()
			if err != nil {
				return 0
			}
			return float64(st / 1000)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_min_time_seconds",
			Help: "Minimum time bound of the head block.",
		}, func() float64 {
			if h := head(); h != nil {
				return float64(h.MinTime() / 1000)
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_max_time_seconds",
			Help: "Maximum timestamp of the head block.",
		}, func() float64 {
			if h := head(); h != nil {
				return float64(h.MaxTime() / 1000)
			}
			return 0
		}),
	)
}

// applyConfig hands a new configuration to the storage when it can take one;
// otherwise it says which storage settings need a restart.
func (l *localStorage) applyConfig(c *config.Config) error {
	// The config's form of --enable-feature=xor2-encoding, refused alike
	// (xor, Prometheus's default, is what the head appends anyway).
	if tc := c.StorageConfig.TSDBConfig; tc != nil && tc.ChunkEncoding.Floats == config.FloatChunkEncodingXOR2 {
		return fmt.Errorf("storage.tsdb.chunk_encoding.floats: %q is not supported by mytsdb: %s", tc.ChunkEncoding.Floats, refusedFeatures["xor2-encoding"])
	}
	if a, ok := any(l.db).(interface{ ApplyConfig(*config.Config) error }); ok {
		return a.ApplyConfig(c)
	}
	tc := c.StorageConfig.TSDBConfig
	if tc == nil {
		return nil
	}
	if tc.Retention != nil && time.Duration(tc.Retention.Time) != l.retention && tc.Retention.Time > 0 {
		l.logger.Warn("storage.tsdb.retention.time changed in the config file; mytsdb applies it on restart", "running", l.retention, "configured", tc.Retention.Time)
	}
	if tc.OutOfOrderTimeWindow != l.ooo {
		l.logger.Warn("storage.tsdb.out_of_order_time_window changed in the config file; mytsdb applies it on restart", "running", time.Duration(l.ooo)*time.Millisecond, "configured", time.Duration(tc.OutOfOrderTimeWindow)*time.Millisecond)
	}
	return nil
}

func (l *localStorage) close(logger *slog.Logger) {
	err := errors.Join(l.db.Close(), l.noTenant.Close())
	if l.bucket != nil {
		err = errors.Join(err, l.bucket.Close())
	}
	if err != nil {
		logger.Error("Error stopping storage", "err", err)
	}
}

// apiTenant is a tenant as the query API sees it: everything the tenant
// implements (its methods are promoted, so the API's optional interfaces
// still match), plus the head's time bounds that /api/v1/status/tsdb reports
// as headStats.minTime and maxTime (Prometheus's Head.MinTime/MaxTime:
// math.MaxInt64 and math.MinInt64 while the head is empty).
type apiTenant struct{ *storage.Tenant }

func (t apiTenant) MinTime() int64 { return t.Head().MinTime() }

// HeadQueryable makes /status/tsdb count the head's series only, as
// Prometheus does, not those only blocks still hold.
func (t apiTenant) HeadQueryable() promstorage.Queryable { return t.Head() }
func (t apiTenant) MaxTime() int64                       { return t.Head().MaxTime() }

// activeQueryDir is where promql's active query tracker keeps queries.active,
// the log of queries running at a crash: next to the tenant directories.
func activeQueryDir(storagePath string) string { return storagePath }

// mountAPI builds the query API over the tenants and, when enabled, the
// remote-write and OTLP receivers, and hands them to the web handler.
func mountAPI(s *server, wh *web.Handler, st *localStorage, engine *promql.Engine, sm *scrape.Manager, rl *ruler.Ruler, cs *configState, reg *prometheus.Registry) error {
	appendable := func(tenant string) (promstorage.AppendableV2, error) {
		t, err := st.db.Tenant(tenant)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
	serveAPI(s, wh, sm, cs, reg, appendable, promapi.Options{
		Engine:         engine,
		Storage:        st.apiStorage,
		ValidateTenant: storage.ValidateTenantID,
		Rules:          rl,
		Alertmanagers:  rl,
		TenantRules: func(tenant string) promapi.RulesRetriever {
			if m := rl.Tenant(tenant); m != nil {
				return m
			}
			return nil
		},
		LookbackDelta:   time.Duration(s.cfg.lookbackDelta),
		QueryTimeout:    time.Duration(s.cfg.queryTimeout),
		EnableAdmin:     s.cfg.enableAdminAPI,
		Snapshot:        st.db.Snapshot,
		EnableQueryCost: s.features.queryCost,
		Tenants:         newTenantStatus(st.db).Tenants,
		Progress:        progressStatus(s.replayProgress, st.db),
	})
	wh.SetConsoles(web.Consoles{
		Query:          template.QueryFunc(rules.EngineQueryFunc(engine, st.db.Default())),
		ExternalLabels: func() labels.Labels { return cs.Config().GlobalConfig.ExternalLabels },
	})
	return nil
}

// serveAPI is what server and agent mode share: the receivers (remote
// write and OTLP, when enabled, appending through appendable and checking
// tenants with o.ValidateTenant) and the query API, of which o holds the
// mode's own options and serveAPI fills in the rest.
func serveAPI(s *server, wh *web.Handler, sm *scrape.Manager, cs *configState, reg *prometheus.Registry, appendable func(string) (promstorage.AppendableV2, error), o promapi.Options) {
	var rw http.Handler
	if s.cfg.enableRemoteWrite {
		protos := make([]remotewrite.Proto, 0, len(s.cfg.remoteWriteMsgs))
		for _, m := range s.cfg.remoteWriteMsgs {
			protos = append(protos, remotewrite.Proto(m))
		}
		rw = remotewrite.NewHandler(remotewrite.Options{
			Appendable:              appendable,
			Logger:                  s.logger.With("component", "remote-write"),
			Registerer:              reg,
			AcceptedProtos:          protos,
			EnableTypeAndUnitLabels: s.features.enableTypeAndUnitLabel,
			AppendMetadata:          s.features.appendMetadata,
			ValidateTenant:          o.ValidateTenant,
		})
	}
	var otlpWrite http.Handler
	if s.cfg.enableOTLP {
		otlpWrite = otlp.NewHandler(otlp.Options{
			Appendable:              appendable,
			Config:                  cs.Config,
			ConvertDelta:            s.features.convertOTLPDelta,
			NativeDelta:             s.features.nativeOTLPDelta,
			LookbackDelta:           time.Duration(s.cfg.lookbackDelta),
			EnableTypeAndUnitLabels: s.features.enableTypeAndUnitLabel,
			AppendMetadata:          s.features.appendMetadata,
			ValidateTenant:          o.ValidateTenant,
			Logger:                  s.logger.With("component", "otlp"),
			Registerer:              reg,
		})
	}
	cwd, err := os.Getwd()
	if err != nil {
		cwd = "<error retrieving current working directory>"
	}
	o.Targets = sm
	o.Config = cs.Config
	o.Flags = s.flags
	o.BuildInfo = buildInfo()
	o.RuntimeInfo = runtimeInfo(time.Now().UTC(), cwd, s.retention, reg)
	o.RemoteWrite = rw
	o.OTLPWrite = otlpWrite
	o.Logger = s.logger.With("component", "api")
	o.Parser = s.parser
	o.Ready = wh.IsReady
	o.Gatherer = reg
	o.Registerer = reg
	o.Notices = s.notices
	o.GlobalURL = promapi.GlobalURLOptions{
		ListenAddress: s.cfg.listenAddresses[0],
		Host:          s.externalURL.Host,
		Scheme:        s.externalURL.Scheme,
	}
	o.CORSOrigin = s.cors
	o.Features = features.DefaultRegistry
	o.RemoteReadSampleLimit = s.cfg.remoteReadSampleLimit
	o.RemoteReadConcurrencyLimit = s.cfg.remoteReadConcurrency
	o.RemoteReadMaxBytesInFrame = s.cfg.remoteReadBytesInFrame
	o.EnableSearch = s.features.searchAPI
	o.MaxSearchLimit = s.cfg.searchMaxLimit
	api := promapi.New(o)
	wh.SetAPI(api.Handler())
	wh.SetFederate(api.Federate())
	if rw != nil {
		wh.SetRemoteWrite(rw)
	}
}

// newRuler builds the rule and notifier managers: the config's rules query
// and append in the default tenant, where scraped data lands, and each
// tenant directory of --rules.tenant-dir's rules in that tenant.
func newRuler(s *server, st *localStorage, engine *promql.Engine, sdMetrics *discovery.SDMetrics, reg prometheus.Registerer) (*ruler.Ruler, error) {
	def := st.db.Default()
	if def == nil {
		return nil, errors.New("the default tenant is not open")
	}
	return ruler.New(ruler.Options{
		Logger:               s.logger,
		Registerer:           reg,
		SDMetrics:            sdMetrics,
		FeatureRegistry:      features.DefaultRegistry,
		Engine:               engine,
		Appendable:           def,
		Queryable:            def,
		Parser:               s.parser,
		ExternalURL:          s.externalURL,
		NameValidationScheme: s.nameScheme,
		RuleQueryOffset:      s.ruleOffset,
		OutageTolerance:      time.Duration(s.cfg.outageTolerance),
		ForGracePeriod:       time.Duration(s.cfg.forGracePeriod),
		ResendDelay:          time.Duration(s.cfg.resendDelay),
		MaxConcurrentEvals:   s.cfg.maxConcurrentEvals,
		ConcurrentEvals:      s.features.concurrentRuleEval,
		QueueCapacity:        s.cfg.notifierQueueCapacity,
		MaxBatchSize:         s.cfg.notifierBatchSize,
		DrainOnShutdown:      s.cfg.notifierDrainOnShutdown,
		TenantDir:            s.cfg.tenantRuleDir,
		DefaultTenant:        storage.DefaultTenant,
		Tenant: func(id string) (ruler.TenantStorage, error) {
			t, err := st.db.Tenant(id)
			if err != nil {
				return nil, err
			}
			return t, nil
		},
	})
}

func buildInfo() promapi.BuildInfo {
	return promapi.BuildInfo{
		Version:   version.Version,
		Revision:  version.Revision,
		Branch:    version.Branch,
		BuildUser: version.BuildUser,
		BuildDate: version.BuildDate,
		GoVersion: version.GoVersion,
	}
}

// runtimeInfo builds /api/v1/status/runtimeinfo the way Prometheus's web
// handler does, reading the reload and WAL corruption metrics from reg.
func runtimeInfo(birth time.Time, cwd string, retention time.Duration, reg prometheus.Gatherer) func() (promapi.RuntimeInfo, error) {
	return func() (promapi.RuntimeInfo, error) {
		status := promapi.RuntimeInfo{
			StartTime:      birth,
			CWD:            cwd,
			GoroutineCount: runtime.NumGoroutine(),
			GOMAXPROCS:     runtime.GOMAXPROCS(0),
			GOMEMLIMIT:     debug.SetMemoryLimit(-1),
			GOGC:           os.Getenv("GOGC"),
			GODEBUG:        os.Getenv("GODEBUG"),
		}
		hostname, err := os.Hostname()
		if err != nil {
			return status, fmt.Errorf("error getting hostname: %w", err)
		}
		status.Hostname = hostname
		status.ServerTime = time.Now().UTC()
		if retention != 0 {
			status.StorageRetention = model.Duration(retention).String()
		}
		mfs, err := reg.Gather()
		if err != nil {
			return status, fmt.Errorf("error gathering runtime status: %w", err)
		}
		for _, mf := range mfs {
			var v float64 // summed over the tenants' series where there are several
			for _, m := range mf.Metric {
				switch {
				case m.Gauge != nil:
					v += m.Gauge.GetValue()
				case m.Counter != nil:
					v += m.Counter.GetValue()
				case m.Untyped != nil:
					v += m.Untyped.GetValue()
				}
			}
			switch mf.GetName() {
			case "prometheus_tsdb_wal_corruptions_total":
				status.CorruptionCount = int64(v)
			case "prometheus_config_last_reload_successful":
				status.ReloadConfigSuccess = v != 0
			case "prometheus_config_last_reload_success_timestamp_seconds":
				status.LastConfigTime = time.Unix(int64(v), 0).UTC()
			}
		}
		return status, nil
	}
}

// walCompression is what --storage.tsdb.wal-compression and
// --storage.tsdb.wal-compression-type ask for, as Prometheus reads them: the
// type is ignored when compression is off.
func walCompression(enabled bool, typ string) string {
	if !enabled {
		return wal.CompressionNone
	}
	return typ
}

// blockReloadInterval is --storage.tsdb.block-reload-interval, raised to the
// minimum with Prometheus's warning.
func blockReloadInterval(d time.Duration, logger *slog.Logger) time.Duration {
	if d < storage.MinBlockReloadInterval {
		m := model.Duration(storage.MinBlockReloadInterval).String()
		logger.Warn("The option --storage.tsdb.block-reload-interval is set to a value less than " + m + ". Setting it to " + m + " to avoid overload.")
		return storage.MinBlockReloadInterval
	}
	return d
}
