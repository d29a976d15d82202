package storage

import (
	"context"
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
