package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"
	promstorage "github.com/prometheus/prometheus/storage"

	"mytsdb/storage/wal"
)

// excludedPromQLFiles: see storage/head/promql_test.go for the same list.
var excludedPromQLFiles = map[string]string{
	"testdata/start_timestamps.test": "start timestamps (ST) are not stored by the head or the WAL yet",
}

type excludingT struct {
	*testing.T
	seen     map[string]bool
	excluded map[string]string // nil: excludedPromQLFiles
}

func (e excludingT) Run(name string, f func(*testing.T)) bool {
	ex := e.excluded
	if ex == nil {
		ex = excludedPromQLFiles
	}
	if _, ok := ex[name]; ok {
		e.seen[name] = true
		return true
	}
	return e.T.Run(name, f)
}

// TestPromQLBuiltinOnTenant runs Prometheus's PromQL test suite on a fresh
// Tenant (WAL, lock and head) per test file.
func TestPromQLBuiltinOnTenant(t *testing.T) {
	engine := promqltest.NewTestEngine(t, false, 0, 50000000)
	et := excludingT{T: t, seen: map[string]bool{}}
	promqltest.RunBuiltinTestsWithStorage(et, engine, func(tb testing.TB) promstorage.Storage {
		db, err := Open(Options{
			Dir:        tb.TempDir(),
			WALSync:    wal.SyncInterval,    // The suite needs no fsync per load.
			ChunkRange: 24 * 60 * 60 * 1000, // Like upstream's teststorage.
		})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = db.Close() })
		tn, err := db.Tenant("promql")
		if err != nil {
			tb.Fatal(err)
		}
		return tn
	})
	for name, why := range excludedPromQLFiles {
		if !et.seen[name] {
			t.Errorf("excluded file %s (%s) is not in the upstream suite any more", name, why)
		}
	}
}

// cuttingTenant is a tenant whose every commit is followed by a maintenance
// round, so that the data a PromQL test loads is cut into blocks (and
// compacted) before the test queries it.
type cuttingTenant struct {
	*Tenant
	tb testing.TB
}

func (c cuttingTenant) Appender(ctx context.Context) promstorage.Appender {
	return cuttingAppender{Appender: c.Tenant.Appender(ctx), c: c}
}

type cuttingAppender struct {
	promstorage.Appender
	c cuttingTenant
}

func (a cuttingAppender) Commit() error {
	if err := a.Appender.Commit(); err != nil {
		return err
	}
	if err := a.c.Maintain(context.Background()); err != nil {
		a.c.tb.Errorf("maintenance after a load: %v", err)
	}
	return nil
}

// excludedOverBlocks are the files that cannot pass over blocks for a
// reason of the test, not of the storage; each still runs in
// TestPromQLBuiltinOnTenant.
var excludedOverBlocks = map[string]string{
	"testdata/start_timestamps.test": excludedPromQLFiles["testdata/start_timestamps.test"],
	// A block boundary starts a chunk, and a histogram chunk's first
	// sample reads back with an unknown counter-reset hint (Prometheus's
	// chunk format, and its own blocks behave the same): evaluations at
	// 5m, 10m, ... expect not_reset hints and the warnings derived from
	// them, which only a single head chunk gives.
	"testdata/native_histograms.test": "counter-reset hints at block boundaries (see above)",
}

// TestPromQLBuiltinOverBlocks runs Prometheus's PromQL test suite on a
// tenant with 5-minute blocks cut after every load, so that the queries
// read blocks, compacted blocks and the head merged. The out-of-order
// window lets a later load write before what an earlier one had cut (those
// samples become overlapping blocks that compaction merges).
func TestPromQLBuiltinOverBlocks(t *testing.T) {
	engine := promqltest.NewTestEngine(t, false, 0, 50000000)
	et := excludingT{T: t, seen: map[string]bool{}, excluded: excludedOverBlocks}
	var blocks, compacted int // over all files, when each storage is dropped
	promqltest.RunBuiltinTestsWithStorage(et, engine, func(tb testing.TB) promstorage.Storage {
		db, err := Open(Options{
			Dir:                  tb.TempDir(),
			WALSync:              wal.SyncInterval,
			ChunkRange:           5 * 60 * 1000,
			OutOfOrderTimeWindow: 100 * 365 * 24 * 3600 * 1000,
			MaintenanceInterval:  time.Hour,
			RetentionDuration:    100 * 365 * 24 * time.Hour,
		})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = db.Close() })
		tn, err := db.Tenant("promql")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			for _, m := range tn.Blocks() {
				blocks++
				if m.Compaction.Level > 1 {
					compacted++
				}
			}
		})
		return cuttingTenant{Tenant: tn, tb: tb}
	})
	for name := range excludedOverBlocks {
		if !et.seen[name] {
			t.Errorf("excluded file %s is not in the upstream suite any more", name)
		}
	}
	t.Logf("the suite ran over %d blocks, %d of them compacted", blocks, compacted)
	if blocks < 100 || compacted < 10 {
		t.Errorf("the suite ran over %d blocks, %d compacted: too few to say it read blocks", blocks, compacted)
	}
}

