// Package ruler owns recording and alerting rules and the sending of alerts
// for mytsdb: it glues the upstream rules.Manager (evaluation, ALERTS and
// ALERTS_FOR_STATE series, "for" state restored after a restart), the
// upstream notifier.Manager (queue, batching, resend, the config's
// alerting.alert_relabel_configs and external labels) and a discovery.Manager
// named "notify" (Alertmanager service discovery and relabelling) the way
// cmd/prometheus/main.go wires them, so that rules fire, resolve and reach an
// Alertmanager exactly as Prometheus's do.
//
// It adds no rule or alert logic of its own; it only applies configuration in
// Prometheus's reloader order ("notify", "notify_sd", "rules") and exposes the
// live managers to the HTTP API.
//
// Rules per tenant (Options.TenantDir) are one more upstream rules.Manager
// per tenant directory, over that tenant's storage, sharing the notifier
// and the rule metrics.
//
// What it must not touch: storage internals (rules read through a
// storage.Queryable and write through a storage.AppendableV2, the default
// tenant's or a tenant's), HTTP (promapi reads the managers through RuleGroups,
// AlertingRules, Alertmanagers and DroppedAlertmanagers) and flag parsing
// (cmd/mytsdb passes options in).
//
// Caveats: apply a configuration (the three Apply methods) before Run, as
// Prometheus loads its initial configuration before starting the rule and
// notifier managers. Stop the Ruler before the storage closes (rules append
// until then). A Ruler cannot be restarted after Stop.
package ruler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/notifier"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/features"
)

// Options configure a Ruler. Engine, Appendable, Queryable and ExternalURL
// are required.
type Options struct {
	Logger     *slog.Logger          // nil: no logs
	Registerer prometheus.Registerer // nil: metrics are not registered anywhere
	// SDMetrics are the service-discovery metrics shared with scrape
	// discovery (registered once per registry). Nil: created on Registerer.
	SDMetrics *discovery.SDMetrics
	// FeatureRegistry receives the rule manager's and the notify discovery
	// manager's features (/api/v1/features); nil: none.
	FeatureRegistry features.Collector

	Engine *promql.Engine
	// Appendable receives recording rule output and ALERTS/ALERTS_FOR_STATE;
	// Queryable is what rules query and where "for" state is restored from.
	Appendable storage.AppendableV2
	Queryable  storage.Queryable
	Parser     parser.Parser // nil: parser.NewParser(parser.Options{})

	// ExternalURL is --web.external-url: the alerts' generator URL and the
	// $externalURL of templates.
	ExternalURL *url.URL
	// NameValidationScheme is the config's global metric_name_validation_scheme
	// at start (Prometheus fixes it for the process's life).
	NameValidationScheme model.ValidationScheme
	// RuleQueryOffset is the config's global rule_query_offset at start:
	// Prometheus reads it from its startup config, so a reload does not
	// change it, and neither does it here.
	RuleQueryOffset time.Duration

	// The --rules.* flags.
	OutageTolerance    time.Duration
	ForGracePeriod     time.Duration
	ResendDelay        time.Duration
	MaxConcurrentEvals int64
	ConcurrentEvals    bool // --enable-feature=concurrent-rule-eval

	// The --alertmanager.* flags.
	QueueCapacity   int
	MaxBatchSize    int
	DrainOnShutdown bool

	// TenantDir is --rules.tenant-dir: <TenantDir>/<tenant>/*.yml and
	// *.yaml are that tenant's rules, evaluated over Tenant(tenant) (what
	// they query and what they record stay in the tenant), their alerts
	// sent through the same notifier. Empty: no tenant rules. The default
	// tenant's rules are the config's rule_files; a directory named for it
	// is an error.
	TenantDir string
	// Tenant opens a tenant's storage, validating its ID (a directory
	// name that is no valid tenant ID is an error). Required with
	// TenantDir.
	Tenant func(id string) (TenantStorage, error)
	// DefaultTenant is the default tenant's ID (refused in TenantDir).
	DefaultTenant string
}

