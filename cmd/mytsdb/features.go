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
}

// parseFeatures applies --enable-feature. Options that only change query or
// scrape behaviour are honoured with Prometheus's log lines; options that
// need storage, rules, UI or API support mytsdb lacks are accepted with a
// warning; unknown options warn exactly as in Prometheus.
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
			case "memory-snapshot-on-shutdown", "metadata-wal-records",
				"xor2-encoding",
				"histograms-st-encoding", "st-storage",
				"old-ui", "use-uncached-io", "fast-startup", "search-api", "query-cost":
				warnFeatureNotHonoured(logger, o)
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

func warnFeatureNotHonoured(logger *slog.Logger, option string) {
	logger.Warn("Option for --enable-feature accepted for compatibility with Prometheus but not honoured yet by mytsdb", "option", option)
}

// setFeatures fills the feature registry served at /api/v1/features with
// what mytsdb offers, in Prometheus's categories (the engine, parser, scrape
// and discovery managers register their own features).
func setFeatures(cfg *flagConfig, f featureOpts) {
	features.Set(features.TSDB, "exemplar_storage", f.exemplarStorage)
	features.Set(features.Prometheus, "agent_mode", false)
	features.Set(features.Prometheus, "server_mode", true)
	features.Set(features.Prometheus, "auto_reload_config", cfg.enableAutoReload)
	features.Enable(features.Prometheus, labels.ImplementationName)
	features.Set(features.API, "lifecycle", cfg.enableLifecycle)
	features.Set(features.API, "admin", false)
	features.Set(features.API, "remote_write_receiver", cfg.enableRemoteWrite)
	features.Set(features.API, "otlp_write_receiver", cfg.enableOTLP)
	features.Set(features.API, "query_cost", false)
	features.Set(features.API, "search", false)
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
	features.Set(features.TSDB, "delayed_compaction", f.delayedCompaction)
	setDeclaredFeatures()
}

// setDeclaredFeatures registers the rest of what Prometheus 3.16 declares
// with its default flags, so that /api/v1/features answers the same: the
// TSDB's options (tsdb.Open), the rule manager's, the template functions and
// the UI (web.New). The flag-driven values mytsdb does not honour
// (use-uncached-io, st-storage, histograms-st-encoding,
// old-ui) stay at their defaults: those options are
// accepted with a warning (parseFeatures), not acted on.
func setDeclaredFeatures() {
	features.Set(features.TSDB, "isolation", true)
	features.Set(features.TSDB, "use_uncached_io", false)
	features.Enable(features.TSDB, "native_histograms")
	features.Set(features.TSDB, "st_storage", false)
	features.Enable(features.TSDB, "xor2_encoding")
	features.Set(features.TSDB, "histograms_st_encoding", false)
	// The rules section is the rule manager's own (rules.NewManager sets
	// concurrent_rule_eval, query_offset and keep_firing_for).
	template.RegisterFeatures(features.DefaultRegistry)
	features.Set(features.UI, "ui_v3", true)
	features.Set(features.UI, "ui_v2", false)
}