// snapshotStorage takes the loads of a PromQL test into a tenant and, after
// each, serves every query from a snapshot of that tenant with its head,
// opened as a data directory of its own: what the queries read is then all
// in blocks (the head's data written by the block writer in mytsdb's codec,
// earlier cut blocks hard-linked), none in a head.
type snapshotStorage struct {
	*Tenant
	db   *DB
	tb   testing.TB
	n    int
	snap *DB
	from *Tenant // the snapshot's tenant; nil before the first load
}

func (s *snapshotStorage) Appender(ctx context.Context) promstorage.Appender {
	return snapshotAppender{Appender: s.Tenant.Appender(ctx), s: s}
}

type snapshotAppender struct {
	promstorage.Appender
	s *snapshotStorage
}

func (a snapshotAppender) Commit() error {
	if err := a.Appender.Commit(); err != nil {
		return err
	}
	a.s.refresh()
	return nil
}

// AppenderV2 is what promqltest's loads use.
func (s *snapshotStorage) AppenderV2(ctx context.Context) promstorage.AppenderV2 {
	return snapshotAppenderV2{AppenderV2: s.Tenant.AppenderV2(ctx), s: s}
}

type snapshotAppenderV2 struct {
	promstorage.AppenderV2
	s *snapshotStorage
}

func (a snapshotAppenderV2) Commit() error {
	if err := a.AppenderV2.Commit(); err != nil {
		return err
	}
	a.s.refresh()
	return nil
}

// refresh replaces the served snapshot by one of the tenant as it is now.
func (s *snapshotStorage) refresh() {
	s.closeSnapshot()
	s.n++
	name := fmt.Sprintf("load-%d", s.n)
	if err := s.db.Snapshot(context.Background(), name, true); err != nil {
		s.tb.Fatalf("snapshot after a load: %v", err)
	}
	snap, err := Open(Options{
		Dir:                 filepath.Join(s.db.opts.Dir, snapshotsDirName, name),
		WALSync:             wal.SyncInterval,
		ChunkRange:          s.db.opts.ChunkRange,
		MaintenanceInterval: time.Hour,
		RetentionDuration:   100 * 365 * 24 * time.Hour,
	})
	if err != nil {
		s.tb.Fatalf("open the snapshot: %v", err)
	}
	from, err := snap.Tenant(s.ID())
	if err != nil {
		s.tb.Fatalf("open the snapshot's tenant: %v", err)
	}
	if n := from.Head().NumSeries(); n != 0 {
		s.tb.Fatalf("the snapshot's head holds %d series: the queries would not read only blocks", n)
	}
	s.snap, s.from = snap, from
}

func (s *snapshotStorage) closeSnapshot() {
	if s.snap != nil {
		if err := s.snap.Close(); err != nil {
			s.tb.Errorf("close the snapshot: %v", err)
		}
		s.snap, s.from = nil, nil
	}
}

func (s *snapshotStorage) Querier(mint, maxt int64) (promstorage.Querier, error) {
	if s.from == nil {
		return s.Tenant.Querier(mint, maxt)
	}
	return s.from.Querier(mint, maxt)
}

func (s *snapshotStorage) ChunkQuerier(mint, maxt int64) (promstorage.ChunkQuerier, error) {
	if s.from == nil {
		return s.Tenant.ChunkQuerier(mint, maxt)
	}
	return s.from.ChunkQuerier(mint, maxt)
}

func (s *snapshotStorage) StartTime() (int64, error) {
	if s.from == nil {
		return s.Tenant.StartTime()
	}
	return s.from.StartTime()
}

// TestPromQLBuiltinAllInBlocks runs Prometheus's PromQL test suite with
// every query reading blocks only (see snapshotStorage): the float samples
// in mytsdb's chunk codec, as the block writer stores them.
func TestPromQLBuiltinAllInBlocks(t *testing.T) {
	engine := promqltest.NewTestEngine(t, false, 0, 50000000)
	et := excludingT{T: t, seen: map[string]bool{}, excluded: excludedPromQLFiles}
	snapshots := 0
	promqltest.RunBuiltinTestsWithStorage(et, engine, func(tb testing.TB) promstorage.Storage {
		db, err := Open(Options{
			Dir:               tb.TempDir(),
			WALSync:           wal.SyncInterval,
			ChunkRange:        24 * 60 * 60 * 1000,
			RetentionDuration: 100 * 365 * 24 * time.Hour,
		})
		if err != nil {
			tb.Fatal(err)
		}
		tn, err := db.Tenant("promql")
		if err != nil {
			tb.Fatal(err)
		}
		s := &snapshotStorage{Tenant: tn, db: db, tb: tb}
		tb.Cleanup(func() {
			snapshots += s.n
			s.closeSnapshot()
			_ = db.Close()
		})
		return s
	})
	for name := range excludedPromQLFiles {
		if !et.seen[name] {
			t.Errorf("excluded file %s is not in the upstream suite any more", name)
		}
	}
	t.Logf("the suite's queries read %d snapshots", snapshots)
	if snapshots < 100 {
		t.Errorf("only %d loads went to snapshots: too few to say the suite read blocks", snapshots)
	}
}
