package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	upstreamscrape "github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/template"
	"github.com/prometheus/prometheus/tsdb/fileutil"
	"github.com/prometheus/prometheus/util/features"
)

// features are the --enable-feature options mytsdb acts on, extracted like
// Prometheus's setFeatureListOptions.
type featureOpts struct {
	parser                 parser.Options
	scrape                 upstreamscrape.Options
	enablePerStepStats     bool
	enableDelayedNameRem   bool
	enableTypeAndUnitLabel bool
	exemplarStorage        bool
	delayedCompaction      bool
	convertOTLPDelta       bool // otlp-deltatocumulative
	nativeOTLPDelta        bool // otlp-native-delta-ingestion
	concurrentRuleEval     bool
	useStartTimestamps     bool // use-start-timestamps: the engine's default for a query's use_start_timestamps
	stZeroIngestion        bool // created-timestamp-zero-ingestion: the head stores start timestamps as 0 samples
	searchAPI              bool // search-api
	queryCost              bool // query-cost: the engine's reloadable limits, the cost endpoints and overrides
	// appendMetadata is metadata-wal-records: scrapes, remote write 2.0
	// and OTLP pass each series' metadata to the storage, which logs it in
	// the WAL (replayed at restart, read by the remote-write followers:
	// RW 2.0 sends it).
	appendMetadata bool
	// agentSTStorage is st-storage in agent mode (the upstream agent WAL
	// keeps start timestamps); the server refuses the option.
	agentSTStorage bool
	// memorySnapshot is memory-snapshot-on-shutdown: each tenant's head is
	// written to a snapshot file at shutdown and restored from it at start
	// when the WAL still ends where it was taken (storage/head/snapshot.go).
	memorySnapshot bool
}

