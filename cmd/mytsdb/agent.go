package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	promstorage "github.com/prometheus/prometheus/storage"
	upstreamremote "github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/agent"
	"github.com/prometheus/prometheus/util/compression"
	"github.com/prometheus/prometheus/util/features"
	"github.com/prometheus/prometheus/util/notifications"

	"mytsdb/promapi"
	"mytsdb/remote"
	"mytsdb/scrape"
	"mytsdb/storage/wal"
	"mytsdb/web"
)

// Agent mode (--agent) is Prometheus's, wired as cmd/prometheus wires it and
// built from the upstream packages end to end: the WAL-only storage of
// tsdb/agent under --storage.agent.path, the upstream remote storage
// (storage/remote) whose queues tail that WAL, a fanout of both that the
// scrape manager and the receivers append to, and no query engine, rules
// or notifier. mytsdb's own storage and remote-write follower are not used.

// agentOptions maps the --storage.agent.* flags to the agent DB's options,
// as Prometheus's agentOptions.ToAgentOptions does (the out-of-order window
// is the config file's, never negative).
func agentOptions(cfg *flagConfig, oooWindow int64) *agent.Options {
	if oooWindow < 0 {
		oooWindow = 0
	}
	typ := compression.None
	if cfg.agentWALCompression {
		typ = compression.Type(cfg.agentWALCompressionType)
	}
	return &agent.Options{
		WALSegmentSize:               int(cfg.agentWALSegmentSize),
		WALCompression:               typ,
		StripeSize:                   tsdb.DefaultStripeSize,
		TruncateFrequency:            time.Duration(cfg.agentTruncateFrequency),
		MinWALTime:                   time.Duration(cfg.agentMinWALTime).Milliseconds(),
		MaxWALTime:                   time.Duration(cfg.agentMaxWALTime).Milliseconds(),
		NoLockfile:                   cfg.agentNoLockfile,
		OutOfOrderTimeWindow:         oooWindow,
		CheckpointFromInMemorySeries: cfg.agentCheckpointInMemory,
		CheckpointBatchSize:          cfg.agentCheckpointBatch,
	}
}

// checkAgentFlags is Prometheus's validation of the agent flags: the batch
// size before anything starts (exit 1), the segment size when the WAL
// storage opens (a fatal error).
func checkAgentFlags(cfg *flagConfig) error {
	if cfg.agentCheckpointBatch <= 0 {
		return errors.New("--storage.agent.checkpoint-batch-size must be greater than 0.")
	}
	return nil
}

func checkAgentSegmentSize(cfg *flagConfig) error {
	if sz := cfg.agentWALSegmentSize; sz != 0 && (sz < 10*1024*1024 || sz > 256*1024*1024) {
		return errors.New("flag 'storage.agent.wal-segment-size' must be set between 10MB and 256MB")
	}
	return nil
}

// agentStorage is what the API reads in agent mode: nothing. Every query
// path answers as the agent DB does (agent.ErrUnsupported); the routes
// Prometheus's agent refuses outright never reach it (promapi's Agent).
type agentStorage struct{}

func (agentStorage) Querier(int64, int64) (promstorage.Querier, error) {
	return nil, agent.ErrUnsupported
}

func (agentStorage) ChunkQuerier(int64, int64) (promstorage.ChunkQuerier, error) {
	return nil, agent.ErrUnsupported
}

func (agentStorage) ExemplarQuerier(context.Context) (promstorage.ExemplarQuerier, error) {
	return nil, agent.ErrUnsupported
}

