package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	promstorage "github.com/prometheus/prometheus/storage"

	"mytsdb/storage/head"
	"mytsdb/storage/wal"
)

// Tenant is one tenant's storage: its WAL, head and directory lock.
// It implements the upstream storage.Storage and storage.ExemplarQueryable.
type Tenant struct {
	id     string
	dir    string
	lock   *dirLock
	wal    *wal.WAL
	head   *head.Head
	onDone func(*Tenant) // tells the DB it closed

	mu struct {
		sync.Mutex
		closed bool
	}
}

// openTenant locks <opts.Dir>/<id>, opens its WAL and replays it.
func openTenant(opts Options, id string) (_ *Tenant, err error) {
	if err := ValidateTenantID(id); err != nil {
		return nil, err
	}
	dir := filepath.Join(opts.Dir, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: tenant %s: %w", id, err)
	}
	lk, err := lockFile(filepath.Join(dir, "lock"))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = lk.release()
		}
	}()
	reg := opts.Registerer
	logger := opts.Logger.With("tenant", id)
	if reg != nil && id != DefaultTenant {
		reg = newUncheckedRegisterer(prometheus.WrapRegistererWith(prometheus.Labels{"tenant": id}, reg))
	}
	w, err := wal.Open(wal.Options{
		Dir:          filepath.Join(dir, "wal"),
		SegmentSize:  opts.WALSegmentSize,
		Sync:         opts.WALSync,
		SyncInterval: opts.WALSyncInterval,
		Writer:       opts.WALWriter,
		Logger:       logger,
		Registerer:   reg,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: tenant %s: open WAL: %w", id, err)
	}
	h, err := head.New(head.Options{
		WAL:                  w,
		OutOfOrderTimeWindow: opts.OutOfOrderTimeWindow,
		Logger:               logger,
		Registerer:           reg,
		MaxExemplars:         opts.MaxExemplars,
		ChunkRange:           opts.ChunkRange,
	})
	if err == nil {
		err = h.ReplayWAL()
		if err != nil {
			_ = h.Close()
		}
	}
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("storage: tenant %s: %w", id, err)
	}
	return &Tenant{id: id, dir: dir, lock: lk, wal: w, head: h}, nil
}

// ID returns the tenant ID.
func (t *Tenant) ID() string { return t.id }

// Head returns the tenant's head.
func (t *Tenant) Head() *head.Head { return t.head }

// Appender implements storage.Appendable.
func (t *Tenant) Appender(ctx context.Context) promstorage.Appender { return t.head.Appender(ctx) }

// AppenderV2 implements storage.AppendableV2.
func (t *Tenant) AppenderV2(ctx context.Context) promstorage.AppenderV2 {
	return t.head.AppenderV2(ctx)
}

// Querier implements storage.Queryable.
func (t *Tenant) Querier(mint, maxt int64) (promstorage.Querier, error) {
	return t.head.Querier(mint, maxt)
}

// ChunkQuerier implements storage.ChunkQueryable.
func (t *Tenant) ChunkQuerier(mint, maxt int64) (promstorage.ChunkQuerier, error) {
	return t.head.ChunkQuerier(mint, maxt)
}

// ExemplarQuerier implements storage.ExemplarQueryable.
func (t *Tenant) ExemplarQuerier(ctx context.Context) (promstorage.ExemplarQuerier, error) {
	return t.head.ExemplarQuerier(ctx)
}

// StartTime implements storage.Storage: the oldest timestamp held
// (math.MaxInt64 when empty, like Prometheus's head).
func (t *Tenant) StartTime() (int64, error) { return t.head.MinTime(), nil }

// Truncate drops data older than mint (retention).
func (t *Tenant) Truncate(mint int64) error { return t.head.Truncate(mint) }

// Close closes the head and the WAL and releases the lock. Committed data
// is in the WAL; nothing else needs flushing.
func (t *Tenant) Close() error {
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return nil
	}
	t.mu.closed = true
	t.mu.Unlock()
	err := errors.Join(t.head.Close(), t.wal.Close(), t.lock.release())
	if t.onDone != nil {
		t.onDone(t)
	}
	if err != nil {
		return fmt.Errorf("storage: close tenant %s: %w", t.id, err)
	}
	return nil
}

var (
	_ promstorage.Storage           = (*Tenant)(nil)
	_ promstorage.ExemplarQueryable = (*Tenant)(nil)
)