// TenantStorage is what a tenant's rules read from and write to.
type TenantStorage interface {
	storage.AppendableV2
	storage.Queryable
}

// Ruler runs the rule manager, the notifier and Alertmanager discovery.
type Ruler struct {
	logger      *slog.Logger
	externalURL string
	rules       *rules.Manager
	notifier    *notifier.Manager
	discovery   *discovery.Manager
	cancelSD    context.CancelFunc

	// The per-tenant rule managers (Options.TenantDir), built like rules
	// but sharing its metrics (their groups' labels name their files,
	// which are under the tenant's directory) and notifier.
	tenantOpts rules.ManagerOptions
	tenantDir  string
	openTenant func(id string) (TenantStorage, error)
	defTenant  string
	engine     *promql.Engine
	mu         sync.Mutex
	tenants    map[string]*rules.Manager
	running    bool

	stopOnce sync.Once
	wg       sync.WaitGroup
	runOnce  sync.Once
}

// New builds the managers; nothing runs until Run.
func New(o Options) (*Ruler, error) {
	var errs []error
	if o.Engine == nil {
		errs = append(errs, errors.New("Options.Engine is nil"))
	}
	if o.Appendable == nil {
		errs = append(errs, errors.New("Options.Appendable is nil"))
	}
	if o.Queryable == nil {
		errs = append(errs, errors.New("Options.Queryable is nil"))
	}
	if o.ExternalURL == nil {
		errs = append(errs, errors.New("Options.ExternalURL is nil"))
	}
	if o.TenantDir != "" && o.Tenant == nil {
		errs = append(errs, errors.New("Options.Tenant is nil with a TenantDir"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ruler: %w", err)
	}
	logger := o.Logger
	if logger == nil {
		logger = promslog.NewNopLogger()
	}
	reg := o.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry() // metrics still need a home; this one is never exposed
	}
	sdMetrics := o.SDMetrics
	if sdMetrics == nil {
		var err error
		if sdMetrics, err = discovery.CreateAndRegisterSDMetrics(reg); err != nil {
			return nil, fmt.Errorf("ruler: register service discovery metrics: %w", err)
		}
	}
	scheme := o.NameValidationScheme
	if scheme == model.UnsetValidation {
		scheme = model.UTF8Validation
	}
	p := o.Parser
	if p == nil {
		p = parser.NewParser(parser.Options{})
	}

	nm := notifier.NewManager(&notifier.Options{
		QueueCapacity:   o.QueueCapacity,
		DrainOnShutdown: o.DrainOnShutdown,
		MaxBatchSize:    o.MaxBatchSize,
		Registerer:      reg,
	}, scheme, logger.With("component", "notifier"))

	ctx, cancel := context.WithCancel(context.Background())
	dmOpts := []func(*discovery.Manager){discovery.Name("notify")}
	if o.FeatureRegistry != nil {
		dmOpts = append(dmOpts, discovery.FeatureRegistry(o.FeatureRegistry))
	}
	dm := discovery.NewManager(ctx, logger.With("component", "discovery manager notify"), reg, sdMetrics, dmOpts...)
	if dm == nil {
		cancel()
		return nil, errors.New("ruler: failed to create the notify discovery manager")
	}

	externalURL := o.ExternalURL.String()
	mo := rules.ManagerOptions{
		NameValidationScheme:   scheme,
		AppendableV2:           o.Appendable,
		Queryable:              o.Queryable,
		QueryFunc:              rules.EngineQueryFunc(o.Engine, o.Queryable),
		NotifyFunc:             rules.SendAlerts(nm, externalURL),
		Context:                context.Background(),
		ExternalURL:            o.ExternalURL,
		Registerer:             reg,
		Logger:                 logger.With("component", "rule manager"),
		OutageTolerance:        o.OutageTolerance,
		ForGracePeriod:         o.ForGracePeriod,
		ResendDelay:            o.ResendDelay,
		MaxConcurrentEvals:     o.MaxConcurrentEvals,
		ConcurrentEvalsEnabled: o.ConcurrentEvals,
		FeatureRegistry:        o.FeatureRegistry,
		Parser:                 p,
		DefaultRuleQueryOffset: func() time.Duration { return o.RuleQueryOffset },
		Metrics:                rules.NewGroupMetrics(reg),
	}
	rm := rules.NewManager(&mo)
	// A tenant manager registers nothing: its metrics are mo's, and the
	// features it would announce are the same.
	mo.Registerer, mo.FeatureRegistry = nil, nil
	return &Ruler{
		logger:      logger,
		externalURL: externalURL,
		rules:       rm,
		notifier:    nm,
		discovery:   dm,
		cancelSD:    cancel,
		tenantOpts:  mo,
		tenantDir:   o.TenantDir,
		openTenant:  o.Tenant,
		defTenant:   o.DefaultTenant,
		engine:      o.Engine,
		tenants:     map[string]*rules.Manager{},
	}, nil
}

// ApplyNotifier is Prometheus's "notify" reloader: Alertmanager configs,
// alert relabelling and external labels.
func (r *Ruler) ApplyNotifier(c *config.Config) error {
	if err := r.notifier.ApplyConfig(c); err != nil {
		return fmt.Errorf("ruler: apply notifier config: %w", err)
	}
	return nil
}

// ApplyNotifierSD is Prometheus's "notify_sd" reloader.
func (r *Ruler) ApplyNotifierSD(c *config.Config) error {
	m := make(map[string]discovery.Configs)
	for k, v := range c.AlertingConfig.AlertmanagerConfigs.ToMap() {
		m[k] = v.ServiceDiscoveryConfigs
	}
	if err := r.discovery.ApplyConfig(m); err != nil {
		return fmt.Errorf("ruler: apply alertmanager discovery config: %w", err)
	}
	return nil
}

// ApplyRules is Prometheus's "rules" reloader: it loads every file the
// rule_files patterns match. A file that does not load keeps the previous
// rules running (the upstream Update changes nothing then) and its error is
// returned.
func (r *Ruler) ApplyRules(c *config.Config) error {
	var files []string
	for _, pat := range c.RuleFiles {
		fs, err := filepath.Glob(pat)
		if err != nil {
			// The only error can be a bad pattern.
			return fmt.Errorf("error retrieving rule files for %s: %w", pat, err)
		}
		files = append(files, fs...)
	}
	err := r.rules.Update(time.Duration(c.GlobalConfig.EvaluationInterval), files, c.GlobalConfig.ExternalLabels, r.externalURL, nil)
	if r.tenantDir == "" {
		return err
	}
	return errors.Join(err, r.applyTenantRules(c))
}

// applyTenantRules loads every tenant directory's rule files into that
// tenant's manager, starting managers for new directories and stopping
// those whose directory is gone. As for the config's files, a tenant
// whose files do not load keeps its previous rules, and the error is
// returned; other tenants are updated all the same.
func (r *Ruler) applyTenantRules(c *config.Config) error {
	entries, err := os.ReadDir(r.tenantDir)
	if err != nil {
		return fmt.Errorf("ruler: read tenant rule directory: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	seen := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		id := e.Name()
		if id == r.defTenant {
			errs = append(errs, fmt.Errorf("ruler: tenant rule directory %q: the default tenant's rules are the config's rule_files", id))
			continue
		}
		var files []string
		for _, ext := range []string{"*.yml", "*.yaml"} {
			fs, err := filepath.Glob(filepath.Join(r.tenantDir, id, ext))
			if err != nil {
				return fmt.Errorf("ruler: tenant %q rule files: %w", id, err)
			}
			files = append(files, fs...)
		}
		m, ok := r.tenants[id]
		if !ok {
			st, err := r.openTenant(id)
			if err != nil {
				errs = append(errs, fmt.Errorf("ruler: tenant rule directory %q: %w", id, err))
				continue
			}
			mo := r.tenantOpts
			mo.AppendableV2, mo.Queryable = st, st
			mo.QueryFunc = rules.EngineQueryFunc(r.engine, st)
			mo.Logger = r.logger.With("component", "rule manager", "tenant", id)
			m = rules.NewManager(&mo)
			r.tenants[id] = m
			if r.running {
				r.runTenant(m)
			}
		}
		seen[id] = true
		if err := m.Update(time.Duration(c.GlobalConfig.EvaluationInterval), files, c.GlobalConfig.ExternalLabels, r.externalURL, nil); err != nil {
			errs = append(errs, fmt.Errorf("tenant %q: %w", id, err))
		}
	}
	for id, m := range r.tenants {
		if !seen[id] {
			r.stopTenant(m)
			delete(r.tenants, id)
		}
	}
	return errors.Join(errs...)
}

// runTenant runs a tenant's manager until Stop (r.mu held).
func (r *Ruler) runTenant(m *rules.Manager) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		m.Run()
	}()
}