// runAgent is run's agent-mode half: Prometheus's agent lifecycle (web
// first, then the WAL storage, then the config, then ready; on the way out
// scraping stops, the web server drains, and the fanout closes the agent
// DB and then the remote queues, which flush for at most
// --storage.remote.flush-deadline).
func (s *server) runAgent() int {
	logger := s.logger
	b, ok := s.begin(true)
	if !ok {
		return 1
	}
	reg, cm, term, hup := b.reg, b.cm, b.term, b.hup
	wh, webErr, cancelWeb, stopWeb := b.wh, b.webErr, b.cancelWeb, b.stopWeb
	// While the WAL replays, the API answers as the startup API does.
	mountStartupAPI(s, wh, &wal.ReplayProgress{})

	// The remote storage exists before the DB (the DB asks it for the
	// lowest timestamp sent when it truncates); its start time is the DB's
	// once open, as Prometheus's readyStorage answers.
	var db atomic.Pointer[agent.DB]
	startTime := func() (int64, error) {
		if d := db.Load(); d != nil {
			return d.StartTime()
		}
		return math.MaxInt64, tsdb.ErrNotReady
	}
	ready := &readyScrape{}
	// Upstream registers a few remote-storage counters on client_golang's
	// default registry; they are forwarded into ours as in server mode.
	reg.MustRegister(remote.DefaultRegistryCounters())
	rs := upstreamremote.NewStorage(logger.With("component", "remote"), reg, startTime, s.cfg.agentPath,
		time.Duration(s.cfg.remoteFlushDeadline), ready, s.features.enableTypeAndUnitLabel)

	logger.Info("Starting WAL storage ...")
	if err := checkAgentSegmentSize(s.cfg); err != nil {
		logger.Error("Fatal error", "err", err)
		_ = rs.Close()
		stopWeb()
		return 1
	}
	aopts := agentOptions(s.cfg, s.oooWindow)
	// The feature options Prometheus passes to its agent (setFeatureListOptions).
	aopts.EnableMetadataWALRecords = s.features.appendMetadata
	aopts.EnableSTStorage = s.features.agentSTStorage
	aopts.EnableSTAsZeroSample = s.features.stZeroIngestion
	adb, err := agent.Open(logger, reg, rs, s.cfg.agentPath, aopts)
	if err != nil {
		logger.Error("Fatal error", "err", fmt.Errorf("opening storage failed: %w", err))
		_ = rs.Close()
		stopWeb()
		return 1
	}
	logger.Info("Agent WAL storage started")
	adb.SetWriteNotified(rs)
	db.Store(adb)
	fanout := promstorage.NewFanout(logger, adb, rs)
	closeStorage := func() {
		logger.Info("Stopping agent WAL storage...")
		if err := fanout.Close(); err != nil {
			logger.Error("Error stopping storage", "err", err)
		}
		logger.Info("Agent WAL storage stopped")
	}

	cs := &configState{src: s.configSrc, logger: logger, logLevel: s.cfg.promslogConfig.Level, metrics: cm, notices: s.notices, exemplarStorage: s.features.exemplarStorage}

	sdMetrics, err := discovery.CreateAndRegisterSDMetrics(reg)
	if err != nil {
		logger.Error("failed to register service discovery metrics", "err", err)
		closeStorage()
		stopWeb()
		return 1
	}
	scrapeOpts := s.features.scrape
	scrapeOpts.DiscoveryReloadInterval = s.cfg.discoveryReloadInterval
	scrapeOpts.FeatureRegistry = features.DefaultRegistry
	sm, err := scrape.New(scrape.Options{
		Logger:     logger,
		Registerer: reg,
		Appendable: fanout,
		Scrape:     scrapeOpts,
		SDMetrics:  sdMetrics,
	})
	if err != nil {
		logger.Error("failed to create a scrape manager", "err", err)
		closeStorage()
		stopWeb()
		return 1
	}
	ready.set(sm)

	mountAgentAPI(s, wh, fanout, sm, cs, reg)

	cs.reloaders = []reloader{
		{name: "remote_storage", reloader: rs.ApplyConfig},
		{name: "web_handler", reloader: func(c *config.Config) error { cs.current.Store(c); return nil }},
		{name: "scrape", reloader: sm.ApplyConfig},
		{name: "unsupported", reloader: func(c *config.Config) error { return warnUnsupportedSections(c, logger) }},
	}
	if err := cs.reload(); err != nil {
		logger.Error("Fatal error", "err", fmt.Errorf("error loading config from %q: %w", s.cfg.configFile, err))
		sm.Stop()
		stopWeb()
		closeStorage()
		return 1
	}

	scrapeErr := make(chan error, 1)
	go func() { scrapeErr <- sm.Run() }()
	wh.SetReady(web.Ready)
	s.notices.DeleteNotification(notifications.StartingUp)
	logger.Info("Server is ready to receive web requests.")

	exitCode, webStopped := s.loop(cs, wh, term, hup, webErr, scrapeErr)

	wh.SetReady(web.Stopping)
	s.notices.AddNotification(notifications.ShuttingDown)
	sm.Stop()
	if webStopped {
		cancelWeb()
	} else {
		stopWeb()
	}
	closeStorage()
	logger.Info("See you next time!")
	return exitCode
}

// mountAgentAPI serves the API as Prometheus's agent does: no engine, the
// query and TSDB endpoints refused (promapi's Agent), the status, target
// and metadata endpoints as in a server, and the remote-write and OTLP
// receivers appending to the agent's fanout (the agent has one storage:
// X-Scope-OrgID names no tenant and is not checked).
func mountAgentAPI(s *server, wh *web.Handler, fanout promstorage.Storage, sm *scrape.Manager, cs *configState, reg *prometheus.Registry) {
	appendable := func(string) (promstorage.AppendableV2, error) { return fanout, nil }
	serveAPI(s, wh, sm, cs, reg, appendable, promapi.Options{
		Agent:   true,
		Storage: func(string) (promapi.TenantStorage, error) { return agentStorage{}, nil },
		// No tenants: X-Scope-OrgID is ignored, as Prometheus ignores it.
		ValidateTenant: func(string) error { return nil },
	})
}