// parseFeatures applies --enable-feature. Options are honoured with
// Prometheus's log lines; those asking for something mytsdb's engine or UI
// does not have are refused (refusedFeatures: the error stops the start, as
// Prometheus stops for use-uncached-io where the OS lacks it); unknown
// options warn exactly as in Prometheus.
func parseFeatures(list []string, cfg *flagConfig, logger *slog.Logger) (featureOpts, error) {
	var f featureOpts
	for _, item := range list {
		for o := range strings.SplitSeq(item, ",") {
			switch o {
			case "extra-scrape-metrics":
				t := true
				config.DefaultConfig.GlobalConfig.ExtraScrapeMetrics = &t
				config.DefaultGlobalConfig.ExtraScrapeMetrics = &t
				logger.Warn("This option for --enable-feature is being phased out. It currently changes the default for the extra_scrape_metrics config setting to true, but will become a no-op in a future version. Stop using this option and set extra_scrape_metrics in the config instead.", "option", o)
			case "delayed-compaction":
				f.delayedCompaction = true
				logger.Info("Experimental delayed compaction is enabled.")
			case "concurrent-rule-eval":
				f.concurrentRuleEval = true
				logger.Info("Experimental concurrent rule evaluation enabled.")
			case "exemplar-storage":
				f.exemplarStorage = true
				logger.Info("Experimental in-memory exemplar storage enabled")
			case "promql-per-step-stats":
				f.enablePerStepStats = true
				logger.Info("Experimental per-step statistics reporting")
			case "auto-reload-config":
				cfg.enableAutoReload = true
				logger.Warn("This option for --enable-feature is deprecated. Use --config.auto-reload instead.", "option", o)
			case "promql-unquoted-utf8-names":
				f.parser.EnableUnquotedUTF8Names = true
				logger.Info("Experimental unquoted UTF-8 names enabled.")
			case "promql-experimental-functions":
				f.parser.EnableExperimentalFunctions = true
				logger.Info("Experimental PromQL functions enabled.")
			case "promql-duration-expr", "ooo-native-histograms", "promql-extended-range-selectors":
				logger.Warn("This option for --enable-feature is now permanently enabled and therefore a no-op.", "option", o)
			case "native-histograms":
				logger.Warn("This option for --enable-feature is a no-op. To scrape native histograms, set the scrape_native_histograms scrape config setting to true.", "option", o)
			case "promql-delayed-name-removal":
				f.enableDelayedNameRem = true
				logger.Info("Experimental PromQL delayed name removal enabled.")
			case "promql-binop-fill-modifiers":
				f.parser.EnableBinopFillModifiers = true
				logger.Info("Experimental PromQL binary operator fill modifiers enabled.")
			case "openmetrics2":
				f.scrape.EnableOpenMetrics2 = true
				logger.Info("Experimental OpenMetrics 2.0 scrape format enabled. WARNING: OpenMetrics 2.0 is not stable yet, the parser will be made stricter before stabilization and the exposition format may still change.")
			case "type-and-unit-labels":
				f.scrape.EnableTypeAndUnitLabels = true
				f.enableTypeAndUnitLabel = true
				logger.Info("Experimental type and unit labels enabled")
			case "zstd-scrape":
				f.scrape.EnableZstdScrape = true
				logger.Info("Experimental zstd scrape compression enabled")
			case "otlp-deltatocumulative":
				f.convertOTLPDelta = true
				logger.Info("Converting delta OTLP metrics to cumulative")
			case "otlp-native-delta-ingestion":
				f.nativeOTLPDelta = true
				logger.Info("Enabling native ingestion of delta OTLP metrics, storing the raw sample values without conversion. WARNING: Delta support is in an early stage of development. The ingestion and querying process is likely to change over time.")
			case "st-synthesis":
				// The scrape loops synthesise start timestamps; like
				// Prometheus without st-storage, the storage keeps none.
				f.scrape.SynthesizeST = true
				features.Enable(features.Scrape, "st-synthesis")
				logger.Info("Experimental start timestamp synthesis enabled.")
			case "use-start-timestamps":
				f.useStartTimestamps = true
				logger.Info("Experimental usage of start timestamps in PromQL engine is enabled.")
			case "created-timestamp-zero-ingestion":
				f.scrape.EnableStartTimestampZeroIngestion = true
				f.scrape.ParseST = true
				f.stZeroIngestion = true
				// As Prometheus: the default scrape protocols prefer the
				// protobuf format, which carries start timestamps.
				config.DefaultConfig.GlobalConfig.ScrapeProtocols = config.DefaultProtoFirstScrapeProtocols
				config.DefaultGlobalConfig.ScrapeProtocols = config.DefaultProtoFirstScrapeProtocols
				logger.Info("Experimental start timestamp zero ingestion enabled. OpenMetrics 1.0 parsing will parse <metric>_created metrics as ST instead of normal sample. Changed default scrape_protocols to prefer PrometheusProto format.", "global.scrape_protocols", fmt.Sprintf("%v", config.DefaultGlobalConfig.ScrapeProtocols))
			case "search-api":
				f.searchAPI = true
				logger.Info("Experimental search API enabled.")
			case "query-cost":
				f.queryCost = true
				logger.Info("Experimental query cost guardrails enabled.")
			case "metadata-wal-records":
				// Our head logs every metadata it is given and replays it;
				// the option decides, as in Prometheus, whether scrapes,
				// remote write and OTLP give it.
				f.scrape.AppendMetadata = true
				f.appendMetadata = true
				features.Enable(features.TSDB, "metadata_wal_records")
				logger.Info("Experimental metadata records in WAL enabled")
			case "memory-snapshot-on-shutdown":
				f.memorySnapshot = true
				logger.Info("Experimental memory snapshot on shutdown enabled")
			case "xor2-encoding", "histograms-st-encoding", "st-storage", "use-uncached-io", "fast-startup":
				if !cfg.agentMode {
					return f, fmt.Errorf("--enable-feature=%s is not supported by mytsdb: %s", o, refusedFeatures[o])
				}
				if err := agentTSDBFeature(o, &f, logger); err != nil {
					return f, err
				}
			case "old-ui":
				return f, fmt.Errorf("--enable-feature=%s is not supported by mytsdb: %s", o, refusedFeatures[o])
			default:
				logger.Warn("Unknown option for --enable-feature", "option", o)
			}
		}
	}
	if f.convertOTLPDelta && f.nativeOTLPDelta {
		return f, errors.New("cannot enable otlp-deltatocumulative and otlp-native-delta-ingestion features at the same time")
	}
	return f, nil
}

