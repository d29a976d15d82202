package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	promslogflag "github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/prometheus/notifier"
	"github.com/prometheus/prometheus/scrape"
)

// defaultRetention is Prometheus's retention when neither the flags nor the
// config file set one.
const defaultRetentionString = "15d"

// flagConfig holds every flag value. Fields of flags mytsdb does not honour
// yet exist only so the flag parses and validates exactly like Prometheus's.
type flagConfig struct {
	configFile         string
	enableAutoReload   bool
	autoReloadInterval model.Duration
	listenAddresses    []string
	maxprocsEnable     bool
	memlimitEnable     bool
	memlimitRatio      float64
	memlimitRefresh    model.Duration
	webConfigFile      string
	webReadTimeout     model.Duration
	webMaxConnections  int
	webMaxNotifSubs    int
	externalURL        string
	routePrefix        string
	userAssets         string
	enableLifecycle    bool
	enableAdminAPI     bool
	enableRemoteWrite  bool
	remoteWriteMsgs    remoteapi.MessageTypes
	enableOTLP         bool
	consoleTemplates   string
	consoleLibraries   string
	pageTitle          string
	corsOrigin         string

	storagePath             string
	minBlockDuration        model.Duration
	maxBlockDuration        model.Duration
	maxBlockChunkSegment    units.Base2Bytes
	walSegmentSize          units.Base2Bytes
	retentionTime           model.Duration
	retentionSize           units.Base2Bytes
	noLockfile              bool
	allowOverlapping        bool
	walCompression          bool
	walCompressionType      string
	headChunksQueueSize     int
	samplesPerChunk         int
	delayedCompactionMaxPct int
	delayCompactFilePath    string
	blockReloadInterval     model.Duration

	agentPath               string
	agentWALSegmentSize     units.Base2Bytes
	agentWALCompression     bool
	agentWALCompressionType string
	agentTruncateFrequency  model.Duration
	agentMinWALTime         model.Duration
	agentMaxWALTime         model.Duration
	agentCheckpointInMemory bool
	agentCheckpointBatch    int
	agentNoLockfile         bool

	remoteFlushDeadline     model.Duration
	remoteReadSampleLimit   int
	remoteReadConcurrency   int
	remoteReadBytesInFrame  int
	searchMaxLimit          int
	outageTolerance         model.Duration
	forGracePeriod          model.Duration
	resendDelay             model.Duration
	maxConcurrentEvals      int64
	tenantRuleDir           string
	notifierQueueCapacity   int
	notifierBatchSize       int
	notifierDrainOnShutdown bool

	lookbackDelta           model.Duration
	queryTimeout            model.Duration
	queryConcurrency        int
	queryMaxSamples         int
	discoveryReloadInterval model.Duration
	featureList             []string
	agentMode               bool

	// mytsdb's own flags.
	walSync         string
	walSyncInterval time.Duration
	walWriter       string
	// keepPrometheusData is --storage.prometheus-data.keep.
	keepPrometheusData bool
	// The Parquet tier: --storage.parquet.*.
	parquetEnabled        bool
	parquetBucketConfig   string
	parquetLocalRetention model.Duration
	parquetRetention      string // "" = follow the tsdb retention time; 0 = forever
	parquetCacheSize      units.Base2Bytes

	promslogConfig promslog.Config
}

// flagSet records, while kingpin parses, which flags the user set and which
// of them mytsdb does not honour yet.
type flagSet struct {
	app            *kingpin.Application
	notHonoured    map[string]bool
	explicit       map[string]bool
	explicitOrder  []string
	serverOnlySet  []string
	agentOnlySet   []string
	serverOnlyName map[string]bool
	agentOnlyName  map[string]bool
}