// stopTenant stops a tenant's manager (r.mu held); one never run is run
// first, for the reason Stop runs the config's manager.
func (r *Ruler) stopTenant(m *rules.Manager) {
	if !r.running {
		r.runTenant(m)
	}
	m.Stop()
}

// Tenant returns the rule manager of a tenant of TenantDir, nil if it has
// none (backs /api/v1/rules and /api/v1/alerts for that tenant).
func (r *Ruler) Tenant(id string) *rules.Manager {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tenants[id]
}

// Run starts discovery, the notifier and rule evaluation, and returns at
// once; Stop ends them.
func (r *Ruler) Run() {
	r.runOnce.Do(func() {
		r.wg.Add(3)
		go func() {
			defer r.wg.Done()
			if err := r.discovery.Run(); err != nil && !errors.Is(err, context.Canceled) {
				r.logger.Error("Notify discovery manager stopped", "err", err)
				return
			}
			r.logger.Info("Notify discovery manager stopped")
		}()
		go func() {
			defer r.wg.Done()
			r.notifier.Run(r.discovery.SyncCh())
			r.logger.Info("Notifier manager stopped")
		}()
		go func() {
			defer r.wg.Done()
			r.rules.Run()
			r.logger.Info("Rule manager stopped")
		}()
		r.mu.Lock()
		r.running = true
		for _, m := range r.tenants {
			r.runTenant(m)
		}
		r.mu.Unlock()
	})
}

