package scrape

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	_ "github.com/prometheus/prometheus/discovery/install" // Every service-discovery mechanism Prometheus has.
	upstream "github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/logging"
)

// Options configures a Manager.
type Options struct {
	Logger     *slog.Logger          // nil: no logs
	Registerer prometheus.Registerer // nil: metrics are not registered anywhere
	// Appendable receives every scraped sample (the storage's default tenant).
	Appendable storage.AppendableV2
	// Scrape holds the upstream scrape options that flags and feature flags set
	// (DiscoveryReloadInterval from --scrape.discovery-reload-interval,
	// EnableTypeAndUnitLabels, ParseST, ...; FeatureRegistry is handed to the
	// discovery manager too). The zero value is Prometheus's
	// default behaviour except DiscoveryReloadInterval, which defaults to 5s
	// like the hidden flag.
	Scrape upstream.Options
	// SDMetrics are the service-discovery metrics, shared with the notifier's
	// discovery manager (they can be registered only once per registry, as in
	// Prometheus's main). Nil: created and registered on Registerer.
	SDMetrics *discovery.SDMetrics
}

// Manager runs service discovery and the scrape loops. It satisfies
// promapi.TargetRetriever.
type Manager struct {
	logger    *slog.Logger
	discovery *discovery.Manager
	scrape    *upstream.Manager
	cancelSD  context.CancelFunc

	stopOnce sync.Once
	runDone  chan struct{} // closed when Run returns
	runMu    sync.Mutex
	running  bool
}

// k8sMetricsOnce guards the process-wide Kubernetes client metrics, which the
// client-go library accepts only once per process.
var k8sMetricsOnce sync.Once

// New builds the discovery and scrape managers. Nothing runs until Run.
func New(o Options) (*Manager, error) {
	if o.Appendable == nil {
		return nil, errors.New("scrape: Options.Appendable is nil")
	}
	logger := o.Logger
	if logger == nil {
		logger = promslog.NewNopLogger()
	}
	reg := o.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry() // metrics still need a home; this one is never exposed
	}
	var k8sErr error
	k8sMetricsOnce.Do(func() { k8sErr = discovery.RegisterK8sClientMetricsWithPrometheus(reg) })
	if k8sErr != nil {
		return nil, fmt.Errorf("scrape: register kubernetes client metrics: %w", k8sErr)
	}
	sdMetrics := o.SDMetrics
	if sdMetrics == nil {
		var err error
		if sdMetrics, err = discovery.CreateAndRegisterSDMetrics(reg); err != nil {
			return nil, fmt.Errorf("scrape: register service discovery metrics: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	dmOpts := []func(*discovery.Manager){discovery.Name("scrape")}
	if o.Scrape.FeatureRegistry != nil {
		dmOpts = append(dmOpts, discovery.FeatureRegistry(o.Scrape.FeatureRegistry))
	}
	dm := discovery.NewManager(ctx, logger.With("component", "discovery manager scrape"), reg, sdMetrics, dmOpts...)
	if dm == nil {
		cancel()
		return nil, errors.New("scrape: failed to create the scrape discovery manager")
	}
	so := o.Scrape
	if so.DiscoveryReloadInterval == 0 {
		so.DiscoveryReloadInterval = model.Duration(defaultDiscoveryReloadInterval)
	}
	sm, err := upstream.NewManager(&so, logger.With("component", "scrape manager"), logging.NewJSONFileLogger, nil, o.Appendable, reg)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("scrape: create scrape manager: %w", err)
	}
	return &Manager{
		logger:    logger,
		discovery: dm,
		scrape:    sm,
		cancelSD:  cancel,
		runDone:   make(chan struct{}),
	}, nil
}

// ApplyConfig applies the scrape configs (scrape manager first) and then the
// service-discovery configs of every scrape job, exactly in the order of
// Prometheus's reloaders. Both steps are attempted; their errors are joined.
func (m *Manager) ApplyConfig(cfg *config.Config) error {
	var errs []error
	if err := m.scrape.ApplyConfig(cfg); err != nil {
		errs = append(errs, fmt.Errorf("scrape: apply scrape config: %w", err))
	}
	if err := m.applyDiscoveryConfig(cfg); err != nil {
		errs = append(errs, fmt.Errorf("scrape: apply service discovery config: %w", err))
	}
	return errors.Join(errs...)
}

func (m *Manager) applyDiscoveryConfig(cfg *config.Config) error {
	scfgs, err := cfg.GetScrapeConfigs()
	if err != nil {
		return err
	}
	c := make(map[string]discovery.Configs, len(scfgs))
	for _, v := range scfgs {
		c[v.JobName] = v.ServiceDiscoveryConfigs
	}
	return m.discovery.ApplyConfig(c)
}

// Run runs discovery and the scrape loops; it blocks until Stop.
func (m *Manager) Run() error {
	m.runMu.Lock()
	if m.running {
		m.runMu.Unlock()
		return errors.New("scrape: Run called twice")
	}
	m.running = true
	m.runMu.Unlock()
	defer close(m.runDone)

	sdErr := make(chan error, 1)
	go func() { sdErr <- m.discovery.Run() }()
	err := m.scrape.Run(m.discovery.SyncCh())
	m.logger.Info("Scrape manager stopped")
	m.cancelSD()
	// The discovery manager reports its context's cancellation, which is how
	// it is stopped; that is not a failure.
	if e := <-sdErr; e != nil && !errors.Is(e, context.Canceled) && err == nil {
		err = e
	}
	m.logger.Info("Scrape discovery manager stopped")
	return err
}

// Stop stops discovery and every scrape loop (each writes its end-of-run
// staleness markers, as in Prometheus) and waits for Run to return if it is
// running. Call it before closing the storage.
func (m *Manager) Stop() {
	m.stopOnce.Do(func() {
		m.logger.Info("Stopping scrape discovery manager...")
		m.cancelSD()
		m.logger.Info("Stopping scrape manager...")
		m.scrape.Stop()
		m.runMu.Lock()
		running := m.running
		m.runMu.Unlock()
		if running {
			<-m.runDone
		}
	})
}

// Upstream returns the upstream scrape manager, for the upstream parts that
// read target metadata from it (remote write's metadata_config.send).
func (m *Manager) Upstream() *upstream.Manager { return m.scrape }