// refusedFeatures are the Prometheus 3.16 options mytsdb's server refuses
// (old-ui also in agent mode), with why:
// each asks for a format or component of Prometheus's TSDB or UI that
// mytsdb does not have, and accepting it silently would let a user believe
// it took effect.
var refusedFeatures = map[string]string{
	// Prometheus writes XOR2 float chunks (smaller than XOR, able to hold
	// start timestamps). mytsdb's blocks hold float chunks in its own codec
	// and its head in XOR; neither is XOR2.
	"xor2-encoding": "mytsdb stores float chunks in its own codec (storage/chunkenc), it cannot write XOR2 chunks; remove the option",
	// Prometheus keeps each sample's start timestamp in its WAL records
	// and chunks. mytsdb's WAL records and chunks have no field for it
	// (created-timestamp-zero-ingestion, which stores it as a 0 sample,
	// and use-start-timestamps work without it).
	"st-storage": "mytsdb's WAL and chunks do not store start timestamps; created-timestamp-zero-ingestion stores them as zero samples instead",
	// Only useful with st-storage: histogram chunks able to hold start
	// timestamps.
	"histograms-st-encoding": "mytsdb's chunks do not store start timestamps, so it has no start-timestamp histogram chunk encoding",
	// Prometheus writes compacted chunk files with O_DIRECT. mytsdb's block
	// writer goes through the page cache (and fsyncs before the rename).
	"use-uncached-io": "mytsdb's block writer does not bypass the page cache",
	// In Prometheus 3.16 a head state file (series_state.json) kept for a
	// startup that scrapes during the WAL replay; mytsdb scrapes only after
	// its (parallel) replay, and keeps no such file.
	"fast-startup": "mytsdb does not start scraping before its WAL replay has ended",
	// Prometheus 3 still embeds its 2.x React UI behind this option. mytsdb
	// has one UI, laid out as Prometheus 3's: serving it under this option
	// would pretend to give the old pages (their routes, such as /classic/
	// and the old graph page's parameters, are not there), and the API is
	// the same either way.
	"old-ui": "mytsdb has one web UI, laid out as Prometheus 3's; it does not have the previous Prometheus UI",
}

// agentTSDBFeature applies, in agent mode, an option of Prometheus's TSDB
// that mytsdb's server refuses. The agent is built from Prometheus's own
// tsdb/agent, as in Prometheus: st-storage reaches it, and the others are
// options of the TSDB an agent does not open, which Prometheus's agent
// logs and otherwise ignores.
func agentTSDBFeature(o string, f *featureOpts, logger *slog.Logger) error {
	switch o {
	case "xor2-encoding":
		logger.Warn("This option for --enable-feature is being phased out. It currently changes the default for the storage.tsdb.chunk_encoding.floats config setting to xor2, but will become a no-op in a future major version. Stop using this option and set storage.tsdb.chunk_encoding.floats in the config instead.", "option", o)
	case "histograms-st-encoding":
		logger.Info("Experimental ST-capable histogram chunk encoding enabled.")
	case "st-storage":
		f.scrape.ParseST = true
		f.agentSTStorage = true
		config.DefaultConfig.GlobalConfig.ScrapeProtocols = config.DefaultProtoFirstScrapeProtocols
		config.DefaultGlobalConfig.ScrapeProtocols = config.DefaultProtoFirstScrapeProtocols
		logger.Info("Experimental start timestamp storage enabled. XOR2 and ST-capable histogram chunk encodings enabled. OpenMetrics 1.0 parsing will parse <metric>_created metrics as ST instead of normal sample. Changed default scrape_protocols to prefer PrometheusProto format.", "global.scrape_protocols", fmt.Sprintf("%v", config.DefaultGlobalConfig.ScrapeProtocols))
	case "use-uncached-io":
		if !fileutil.UncachedIOSupported() {
			return errors.New("experimental Uncached IO is not supported")
		}
		logger.Info("Experimental Uncached IO is enabled.")
	case "fast-startup":
		logger.Info("Experimental fast startup is enabled.")
	}
	return nil
}

