package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/tsdb/tsdbutil"

	"mytsdb/storage/promtsdb"
)

// DB is the set of tenants under one data directory.
type DB struct {
	opts   Options
	locker *tsdbutil.DirLocker // <Dir>/lock, as Prometheus takes it; nil with NoLockfile
	stop   chan struct{}
	done   chan struct{}
	// loopStarted is set once by Open before the maintenance loop starts.
	loopStarted bool
	// history is the Prometheus TSDB found in the data directory, served
	// read-only with the default tenant; nil if there is none.
	history *promtsdb.History
	// convertDone is closed when the history's conversion ends; nil when
	// none runs.
	convertDone chan struct{}

	mu struct {
		sync.Mutex
		tenants map[string]*Tenant
		closed  bool
	}
}

// Open opens the data directory, reopening and replaying every tenant
// directory already present (and creating the default tenant), then starts
// the retention loop. Entries of Prometheus's own TSDB (the directory may be
// the one a replaced Prometheus used) are skipped and reported in one warning.
func Open(opts Options) (*DB, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	opts.compactable = make(chan struct{}, 1)
	opts.tasks = newTaskList()
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	db := &DB{opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	db.mu.tenants = map[string]*Tenant{}
	if !opts.NoLockfile {
		// Prometheus's own lock (flock on <Dir>/lock, and its
		// prometheus_tsdb_clean_start metric): a Prometheus still running
		// on the directory, or another mytsdb, keeps us out, and we keep
		// it out.
		l, err := tsdbutil.NewDirLocker(opts.Dir, "tsdb", opts.Logger, opts.Registerer)
		if err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		if err := l.Lock(); err != nil {
			return nil, fmt.Errorf("%w: %s is in use by another process (a running Prometheus or mytsdb); stop it, or pass --storage.tsdb.no-lockfile if you know better: %w", ErrLocked, opts.Dir, err)
		}
		db.locker = l
	}
	entries, err := os.ReadDir(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	ids := []string{DefaultTenant}
	var prom promEntries
	for _, e := range entries {
		name := e.Name()
		if strings.EqualFold(name, BucketDirName) {
			continue // the Parquet tier's default bucket
		}
		if isPrometheusEntry(name) {
			prom.add(opts.Dir, name)
			continue
		}
		if e.IsDir() && name != DefaultTenant {
			if ValidateTenantID(name) != nil {
				opts.Logger.Warn("Ignoring directory that is not a tenant", "dir", name)
				continue
			}
			ids = append(ids, name)
		}
	}
	prom.warn(opts.Logger, opts.Dir)
	if promtsdb.Detect(opts.Dir) {
		h, st, err := promtsdb.Open(opts.Dir, opts.Logger.With("component", "prometheus-history"))
		switch {
		case err != nil:
			// Our own data does not depend on it: serve that.
			opts.Logger.Error("Prometheus's data in the data directory cannot be read; it is not served", "dir", opts.Dir, "err", err)
		default:
			db.history = h
			opts.Logger.Info("Prometheus's data in the data directory is served read-only with the default tenant",
				"dir", opts.Dir, "blocks", st.Blocks, "block_samples", st.BlockSamples, "wal_series", st.WALSeries,
				"wal_samples", st.WALSamples, "wal_samples_in_blocks", st.WALDropped)
		}
	}
	for _, id := range ids {
		if _, err := db.Tenant(id); err != nil {
			return nil, errors.Join(err, db.Close())
		}
	}
	db.loopStarted = true
	go db.maintenanceLoop()
	if db.history != nil && !opts.KeepPrometheusData {
		db.convertDone = make(chan struct{})
		// The metrics exist, with the parts left, before Open returns: a
		// reader of /metrics never sees 0 parts before the first is done.
		m := newConversionMetrics(db.opts.Registerer)
		m.remaining.Set(float64(len(db.history.Parts())))
		go db.convertHistory(db.Default(), db.history, m)
	}
	return db, nil
}

// promEntries collects what Open found of Prometheus's own TSDB in the data
// directory, for one warning instead of one per block.
type promEntries struct {
	names  []string // fixed names (wal, chunks_head, lock, ...) and snapshots
	blocks int      // ULID-named block directories, including temporary ones
	// oldTenants are directories with a reserved name holding a tenant
	// lock file: tenants created before the names were reserved.
	oldTenants []string
}

func (p *promEntries) add(dir, name string) {
	if name == "lock" { // Prometheus's lock, which Open has just taken.
		return
	}
	// Prometheus never puts a file named lock one level down (its lock is
	// at the top); mytsdb's tenants all have one.
	if _, err := os.Stat(filepath.Join(dir, name, "lock")); err == nil {
		p.oldTenants = append(p.oldTenants, name)
		return
	}
	if len(name) >= ulidLen && isULID(name[:ulidLen]) {
		p.blocks++
	} else {
		p.names = append(p.names, name)
	}
}

// warn logs what was found, once. Nothing of it is changed: a user who goes
// back to Prometheus finds its data as it left it (promtsdb reads it).
func (p *promEntries) warn(logger *slog.Logger, dir string) {
	if len(p.names) > 0 || p.blocks > 0 {
		logger.Warn("The data directory holds Prometheus TSDB data; mytsdb serves it read-only with the default tenant, never changes it, and keeps its own data in per-tenant subdirectories",
			"dir", dir, "entries", p.names, "blocks", p.blocks)
	}
	if len(p.oldTenants) > 0 {
		logger.Warn("Directories with names now reserved for Prometheus's TSDB look like tenants of an earlier mytsdb; they are not opened (rename them to open them again)",
			"dir", dir, "tenants", p.oldTenants)
	}
}

// Tenant returns the tenant id, opening (and creating) its directory on first use.
func (db *DB) Tenant(id string) (*Tenant, error) {
	if err := ValidateTenantID(id); err != nil {
		return nil, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.mu.closed {
		return nil, errors.New("storage: DB closed")
	}
	if t := db.mu.tenants[id]; t != nil {
		return t, nil
	}
	t, err := openTenant(db.opts, id)
	if err != nil {
		return nil, err
	}
	t.onDone = db.forget
	if id == DefaultTenant {
		t.history = db.history
	}
	db.mu.tenants[id] = t
	return t, nil
}

func (db *DB) forget(t *Tenant) {
	db.mu.Lock()
	if db.mu.tenants[t.id] == t {
		delete(db.mu.tenants, t.id)
	}
	db.mu.Unlock()
}

// Default returns the default tenant.
func (db *DB) Default() *Tenant {
	t, err := db.Tenant(DefaultTenant)
	if err != nil {
		// Only possible after Close, or if the directory became unusable.
		db.opts.Logger.Error("Opening the default tenant", "err", err)
		return nil
	}
	return t
}

// Tenants returns the IDs of the open tenants, sorted.
func (db *DB) Tenants() []string {
	db.mu.Lock()
	defer db.mu.Unlock()
	ids := make([]string, 0, len(db.mu.tenants))
	for id := range db.mu.tenants {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (db *DB) openTenants() []*Tenant {
	db.mu.Lock()
	defer db.mu.Unlock()
	ts := make([]*Tenant, 0, len(db.mu.tenants))
	for _, t := range db.mu.tenants {
		ts = append(ts, t)
	}
	return ts
}

// Maintain runs one maintenance round on every open tenant now: the head's
// past ranges cut into blocks, compactions, retention.
func (db *DB) Maintain(ctx context.Context) error {
	var errs []error
	for _, t := range db.openTenants() {
		if err := t.maintain(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (db *DB) maintenanceLoop() {
	defer close(db.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-db.stop
		cancel()
	}()
	tk := time.NewTicker(db.opts.MaintenanceInterval)
	defer tk.Stop()
	reload := time.NewTicker(db.opts.BlockReloadInterval)
	defer reload.Stop()
	// After a failed round (a full disk, say), heads asking for a cut wait
	// for the ticker, not to hammer the disk on every commit.
	var failedAt time.Time
	for {
		select {
		case <-db.stop:
			return
		case <-db.opts.compactable:
			if time.Since(failedAt) < db.opts.MaintenanceInterval {
				continue
			}
			if !db.maintainAll(ctx) {
				failedAt = time.Now()
			}
		case <-tk.C:
			if !db.maintainAll(ctx) {
				failedAt = time.Now()
			}
		case <-reload.C:
			for _, t := range db.openTenants() {
				if err := t.ReloadBlocks(); err != nil {
					db.opts.Logger.Error("Reloading blocks failed", "tenant", t.id, "err", err)
				}
			}
		}
	}
}

// maintainAll runs a round on every tenant and reports whether all went well.
func (db *DB) maintainAll(ctx context.Context) bool {
	ok := true
	for _, t := range db.openTenants() {
		if err := t.maintain(ctx); err != nil && ctx.Err() == nil {
			ok = false
			db.opts.Logger.Error("Block maintenance failed; it is retried next round", "tenant", t.id, "err", err)
		}
	}
	return ok
}

// Close stops the maintenance loop, closes every tenant and releases the
// data directory's lock.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.mu.closed {
		db.mu.Unlock()
		return nil
	}
	db.mu.closed = true
	ts := make([]*Tenant, 0, len(db.mu.tenants))
	for _, t := range db.mu.tenants {
		ts = append(ts, t)
	}
	db.mu.Unlock()
	close(db.stop)
	if db.loopStarted {
		<-db.done
	}
	if db.convertDone != nil {
		<-db.convertDone
	}
	var errs []error
	for _, t := range ts {
		if err := t.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if db.history != nil {
		if err := db.history.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if db.locker != nil {
		if err := db.locker.Release(); err != nil {
			errs = append(errs, fmt.Errorf("storage: release %s: %w", filepath.Join(db.opts.Dir, "lock"), err))
		}
	}
	return errors.Join(errs...)
}

// PrometheusDataPending reports whether a Prometheus TSDB found in the data
// directory still has parts served from its own files.
func (db *DB) PrometheusDataPending() bool {
	return db.history != nil && !db.history.Empty()
}