func (fs *flagSet) track(name string) kingpin.Action {
	return func(*kingpin.ParseContext) error {
		if !fs.explicit[name] {
			fs.explicit[name] = true
			fs.explicitOrder = append(fs.explicitOrder, name)
		}
		if fs.serverOnlyName[name] && !contains(fs.serverOnlySet, "--"+name) {
			fs.serverOnlySet = append(fs.serverOnlySet, "--"+name)
		}
		if fs.agentOnlyName[name] && !contains(fs.agentOnlySet, "--"+name) {
			fs.agentOnlySet = append(fs.agentOnlySet, "--"+name)
		}
		return nil
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// honoured defines a flag mytsdb acts on.
func (fs *flagSet) honoured(name, help string) *kingpin.FlagClause {
	return fs.app.Flag(name, help).PreAction(fs.track(name))
}

// accepted defines a Prometheus flag that parses and validates but is not
// acted on yet; setting it logs a warning.
func (fs *flagSet) accepted(name, help string) *kingpin.FlagClause {
	fs.notHonoured[name] = true
	return fs.honoured(name, help)
}

// serverOnly/agentOnly mirror Prometheus's help suffixes and mode checks.
func (fs *flagSet) serverOnly(name, help string, honoured bool) *kingpin.FlagClause {
	fs.serverOnlyName[name] = true
	help = fmt.Sprintf("%s Use with server mode only.", help)
	if honoured {
		return fs.honoured(name, help)
	}
	return fs.accepted(name, help)
}

func (fs *flagSet) agentOnly(name, help string) *kingpin.FlagClause {
	fs.agentOnlyName[name] = true
	return fs.honoured(name, fmt.Sprintf("%s Use with agent mode only.", help))
}

// defineFlags declares every flag of Prometheus 3.16's cmd/prometheus with
// the same name, help text, default, placeholder and hidden-ness, then
// mytsdb's own flags.
func defineFlags(a *kingpin.Application, cfg *flagConfig) *flagSet {
	fs := &flagSet{
		app:            a,
		notHonoured:    map[string]bool{},
		explicit:       map[string]bool{},
		serverOnlyName: map[string]bool{},
		agentOnlyName:  map[string]bool{},
	}

	fs.honoured("config.file", "Prometheus configuration file path.").
		Default("prometheus.yml").StringVar(&cfg.configFile)
	fs.honoured("config.auto-reload", "Enable automatic configuration file reloading. See also --config.auto-reload-interval.").
		Default("false").BoolVar(&cfg.enableAutoReload)
	fs.honoured("config.auto-reload-interval", "Specifies the interval for checking and automatically reloading the Prometheus configuration file upon detecting changes. Only used when --config.auto-reload is set.").
		Default("30s").SetValue(&cfg.autoReloadInterval)
	fs.honoured("web.listen-address", "Address to listen on for UI, API, and telemetry. Can be repeated.").
		Default("0.0.0.0:9090").StringsVar(&cfg.listenAddresses)
	fs.honoured("auto-gomaxprocs", "Automatically set GOMAXPROCS to match Linux container CPU quota").
		Default("true").BoolVar(&cfg.maxprocsEnable)
	fs.honoured("auto-gomemlimit", "Automatically set GOMEMLIMIT to match Linux container or system memory limit").
		Default("true").BoolVar(&cfg.memlimitEnable)
	fs.honoured("auto-gomemlimit.ratio", "The ratio of reserved GOMEMLIMIT memory to the detected maximum container or system memory").
		Default("0.9").FloatVar(&cfg.memlimitRatio)
	fs.honoured("auto-gomemlimit.refresh-interval", "Interval at which to re-detect the container or system memory limit and update GOMEMLIMIT accordingly. Useful when the limit can change at runtime, e.g. with a Vertical Pod Autoscaler. Set to 0 to detect the limit only once at startup. Note that a downward change in the limit can cause a temporary increase in garbage collection activity. Only used when --auto-gomemlimit is set.").
		Default("0s").SetValue(&cfg.memlimitRefresh)
	fs.honoured("web.config.file", "[EXPERIMENTAL] Path to configuration file that can enable TLS or authentication.").
		Default("").StringVar(&cfg.webConfigFile)
	fs.honoured("web.read-timeout", "Maximum duration before timing out read of the request, and closing idle connections.").
		Default("5m").SetValue(&cfg.webReadTimeout)
	fs.honoured("web.max-connections", "Maximum number of simultaneous connections across all listeners.").
		Default("512").IntVar(&cfg.webMaxConnections)
	fs.honoured("web.max-notifications-subscribers", "Limits the maximum number of subscribers that can concurrently receive live notifications. If the limit is reached, new subscription requests will be denied until existing connections close.").
		Default("16").IntVar(&cfg.webMaxNotifSubs)
	fs.honoured("web.external-url", "The URL under which Prometheus is externally reachable (for example, if Prometheus is served via a reverse proxy). Used for generating relative and absolute links back to Prometheus itself. If the URL has a path portion, it will be used to prefix all HTTP endpoints served by Prometheus. If omitted, relevant URL components will be derived automatically.").
		PlaceHolder("<URL>").StringVar(&cfg.externalURL)
	fs.honoured("web.route-prefix", "Prefix for the internal routes of web endpoints. Defaults to path of --web.external-url.").
		PlaceHolder("<path>").StringVar(&cfg.routePrefix)
	fs.honoured("web.user-assets", "Path to static asset directory, available at /user.").
		PlaceHolder("<path>").StringVar(&cfg.userAssets)
	fs.honoured("web.enable-lifecycle", "Enable shutdown and reload via HTTP request.").
		Default("false").BoolVar(&cfg.enableLifecycle)
	fs.honoured("web.enable-admin-api", "Enable API endpoints for admin control actions.").
		Default("false").BoolVar(&cfg.enableAdminAPI)
	fs.honoured("web.enable-remote-write-receiver", "Enable API endpoint accepting remote write requests.").
		Default("false").BoolVar(&cfg.enableRemoteWrite)
	supported := remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType}
	fs.honoured("web.remote-write-receiver.accepted-protobuf-messages", fmt.Sprintf("List of the remote write protobuf messages to accept when receiving the remote writes. Supported values: %v", supported.String())).
		Default(supported.Strings()...).SetValue(&rwProtoMsgs{msgs: &cfg.remoteWriteMsgs})
	fs.honoured("web.enable-otlp-receiver", "Enable API endpoint accepting OTLP write requests.").
		Default("false").BoolVar(&cfg.enableOTLP)
	fs.honoured("web.console.templates", "Path to the console template directory, available at /consoles.").
		Default("consoles").StringVar(&cfg.consoleTemplates)
	fs.honoured("web.console.libraries", "Path to the console library directory.").
		Default("console_libraries").StringVar(&cfg.consoleLibraries)
	fs.honoured("web.page-title", "Document title of Prometheus instance.").
		Default("Prometheus Time Series Collection and Processing Server").StringVar(&cfg.pageTitle)
	fs.honoured("web.cors.origin", `Regex for CORS origin. It is fully anchored. Example: 'https?://(domain1|domain2)\.com'`).
		Default(".*").StringVar(&cfg.corsOrigin)

	fs.serverOnly("storage.tsdb.path", "Base path for metrics storage.", true).
		Default("data/").StringVar(&cfg.storagePath)
	fs.serverOnly("storage.tsdb.min-block-duration", "Minimum duration of a data block before being persisted. For use in testing.", true).
		Hidden().Default("2h").SetValue(&cfg.minBlockDuration)
	fs.serverOnly("storage.tsdb.max-block-duration",
		"Maximum duration compacted blocks may span. For use in testing. (Defaults to 10% of the retention period.)", true).
		Hidden().PlaceHolder("<duration>").SetValue(&cfg.maxBlockDuration)
	fs.serverOnly("storage.tsdb.max-block-chunk-segment-size",
		"The maximum size for a single chunk segment in a block. Example: 512MB", true).
		Hidden().PlaceHolder("<bytes>").BytesVar(&cfg.maxBlockChunkSegment)
	fs.serverOnly("storage.tsdb.wal-segment-size",
		"Size at which to split the tsdb WAL segment files. Example: 100MB", true).
		Hidden().PlaceHolder("<bytes>").BytesVar(&cfg.walSegmentSize)
	fs.serverOnly("storage.tsdb.retention.time", "[DEPRECATED] How long to retain samples in storage. If neither this flag nor \"storage.tsdb.retention.size\" is set, the retention time defaults to "+defaultRetentionString+". Units Supported: y, w, d, h, m, s, ms. This flag has been deprecated, use the storage.tsdb.retention.time field in the config file instead.", true).
		SetValue(&cfg.retentionTime)
	fs.serverOnly("storage.tsdb.retention.size", "[DEPRECATED] Maximum number of bytes that can be stored for blocks. A unit is required, supported units: B, KB, MB, GB, TB, PB, EB. Ex: \"512MB\". Based on powers-of-2, so 1KB is 1024B. This flag has been deprecated, use the storage.tsdb.retention.size field in the config file instead.", true).
		BytesVar(&cfg.retentionSize)
	fs.serverOnly("storage.tsdb.no-lockfile", "Do not create lockfile in data directory.", true).
		Default("false").BoolVar(&cfg.noLockfile)
	fs.serverOnly("storage.tsdb.allow-overlapping-compaction", "Allow compaction of overlapping blocks. If set to false, TSDB stops vertical compaction and leaves overlapping blocks there. The use case is to let another component handle the compaction of overlapping blocks.", true).
		Default("true").Hidden().BoolVar(&cfg.allowOverlapping)
	fs.serverOnly("storage.tsdb.wal-compression", "Compress the tsdb WAL. If false, the --storage.tsdb.wal-compression-type flag is ignored.", true).
		Hidden().Default("true").BoolVar(&cfg.walCompression)
	fs.serverOnly("storage.tsdb.wal-compression-type", "Compression algorithm for the tsdb WAL, used when --storage.tsdb.wal-compression is true.", true).
		Hidden().Default("snappy").EnumVar(&cfg.walCompressionType, "snappy", "zstd")
	fs.serverOnly("storage.tsdb.head-chunks-write-queue-size", "Size of the queue through which head chunks are written to the disk to be m-mapped, 0 disables the queue completely. Experimental.", true).
		Default("0").IntVar(&cfg.headChunksQueueSize)
	fs.serverOnly("storage.tsdb.samples-per-chunk", "Target number of samples per chunk.", true).
		Default("120").Hidden().IntVar(&cfg.samplesPerChunk)
	fs.serverOnly("storage.tsdb.delayed-compaction.max-percent", "Sets the upper limit for the random compaction delay, specified as a percentage of the head chunk range. 100 means the compaction can be delayed by up to the entire head chunk range. Only effective when the delayed-compaction feature flag is enabled.", true).
		Default("10").Hidden().IntVar(&cfg.delayedCompactionMaxPct)
	fs.serverOnly("storage.tsdb.delay-compact-file.path", "Path to a JSON file with uploaded TSDB blocks e.g. Thanos shipper meta file. If set TSDB will only compact 1 level blocks that are marked as uploaded in that file, improving external storage integrations e.g. with Thanos sidecar. 1+ level compactions won't be delayed.", true).
		Default("").StringVar(&cfg.delayCompactFilePath)
	fs.serverOnly("storage.tsdb.block-reload-interval", "Interval at which to check for new or removed blocks in storage. Users who manually backfill or drop blocks must wait up to this duration before changes become available.", true).
		Default("1m").Hidden().SetValue(&cfg.blockReloadInterval)

	fs.agentOnly("storage.agent.path", "Base path for metrics storage.").
		Default("data-agent/").StringVar(&cfg.agentPath)
	fs.agentOnly("storage.agent.wal-segment-size",
		"Size at which to split WAL segment files. Example: 100MB").
		Hidden().PlaceHolder("<bytes>").BytesVar(&cfg.agentWALSegmentSize)
	fs.agentOnly("storage.agent.wal-compression", "Compress the agent WAL. If false, the --storage.agent.wal-compression-type flag is ignored.").
		Default("true").BoolVar(&cfg.agentWALCompression)
	fs.agentOnly("storage.agent.wal-compression-type", "Compression algorithm for the agent WAL, used when --storage.agent.wal-compression is true.").
		Hidden().Default("snappy").EnumVar(&cfg.agentWALCompressionType, "snappy", "zstd")
	fs.agentOnly("storage.agent.wal-truncate-frequency",
		"The frequency at which to truncate the WAL and remove old data.").
		Hidden().PlaceHolder("<duration>").SetValue(&cfg.agentTruncateFrequency)
	fs.agentOnly("storage.agent.retention.min-time",
		"Minimum age samples may be before being considered for deletion when the WAL is truncated").
		Default("5m").SetValue(&cfg.agentMinWALTime)
	fs.agentOnly("storage.agent.retention.max-time",
		"Maximum age samples may be before being forcibly deleted when the WAL is truncated").
		Default("4h").SetValue(&cfg.agentMaxWALTime)
	fs.agentOnly("storage.agent.checkpoint-from-in-memory-series", "Use only in-memory series data when building a checkpoint.").
		Default("false").BoolVar(&cfg.agentCheckpointInMemory)
	fs.agentOnly("storage.agent.checkpoint-batch-size", "Size of a single WAL log entry chunk to be flushed. Has no effect without --storage.agent.checkpoint-from-in-memory-series flag.").
		Default("1000").IntVar(&cfg.agentCheckpointBatch)
	fs.agentOnly("storage.agent.no-lockfile", "Do not create lockfile in data directory.").
		Default("false").BoolVar(&cfg.agentNoLockfile)

	fs.honoured("storage.remote.flush-deadline", "How long to wait flushing sample on shutdown or config reload.").
		Default("1m").PlaceHolder("<duration>").SetValue(&cfg.remoteFlushDeadline)
	fs.serverOnly("storage.remote.read-sample-limit", "Maximum overall number of samples to return via the remote read interface, in a single query. 0 means no limit. This limit is ignored for streamed response types.", true).
		Default("5e7").IntVar(&cfg.remoteReadSampleLimit)
	fs.serverOnly("storage.remote.read-concurrent-limit", "Maximum number of concurrent remote read calls. 0 means no limit.", true).
		Default("10").IntVar(&cfg.remoteReadConcurrency)
	fs.serverOnly("storage.remote.read-max-bytes-in-frame", "Maximum number of bytes in a single frame for streaming remote read response types before marshalling. Note that client might have limit on frame size as well. 1MB as recommended by protobuf by default.", true).
		Default("1048576").IntVar(&cfg.remoteReadBytesInFrame)
	fs.serverOnly("web.search.max-limit", "Hard upper bound on the \"limit\" query parameter accepted by the experimental search API (--enable-feature=search-api). Requests with a higher limit are rejected with HTTP 400. 0 disables the cap.", true).
		Default("10000").IntVar(&cfg.searchMaxLimit)
	fs.serverOnly("rules.alert.for-outage-tolerance", "Max time to tolerate prometheus outage for restoring \"for\" state of alert.", true).
		Default("1h").SetValue(&cfg.outageTolerance)
	fs.serverOnly("rules.alert.for-grace-period", "Minimum duration between alert and restored \"for\" state. This is maintained only for alerts with configured \"for\" time greater than grace period.", true).
		Default("10m").SetValue(&cfg.forGracePeriod)
	fs.serverOnly("rules.alert.resend-delay", "Minimum amount of time to wait before resending an alert to Alertmanager.", true).
		Default("1m").SetValue(&cfg.resendDelay)
	fs.serverOnly("rules.max-concurrent-evals", "Global concurrency limit for independent rules that can run concurrently. When set, \"query.max-concurrency\" may need to be adjusted accordingly.", true).
		Default("4").Int64Var(&cfg.maxConcurrentEvals)
	fs.serverOnly("rules.tenant-dir", "mytsdb: directory of per-tenant rules: the *.yml and *.yaml files in <dir>/<tenant>/ are evaluated over that tenant's data (queries and recorded series stay in the tenant), reloaded with the config, and listed by /api/v1/rules and /api/v1/alerts for requests with that X-Scope-OrgID. Their alerts go to the config's Alertmanagers. Empty: rules run on the default tenant only (the config's rule_files).", true).
		Default("").StringVar(&cfg.tenantRuleDir)

	// These two set upstream scrape package variables directly, as in Prometheus.
	fs.honoured("scrape.adjust-timestamps", "Adjust scrape timestamps by up to `scrape.timestamp-tolerance` to align them to the intended schedule. See https://github.com/prometheus/prometheus/issues/7846 for more context. Experimental. This flag will be removed in a future release.").
		Hidden().Default("true").BoolVar(&scrape.AlignScrapeTimestamps)
	fs.honoured("scrape.timestamp-tolerance", "Timestamp tolerance. See https://github.com/prometheus/prometheus/issues/7846 for more context. Experimental. This flag will be removed in a future release.").
		Hidden().Default("2ms").DurationVar(&scrape.ScrapeTimestampTolerance)

	fs.serverOnly("alertmanager.notification-queue-capacity", "The capacity of the queue for pending Alertmanager notifications.", true).
		Default("10000").IntVar(&cfg.notifierQueueCapacity)
	fs.serverOnly("alertmanager.notification-batch-size", "The maximum number of notifications per batch to send to the Alertmanager.", true).
		Default(strconv.Itoa(notifier.DefaultMaxBatchSize)).IntVar(&cfg.notifierBatchSize)
	fs.serverOnly("alertmanager.drain-notification-queue-on-shutdown", "Send any outstanding Alertmanager notifications when shutting down. If false, any outstanding Alertmanager notifications will be dropped when shutting down.", true).
		Default("true").BoolVar(&cfg.notifierDrainOnShutdown)

	fs.serverOnly("query.lookback-delta", "The maximum lookback duration for retrieving metrics during expression evaluations and federation.", true).
		Default("5m").SetValue(&cfg.lookbackDelta)
	fs.serverOnly("query.timeout", "Maximum time a query may take before being aborted.", true).
		Default("2m").SetValue(&cfg.queryTimeout)
	fs.serverOnly("query.max-concurrency", "Maximum number of queries executed concurrently.", true).
		Default("20").IntVar(&cfg.queryConcurrency)
	fs.serverOnly("query.max-samples", "Maximum number of samples a single query can load into memory. Note that queries will fail if they try to load more samples than this into memory, so this also limits the number of samples a query can return.", true).
		Default("50000000").IntVar(&cfg.queryMaxSamples)

	fs.honoured("scrape.discovery-reload-interval", "Interval used by scrape manager to throttle target groups updates.").
		Hidden().Default("5s").SetValue(&cfg.discoveryReloadInterval)

	fs.honoured("enable-feature", "Comma separated feature names to enable. Valid options: concurrent-rule-eval, created-timestamp-zero-ingestion, delayed-compaction, exemplar-storage, extra-scrape-metrics, histograms-st-encoding, memory-snapshot-on-shutdown, metadata-wal-records, old-ui, openmetrics2, otlp-deltatocumulative, otlp-native-delta-ingestion, promql-binop-fill-modifiers, promql-delayed-name-removal, promql-experimental-functions, promql-per-step-stats, promql-unquoted-utf8-names, query-cost, search-api, st-storage, st-synthesis, type-and-unit-labels, use-start-timestamps, use-uncached-io, xor2-encoding, zstd-scrape. See https://prometheus.io/docs/prometheus/latest/feature_flags/ for more details.").
		StringsVar(&cfg.featureList)

	fs.honoured("agent", "Run Prometheus in 'Agent mode'.").BoolVar(&cfg.agentMode)

	promslogflag.AddFlags(a, &cfg.promslogConfig)
	a.GetFlag(promslogflag.LevelFlagName).
		Help(promslogflag.LevelFlagHelp + " Deprecated: set runtime.log_level in the configuration file instead.")

	// mytsdb's own flags (not Prometheus's).
	fs.honoured("storage.wal.sync", "mytsdb: when a write is acknowledged. always: after the WAL bytes are fsynced (group commit); interval: after write(2), with an fsync every --storage.wal.sync-interval.").
		Default("always").EnumVar(&cfg.walSync, "always", "interval")
	fs.honoured("storage.wal.sync-interval", "mytsdb: how often the WAL is fsynced with --storage.wal.sync=interval.").
		Default("1s").DurationVar(&cfg.walSyncInterval)
	fs.honoured("storage.wal.writer", "mytsdb: how the WAL writes: auto (io_uring when the kernel allows it, else pwrite), io_uring, or pwrite.").
		Default("auto").EnumVar(&cfg.walWriter, "auto", "io_uring", "pwrite")
	fs.honoured("storage.prometheus-data.keep", "mytsdb: leave a Prometheus TSDB found in --storage.tsdb.path as it is and serve it read-only. Without it, its blocks and WAL are converted into mytsdb blocks in the background, and each part's files are removed once the copy is verified.").
		Default("false").BoolVar(&cfg.keepPrometheusData)
	fs.serverOnly("storage.parquet.enabled", "mytsdb: the Parquet tier: sealed blocks are copied to object storage as Parquet, verified, removed locally after --storage.parquet.local-retention, and queried from the bucket. --no-storage.parquet.enabled turns it off.", true).
		Default("true").BoolVar(&cfg.parquetEnabled)
	fs.serverOnly("storage.parquet.bucket-config-file", "mytsdb: Thanos object storage configuration file (type: FILESYSTEM, S3, GCS, AZURE, ...) of the Parquet tier's bucket. Empty: a FILESYSTEM bucket in <storage.tsdb.path>/bucket/.", true).
		Default("").PlaceHolder("<path>").StringVar(&cfg.parquetBucketConfig)
	fs.serverOnly("storage.parquet.local-retention", "mytsdb: how long a block stays on the local disk once the Parquet tier holds a verified copy, measured back from the newest block's end. 0 removes it as soon as it is verified.", true).
		Default("1d").SetValue(&cfg.parquetLocalRetention)
	fs.serverOnly("storage.parquet.retention", "mytsdb: how long blocks are kept in the Parquet tier's bucket, measured back from the newest block's end. Empty: the same as the tsdb retention time; 0: forever.", true).
		Default("").PlaceHolder("<duration>").StringVar(&cfg.parquetRetention)
	fs.serverOnly("storage.parquet.cache-size", "mytsdb: bytes of Parquet footers and pages kept in memory for queries of the bucket. Example: 256MB", true).
		Default("256MB").BytesVar(&cfg.parquetCacheSize)
	return fs
}

// warnNotHonoured logs one warning per explicitly set flag that mytsdb
// accepts for compatibility but does not act on yet.
func (fs *flagSet) warnNotHonoured(warn func(msg string, args ...any)) {
	for _, name := range fs.explicitOrder {
		if fs.notHonoured[name] {
			warn("Flag accepted for compatibility with Prometheus but not honoured yet by mytsdb", "flag", "--"+name)
		}
	}
}

// flagsMap returns every flag's current value, keyed by name, excluding
// kingpin's boilerplate flags — the body of /api/v1/status/flags, built the
// way Prometheus builds it.
func flagsMap(a *kingpin.Application) map[string]string {
	boilerplate := kingpin.New("", "").Version("")
	m := map[string]string{}
	for _, f := range a.Model().Flags {
		if boilerplate.GetFlag(f.Name) != nil {
			continue
		}
		m[f.Name] = f.Value.String()
	}
	return m
}

// rwProtoMsgs is the kingpin value of
// --web.remote-write-receiver.accepted-protobuf-messages: repeatable,
// validated, no duplicates — as in Prometheus.
type rwProtoMsgs struct{ msgs *remoteapi.MessageTypes }

func (*rwProtoMsgs) IsCumulative() bool { return true }

func (p *rwProtoMsgs) String() string {
	ss := make([]string, 0, len(*p.msgs))
	for _, t := range *p.msgs {
		ss = append(ss, string(t))
	}
	return strings.Join(ss, ",")
}

func (p *rwProtoMsgs) Set(opt string) error {
	t := remoteapi.WriteMessageType(opt)
	if err := t.Validate(); err != nil {
		return err
	}
	if contains(p.msgs.Strings(), opt) {
		return fmt.Errorf("duplicated %v flag value, got %v already", t, *p.msgs)
	}
	*p.msgs = append(*p.msgs, t)
	return nil
}
