package main

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/util/notifications"
)

// reloader applies one part of a new configuration, like Prometheus's.
type reloader struct {
	name     string
	reloader func(*config.Config) error
}

// configState owns the running configuration and its reloads (startup,
// SIGHUP, POST /-/reload, --config.auto-reload).
type configState struct {
	src       configSource
	logger    *slog.Logger
	logLevel  *promslog.Level
	metrics   *configMetrics
	notices   *notifications.Notifications // nil in tests without a server
	reloaders []reloader

	// exemplarStorage is --enable-feature=exemplar-storage: a loaded config
	// without storage.exemplars gets the default section, as Prometheus
	// fills it in (/api/v1/status/config shows it).
	exemplarStorage bool

	current  atomic.Pointer[config.Config] // what /api/v1/status/config shows
	embedded atomic.Bool                   // the embedded default is in use
	// noStepSubqueryInterval is global.evaluation_interval in ms, the default
	// step of subqueries without one.
	noStepSubqueryInterval atomic.Int64
}

// Config returns the running configuration.
func (s *configState) Config() config.Config {
	if c := s.current.Load(); c != nil {
		return *c
	}
	return config.DefaultConfig
}

// reload loads the configuration and applies it with every reloader. When
// loading fails nothing is applied and the previous configuration keeps
// running; when a reloader fails the others are still applied, as in
// Prometheus.
func (s *configState) reload() (err error) {
	start := time.Now()
	s.logger.Info("Loading configuration file", "filename", s.src.file)
	defer func() {
		if err == nil {
			s.metrics.success.Set(1)
			s.metrics.successTime.SetToCurrentTime()
			if s.notices != nil {
				s.notices.DeleteNotification(notifications.ConfigurationUnsuccessful)
			}
		} else {
			s.metrics.success.Set(0)
			if s.notices != nil {
				s.notices.AddNotification(notifications.ConfigurationUnsuccessful)
			}
		}
	}()

	conf, embedded, err := s.src.load(s.logger)
	if err != nil {
		return fmt.Errorf("couldn't load configuration (--config.file=%q): %w", s.src.file, err)
	}
	if embedded {
		s.logger.Info("Configuration file not found, using mytsdb's embedded default configuration (scrapes mytsdb itself every 15s)",
			"filename", s.src.file, "target", s.src.selfTarget)
	}
	s.embedded.Store(embedded)
	if s.exemplarStorage && conf.StorageConfig.ExemplarsConfig == nil {
		conf.StorageConfig.ExemplarsConfig = &config.DefaultExemplarsConfig
	}

	failed := false
	timings := []any{}
	for _, rl := range s.reloaders {
		rstart := time.Now()
		if err := rl.reloader(conf); err != nil {
			s.logger.Error("Failed to apply configuration", "err", err)
			failed = true
		}
		timings = append(timings, rl.name, time.Since(rstart))
	}
	if failed {
		return fmt.Errorf("one or more errors occurred while applying the new configuration (--config.file=%q)", s.src.file)
	}
	if err := s.logLevel.Set(string(conf.Runtime.LogLevel)); err != nil {
		return fmt.Errorf("applying log level: %w", err)
	}
	updateGoGC(conf, s.logger)
	s.noStepSubqueryInterval.Store(time.Duration(conf.GlobalConfig.EvaluationInterval).Milliseconds())
	s.logger.Info("Completed loading of configuration file",
		append([]any{"filename", s.src.file, "totalDuration", time.Since(start)}, timings...)...)
	return nil
}

// checksum is the auto-reload fingerprint of the config file ("" while the
// embedded default is in use and the file is still absent).
func (s *configState) checksum() (string, error) {
	if s.src.useEmbedded() {
		return "", nil
	}
	return config.GenerateChecksum(s.src.file)
}

// warnUnsupportedSections logs the parts of a configuration mytsdb parses but
// does not act on yet.
func warnUnsupportedSections(conf *config.Config, logger *slog.Logger) error {
	warn := func(section string) {
		logger.Warn("Configuration section accepted but not honoured yet by mytsdb", "section", section)
	}
	if conf.TracingConfig.Endpoint != "" {
		warn("tracing")
	}
	return nil
}
