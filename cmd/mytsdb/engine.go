package main

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/features"
	"github.com/prometheus/prometheus/util/logging"
)

// newEngine builds the PromQL engine with the options Prometheus 3.16 uses in
// server mode: the @ modifier and negative offsets always on, the rest from
// flags and --enable-feature.
func newEngine(cfg *flagConfig, f featureOpts, p parser.Parser, tracker *promql.ActiveQueryTracker,
	noStep func(int64) int64, logger *slog.Logger, reg prometheus.Registerer,
) *promql.Engine {
	opts := promql.EngineOpts{
		Logger:                   logger.With("component", "query engine"),
		Reg:                      reg,
		MaxSamples:               cfg.queryMaxSamples,
		Timeout:                  time.Duration(cfg.queryTimeout),
		ActiveQueryTracker:       tracker,
		LookbackDelta:            time.Duration(cfg.lookbackDelta),
		NoStepSubqueryIntervalFn: noStep,
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		EnablePerStepStats:       f.enablePerStepStats,
		EnableDelayedNameRemoval: f.enableDelayedNameRem,
		EnableTypeAndUnitLabels:  f.enableTypeAndUnitLabel,
		UseStartTimestamps:       f.useStartTimestamps,
		Parser:                   p,
		FeatureRegistry:          features.DefaultRegistry,
	}
	return promql.NewEngine(opts)
}

// queryLogReloader applies global.query_log_file on every (re)load.
func queryLogReloader(engine *promql.Engine) func(*config.Config) error {
	return func(c *config.Config) error {
		if c.GlobalConfig.QueryLogFile == "" {
			engine.SetQueryLogger(nil)
			return nil
		}
		l, err := logging.NewJSONFileLogger(c.GlobalConfig.QueryLogFile)
		if err != nil {
			return err
		}
		engine.SetQueryLogger(l)
		return nil
	}
}