// Stop stops rule evaluation first (so that nothing is sent to a stopped
// notifier, which upstream cannot take), then the notifier (draining its
// queue with --alertmanager.drain-notification-queue-on-shutdown) and
// discovery, and waits for them.
func (r *Ruler) Stop() {
	r.stopOnce.Do(func() {
		// Rule groups loaded but never started would keep the upstream Stop
		// waiting for them: release them (each returns at once, as it is
		// already told to stop) when Run was never called.
		r.runOnce.Do(func() {
			r.wg.Add(1)
			go func() { defer r.wg.Done(); r.rules.Run() }()
		})
		r.logger.Info("Stopping rule manager manager...")
		r.rules.Stop()
		r.mu.Lock()
		for _, m := range r.tenants {
			r.stopTenant(m)
		}
		r.tenants = map[string]*rules.Manager{}
		r.mu.Unlock()
		r.logger.Info("Stopping notifier manager...")
		r.notifier.Stop()
		r.logger.Info("Stopping notify discovery manager...")
		r.cancelSD()
		r.wg.Wait()
	})
}

// RuleGroups and AlertingRules back /api/v1/rules and /api/v1/alerts.
func (r *Ruler) RuleGroups() []*rules.Group { return r.rules.RuleGroups() }

// AlertingRules returns the loaded alerting rules.
func (r *Ruler) AlertingRules() []*rules.AlertingRule { return r.rules.AlertingRules() }

// Alertmanagers and DroppedAlertmanagers back /api/v1/alertmanagers.
func (r *Ruler) Alertmanagers() []*url.URL { return r.notifier.Alertmanagers() }

// DroppedAlertmanagers returns the Alertmanagers relabelling dropped.
func (r *Ruler) DroppedAlertmanagers() []*url.URL { return r.notifier.DroppedAlertmanagers() }
