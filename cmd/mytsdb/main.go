package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/grafana/regexp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"
	toolkit "github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/util/documentcli"
	"github.com/prometheus/prometheus/util/features"
	"github.com/prometheus/prometheus/util/notifications"
	promruntime "github.com/prometheus/prometheus/util/runtime"
	"go.yaml.in/yaml/v2"

	"mytsdb/scrape"
	"mytsdb/storage/wal"
	"mytsdb/web"
)

const appName = "mytsdb"

func init() {
	// As in Prometheus: metric and label names are UTF-8 by default.
	model.NameValidationScheme = model.UTF8Validation //nolint:staticcheck
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "tsdb" {
		os.Exit(runTSDB(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(run(os.Args[1:]))
}

// run is main without os.Exit, returning the process exit code. The codes
// follow Prometheus: 2 for bad flags or an invalid config at start, 3 for
// agent/server-only flag misuse, 1 for runtime failures.
func run(args []string) int {
	cfg := &flagConfig{}
	a := kingpin.New(filepath.Base(os.Args[0]), "mytsdb, a drop-in replacement for the Prometheus monitoring server").UsageWriter(os.Stdout)
	a.Version(version.Print(appName))
	a.HelpFlag.Short('h')
	fs := defineFlags(a, cfg)
	a.Flag("write-documentation", "Generate command line documentation. Internal use.").Hidden().Action(func(*kingpin.ParseContext) error {
		if err := documentcli.GenerateMarkdown(a.Model(), os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
		return nil
	}).Bool()

	if _, err := a.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "Error parsing command line arguments: %s\n", err)
		a.Usage(args)
		return 2
	}

	logger := promslog.New(&cfg.promslogConfig)
	slog.SetDefault(logger)
	// The CLI log level is the default when runtime.log_level is absent.
	config.DefaultRuntimeConfig.LogLevel = config.LogLevel(cfg.promslogConfig.Level.String())
	config.DefaultConfig.Runtime = config.DefaultRuntimeConfig

	feats, err := parseFeatures(cfg.featureList, cfg, logger)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error parsing feature list: %s\n", err)
		return 1
	}
	fs.warnNotHonoured(logger.Warn)
	if cfg.enableAutoReload {
		if time.Duration(cfg.autoReloadInterval) < time.Second {
			cfg.autoReloadInterval = model.Duration(time.Second)
		}
		logger.Info("Automatic configuration file reloading enabled", "interval", cfg.autoReloadInterval)
	}
	if cfg.searchMaxLimit < 0 {
		fmt.Fprintf(os.Stderr, "--web.search.max-limit must be non-negative; got %d (use 0 to disable the cap)\n", cfg.searchMaxLimit)
		return 1
	}
	if cfg.agentMode && len(fs.serverOnlySet) > 0 {
		fmt.Fprintf(os.Stderr, "The following flag(s) can not be used in agent mode: %q", fs.serverOnlySet)
		return 3
	}
	if !cfg.agentMode && len(fs.agentOnlySet) > 0 {
		fmt.Fprintf(os.Stderr, "The following flag(s) can only be used in agent mode: %q", fs.agentOnlySet)
		return 3
	}
	if cfg.agentMode {
		if err := checkAgentFlags(cfg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if cfg.memlimitRatio <= 0.0 || cfg.memlimitRatio > 1.0 {
		fmt.Fprint(os.Stderr, "--auto-gomemlimit.ratio must be greater than 0 and less than or equal to 1.")
		return 1
	}
	externalURL, err := computeExternalURL(cfg.externalURL, cfg.listenAddresses[0], cfg.webConfigFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, fmt.Errorf("parse external URL %q: %w", cfg.externalURL, err))
		return 2
	}
	cors, err := relabel.NewRegexp(cfg.corsOrigin)
	if err != nil {
		fmt.Fprintln(os.Stderr, fmt.Errorf("could not compile CORS regex string %q: %w", cfg.corsOrigin, err))
		return 2
	}
	routePrefix := cfg.routePrefix
	if routePrefix == "" {
		routePrefix = externalURL.Path
	}
	routePrefix = "/" + strings.Trim(routePrefix, "/")

	// Retention: the flags give the default, the config file overrides it.
	cliRetention := cfg.retentionTime
	if cliRetention == 0 && cfg.retentionSize == 0 {
		cliRetention, _ = model.ParseDuration(defaultRetentionString)
	}
	config.DefaultTSDBRetentionConfig = config.TSDBRetentionConfig{Time: cliRetention, Size: cfg.retentionSize}

	selfTarget, err := selfScrapeTarget(cfg.listenAddresses[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	selfScheme := "http"
	if webConfigHasTLS(cfg.webConfigFile) {
		selfScheme = "https"
	}
	src := configSource{
		file:       cfg.configFile,
		explicit:   fs.explicit["config.file"],
		selfTarget: selfTarget,
		selfScheme: selfScheme,
		selfPath:   path.Join(routePrefix, "/metrics"),
		agent:      cfg.agentMode,
	}
	// Validate the configuration before starting anything, as Prometheus does.
	cfgFile, _, err := src.load(promslog.NewNopLogger())
	if err == nil {
		_, err = cfgFile.GetScrapeConfigs()
	}
	if err != nil {
		absPath, pathErr := filepath.Abs(cfg.configFile)
		if pathErr != nil {
			absPath = cfg.configFile
		}
		logger.Error(fmt.Sprintf("Error loading config (--config.file=%s)", cfg.configFile), "file", absPath, "err", err)
		return 2
	}
	// Parse rule files to verify they exist and contain valid rules, as
	// Prometheus does before starting anything.
	if err := rules.ParseFiles(cfgFile.RuleFiles, cfgFile.GlobalConfig.MetricNameValidationScheme, parser.NewParser(feats.parser), logger); err != nil {
		absPath, pathErr := filepath.Abs(cfg.configFile)
		if pathErr != nil {
			absPath = cfg.configFile
		}
		logger.Error(fmt.Sprintf("Error loading rule file patterns from config (--config.file=%q)", cfg.configFile), "file", absPath, "err", err)
		return 2
	}
	retention := time.Duration(cfgFile.StorageConfig.TSDBConfig.Retention.Time)
	if retention < 0 { // overflow: Prometheus caps at 100y
		y, _ := model.ParseDuration("100y")
		retention = time.Duration(y)
		logger.Warn("Time retention value is too high. Limiting to: " + y.String())
	}
	// Like Prometheus, the flag variables end up holding the effective
	// values, which /api/v1/status/flags shows.
	cfg.routePrefix = routePrefix
	cfg.retentionTime = model.Duration(retention)
	if cfg.maxBlockDuration == 0 && !cfg.agentMode { // as Prometheus: a server's setting
		maxBlock, _ := model.ParseDuration("31d")
		if retention != 0 && model.Duration(retention/10) < maxBlock {
			maxBlock = model.Duration(retention / 10)
		}
		cfg.maxBlockDuration = maxBlock
	}
	retentionSize := int64(cfgFile.StorageConfig.TSDBConfig.Retention.Size)
	if sz := int64(cfg.walSegmentSize); sz != 0 && (sz < 10*1024*1024 || sz > 256*1024*1024) {
		logger.Error("Fatal error", "err", errors.New("flag 'storage.tsdb.wal-segment-size' must be set between 10MB and 256MB"))
		return 1
	}

	tier, err := parseTierConfig(cfg, retention, logger.With("component", "parquet"))
	if err != nil {
		logger.Error("Error loading the Parquet tier configuration", "err", err)
		return 2
	}

	var chunkRange int64
	if fs.explicit["storage.tsdb.min-block-duration"] {
		chunkRange = time.Duration(cfg.minBlockDuration).Milliseconds()
	}

	updateGoGC(cfgFile, logger)
	setGoMaxProcs(cfg.maxprocsEnable, logger)
	setGoMemLimit(cfg.memlimitEnable, cfg.memlimitRatio, time.Duration(cfg.memlimitRefresh), logger)

	mode := "server"
	if cfg.agentMode {
		mode = "agent"
	}
	logger.Info("Starting mytsdb", "mode", mode, "version", version.Info())
	logger.Info("operational information",
		"build_context", version.BuildContext(),
		"host_details", promruntime.Uname(),
		"fd_limits", promruntime.FdLimits(),
		"vm_limits", promruntime.VMLimits(),
	)

	setFeatures(cfg, feats)

	s := &server{
		cfg:          cfg,
		flags:        flagsMap(a),
		features:     feats,
		logger:       logger,
		externalURL:  externalURL,
		routePrefix:  routePrefix,
		retention:    retention,
		oooWindow:    cfgFile.StorageConfig.TSDBConfig.OutOfOrderTimeWindow,
		maxExemplars: maxExemplars(feats.exemplarStorage, cfgFile),
		chunkRange:   chunkRange,
		maxBlock:     time.Duration(cfg.maxBlockDuration).Milliseconds(),
		retentionSz:  retentionSize,
		tier:         tier,
		parser:       parser.NewParser(feats.parser),
		cors:         cors.Regexp,
		configSrc:    src,
		nameScheme:   cfgFile.GlobalConfig.MetricNameValidationScheme,
		ruleOffset:   time.Duration(cfgFile.GlobalConfig.RuleQueryOffset),
	}
	if cfg.agentMode {
		return s.runAgent()
	}
	return s.run()
}

// server holds the running components.
type server struct {
	cfg         *flagConfig
	flags       map[string]string
	features    featureOpts
	logger      *slog.Logger
	externalURL *url.URL
	routePrefix string
	retention   time.Duration
	oooWindow   int64
	// maxExemplars is the exemplar storage size: -1 (off) unless
	// --enable-feature=exemplar-storage, as in Prometheus.
	maxExemplars int
	chunkRange   int64 // ms; 0 = storage default (2h)
	// replayProgress is the default tenant's WAL replay, shown while the
	// storage opens.
	replayProgress *wal.ReplayProgress
	maxBlock       int64 // --storage.tsdb.max-block-duration (effective), ms
	retentionSz    int64 // size retention in bytes, 0 = off
	tier           tierConfig
	parser         parser.Parser
	cors           *regexp.Regexp // --web.cors.origin, anchored
	configSrc      configSource
	notices        *notifications.Notifications
	// The startup config's name validation scheme and rule_query_offset,
	// which Prometheus's rule manager and notifier keep for the process's life.
	nameScheme model.ValidationScheme
	ruleOffset time.Duration
}

// begun is what both modes start the same way.
type begun struct {
	reg                *prometheus.Registry
	cm                 *configMetrics
	term, hup          chan os.Signal
	wh                 *web.Handler
	webErr             <-chan error
	cancelWeb, stopWeb func()
}

// begin is the start server and agent mode share, in Prometheus's order:
// the registry, the UI's notices (/api/v1/notifications, raised where
// Prometheus raises them), the reload metrics set now that the config is
// known to be valid (so they do not read 0 during a long startup), the
// signal channels, and the web server, so that /-/healthy answers while
// the storage opens.
func (s *server) begin(agent bool) (begun, bool) {
	b := begun{reg: newRegistry()}
	b.cm = newConfigMetrics(b.reg)
	s.notices = notifications.NewNotifications(s.cfg.webMaxNotifSubs, b.reg)
	s.notices.AddNotification(notifications.StartingUp)
	b.cm.success.Set(1)
	b.cm.successTime.SetToCurrentTime()

	b.term = make(chan os.Signal, 1)
	signal.Notify(b.term, os.Interrupt, syscall.SIGTERM)
	b.hup = make(chan os.Signal, 1)
	signal.Notify(b.hup, syscall.SIGHUP)

	var ok bool
	b.wh, b.webErr, b.cancelWeb, b.stopWeb, ok = startWeb(s, s.logger, b.reg, agent)
	return b, ok
}

// run starts the components in Prometheus's order (web server first so
// /-/healthy answers while the storage replays its WAL; ready only once the
// storage is open and the configuration applied), handles signals, reloads
// and /-/quit, and shuts down in dependency order: scraping stops (writing
// its staleness markers), the web server drains, then the storage closes.
func (s *server) run() int {
	logger := s.logger
	b, ok := s.begin(false)
	if !ok {
		return 1
	}
	reg, cm, term, hup := b.reg, b.cm, b.term, b.hup
	wh, webErr, cancelWeb, stopWeb := b.wh, b.webErr, b.cancelWeb, b.stopWeb

	s.replayProgress = &wal.ReplayProgress{}
	mountStartupAPI(s, wh, s.replayProgress)
	logger.Info("Starting TSDB ...")
	st, err := openStorage(s, reg)
	if err != nil {
		logger.Error("Fatal error", "err", fmt.Errorf("opening storage failed: %w", err))
		stopWeb()
		return 1
	}
	logger.Info("TSDB started")

	cs := &configState{src: s.configSrc, logger: logger, logLevel: s.cfg.promslogConfig.Level, metrics: cm, notices: s.notices, exemplarStorage: s.features.exemplarStorage}
	cs.noStepSubqueryInterval.Store(time.Duration(config.DefaultGlobalConfig.EvaluationInterval).Milliseconds())

	tracker, err := promql.NewActiveQueryTracker(activeQueryDir(s.cfg.storagePath), s.cfg.queryConcurrency, logger.With("component", "activeQueryTracker"))
	if err != nil {
		logger.Error("failed to initialize active query tracker", "err", err)
		st.close(logger)
		stopWeb()
		return 1
	}
	engine := newEngine(s.cfg, s.features, s.parser, tracker, func(int64) int64 { return cs.noStepSubqueryInterval.Load() }, logger, reg)

	// The service-discovery metrics register once; scrape and Alertmanager
	// discovery share them, as in Prometheus's main.
	sdMetrics, err := discovery.CreateAndRegisterSDMetrics(reg)
	if err != nil {
		logger.Error("failed to register service discovery metrics", "err", err)
		tracker.Close()
		st.close(logger)
		stopWeb()
		return 1
	}
	ready := &readyScrape{}
	rem, err := openRemote(s, st, ready, reg)
	if err != nil {
		logger.Error("failed to create the remote storage", "err", err)
		tracker.Close()
		st.close(logger)
		stopWeb()
		return 1
	}
	st.queryDefault = rem.Fanout()
	closeRemote := func() {
		if err := rem.Close(); err != nil {
			logger.Error("Error stopping remote storage", "err", err)
		}
	}

	scrapeOpts := s.features.scrape
	scrapeOpts.DiscoveryReloadInterval = s.cfg.discoveryReloadInterval
	scrapeOpts.FeatureRegistry = features.DefaultRegistry
	sm, err := scrape.New(scrape.Options{
		Logger:     logger,
		Registerer: reg,
		// Through the fanout, as in Prometheus: the remote queues learn the
		// ingestion rate they shard by.
		Appendable: scrapeAppendable(rem.Fanout(), s.features.appendMetadata),
		Scrape:     scrapeOpts,
		SDMetrics:  sdMetrics,
	})
	if err != nil {
		logger.Error("failed to create a scrape manager", "err", err)
		tracker.Close()
		closeRemote()
		st.close(logger)
		stopWeb()
		return 1
	}
	ready.set(sm)

	rl, err := newRuler(s, st, engine, sdMetrics, reg)
	if err != nil {
		logger.Error("failed to create the rule manager", "err", err)
		sm.Stop()
		tracker.Close()
		closeRemote()
		st.close(logger)
		stopWeb()
		return 1
	}

	if err := mountAPI(s, wh, st, engine, sm, rl, cs, reg); err != nil {
		logger.Error("failed to create the HTTP API", "err", err)
		rl.Stop()
		tracker.Close()
		closeRemote()
		st.close(logger)
		stopWeb()
		return 1
	}

	cs.reloaders = []reloader{
		{name: "db_storage", reloader: st.applyConfig},
		{name: "remote_storage", reloader: rem.ApplyConfig},
		{name: "web_handler", reloader: func(c *config.Config) error { cs.current.Store(c); return nil }},
		{name: "query_engine", reloader: queryEngineReloader(engine, s.features.queryCost)},
		{name: "scrape", reloader: sm.ApplyConfig}, // scrape configs, then service discovery
		{name: "notify", reloader: rl.ApplyNotifier},
		{name: "notify_sd", reloader: rl.ApplyNotifierSD},
		{name: "rules", reloader: rl.ApplyRules},
		{name: "unsupported", reloader: func(c *config.Config) error { return warnUnsupportedSections(c, logger) }},
	}
	if err := cs.reload(); err != nil {
		logger.Error("Fatal error", "err", fmt.Errorf("error loading config from %q: %w", s.cfg.configFile, err))
		sm.Stop()
		rl.Stop()
		stopWeb()
		tracker.Close()
		closeRemote()
		st.close(logger)
		return 1
	}

	scrapeErr := make(chan error, 1)
	go func() { scrapeErr <- sm.Run() }()
	rl.Run()
	wh.SetReady(web.Ready)
	s.notices.DeleteNotification(notifications.StartingUp)
	logger.Info("Server is ready to receive web requests.")

	exitCode, webStopped := s.loop(cs, wh, term, hup, webErr, scrapeErr)

	wh.SetReady(web.Stopping)
	s.notices.AddNotification(notifications.ShuttingDown)
	sm.Stop()
	rl.Stop() // rules append until they stop: before the storage closes
	if webStopped {
		cancelWeb()
	} else {
		stopWeb()
	}
	if err := tracker.Close(); err != nil {
		logger.Warn("Closing the active query tracker", "err", err)
	}
	// The queues flush (for at most --storage.remote.flush-deadline) while
	// the WAL they read is still open.
	logger.Info("Stopping remote storage...")
	closeRemote()
	logger.Info("Stopping storage...")
	st.close(logger)
	logger.Info("See you next time!")
	return exitCode
}

// loop serves signals, reload requests and component failures until it is
// time to stop; it returns the process exit code and whether the web server
// has already stopped (failed).
func (s *server) loop(cs *configState, wh *web.Handler, term, hup <-chan os.Signal, webErr, scrapeErr <-chan error) (int, bool) {
	logger := s.logger
	var checksum string
	var tick <-chan time.Time
	if s.cfg.enableAutoReload {
		var err error
		if checksum, err = cs.checksum(); err != nil {
			logger.Error("Failed to generate initial checksum for configuration file", "err", err)
		}
		t := time.NewTicker(time.Duration(s.cfg.autoReloadInterval))
		defer t.Stop()
		tick = t.C
	}
	afterReload := func() {
		if !s.cfg.enableAutoReload {
			return
		}
		c, err := cs.checksum()
		if err != nil {
			logger.Error("Failed to generate checksum during configuration reload", "err", err)
			return
		}
		checksum = c
	}
	for {
		select {
		case sig := <-term:
			logger.Warn("Received an OS signal, exiting gracefully...", "signal", sig.String())
			return 0, false
		case <-wh.Quit():
			logger.Warn("Received termination request via web service, exiting gracefully...")
			return 0, false
		case <-hup:
			if err := cs.reload(); err != nil {
				logger.Error("Error reloading config, the previous configuration stays in effect", "err", err)
			} else {
				afterReload()
			}
		case rc := <-wh.Reload():
			if err := cs.reload(); err != nil {
				logger.Error("Error reloading config, the previous configuration stays in effect", "err", err)
				rc <- err
			} else {
				rc <- nil
				afterReload()
			}
		case <-tick:
			current, err := cs.checksum()
			if err != nil {
				logger.Error("Failed to generate checksum during configuration reload", "err", err)
				continue
			}
			if current == checksum {
				continue
			}
			logger.Info("Configuration file change detected, reloading the configuration.")
			if err := cs.reload(); err != nil {
				// The checksum stays the old one, so the next tick retries
				// (as Prometheus: a file fixed or not, the error is repeated
				// until a reload succeeds).
				logger.Error("Error reloading config, the previous configuration stays in effect", "err", err)
				continue
			}
			checksum = current
		case err := <-webErr:
			logger.Error("Fatal error", "err", fmt.Errorf("error starting web server: %w", err))
			return 1, true
		case err := <-scrapeErr:
			if err != nil {
				logger.Error("Fatal error", "err", fmt.Errorf("scrape manager: %w", err))
				return 1, false
			}
			return 0, false
		}
	}
}

// maxExemplars mirrors Prometheus: exemplars are stored only with
// --enable-feature=exemplar-storage, sized by storage.exemplars.max_exemplars.
func maxExemplars(enabled bool, c *config.Config) int {
	if !enabled {
		return -1
	}
	if c.StorageConfig.ExemplarsConfig == nil {
		return int(config.DefaultExemplarsConfig.MaxExemplars)
	}
	return int(c.StorageConfig.ExemplarsConfig.MaxExemplars)
}

// computeExternalURL mirrors Prometheus: derived from the hostname and the
// first listen port when --web.external-url is empty.
func computeExternalURL(u, listenAddr, webConfigFile string) (*url.URL, error) {
	if u == "" {
		hostname, err := os.Hostname()
		if err != nil {
			return nil, err
		}
		_, port, err := net.SplitHostPort(listenAddr)
		if err != nil {
			return nil, err
		}
		scheme := "http"
		if webConfigHasTLS(webConfigFile) {
			scheme = "https"
		}
		u = fmt.Sprintf("%s://%s:%s/", scheme, hostname, port)
	}
	if strings.HasPrefix(u, "\"") || strings.HasPrefix(u, "'") || strings.HasSuffix(u, "\"") || strings.HasSuffix(u, "'") {
		return nil, errors.New("URL must not begin or end with quotes")
	}
	eu, err := url.Parse(u)
	if err != nil {
		return nil, err
	}
	ppref := strings.TrimRight(eu.Path, "/")
	if ppref != "" && !strings.HasPrefix(ppref, "/") {
		ppref = "/" + ppref
	}
	eu.Path = ppref
	return eu, nil
}

func webConfigHasTLS(path string) bool {
	if path == "" {
		return false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var c toolkit.Config
	if err := yaml.Unmarshal(data, &c); err != nil {
		return false
	}
	return c.TLSConfig.IsEnabled()
}