// setFeatures fills the feature registry served at /api/v1/features with
// what mytsdb offers, in Prometheus's categories (the engine, parser, scrape
// and discovery managers register their own features).
func setFeatures(cfg *flagConfig, f featureOpts) {
	features.Set(features.Prometheus, "agent_mode", cfg.agentMode)
	features.Set(features.Prometheus, "server_mode", !cfg.agentMode)
	features.Set(features.Prometheus, "auto_reload_config", cfg.enableAutoReload)
	features.Enable(features.Prometheus, labels.ImplementationName)
	features.Set(features.API, "lifecycle", cfg.enableLifecycle)
	features.Set(features.API, "admin", false)
	features.Set(features.API, "remote_write_receiver", cfg.enableRemoteWrite)
	features.Set(features.API, "otlp_write_receiver", cfg.enableOTLP)
	features.Set(features.API, "query_cost", f.queryCost)
	features.Set(features.API, "search", f.searchAPI)
	features.Set(features.OTLPReceiver, "delta_conversion", f.convertOTLPDelta)
	features.Set(features.OTLPReceiver, "native_delta_ingestion", f.nativeOTLPDelta)
	for _, f := range []string{"label_values_match", "query_warnings", "query_stats", "time_range_series", "time_range_labels", "exclude_alerts", "openapi_3.1", "openapi_3.2"} {
		features.Enable(features.API, f)
	}
	// web/api/v1.FuzzAlgorithms() (not imported: it pulls the OpenAPI
	// modules into the build).
	for _, alg := range []string{"subsequence", "jarowinkler"} {
		features.Enable(features.API, "search_fuzz_alg_"+alg)
	}
	setDeclaredFeatures()
	if !cfg.agentMode {
		// The TSDB's section is filled by tsdb.Open, which an agent never
		// calls: Prometheus's agent has none.
		features.Set(features.TSDB, "exemplar_storage", f.exemplarStorage)
		features.Set(features.TSDB, "delayed_compaction", f.delayedCompaction)
		setTSDBFeatures()
	}
}

// setDeclaredFeatures registers the rest of what Prometheus 3.16 declares
// with its default flags, so that /api/v1/features answers the same: the
// TSDB's options (tsdb.Open), the rule manager's, the template functions and
// the UI (web.New). The flag-driven values of the options mytsdb refuses
// (use-uncached-io, st-storage, histograms-st-encoding, old-ui) stay at
// Prometheus's defaults: mytsdb does not start with them.
func setDeclaredFeatures() {
	// The rules section is the rule manager's own (rules.NewManager sets
	// concurrent_rule_eval, query_offset and keep_firing_for).
	template.RegisterFeatures(features.DefaultRegistry)
	features.Set(features.UI, "ui_v3", true)
	features.Set(features.UI, "ui_v2", false)
}

func setTSDBFeatures() {
	features.Set(features.TSDB, "isolation", true)
	features.Set(features.TSDB, "use_uncached_io", false)
	features.Enable(features.TSDB, "native_histograms")
	features.Set(features.TSDB, "st_storage", false)
	features.Enable(features.TSDB, "xor2_encoding")
	features.Set(features.TSDB, "histograms_st_encoding", false)
}
