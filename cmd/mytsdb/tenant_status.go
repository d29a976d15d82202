package main

import (
	"context"
	"io/fs"
	"math"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"mytsdb/promapi"
	"mytsdb/storage"
	"mytsdb/storage/wal"
)

// tenantStatus serves mytsdb's /api/v1/status/tenants from the open
// tenants and their directories.
type tenantStatus struct {
	db    *storage.DB
	now   func() time.Time
	rates rateTracker
}

func newTenantStatus(db *storage.DB) *tenantStatus {
	ts := &tenantStatus{db: db, now: time.Now}
	// A first reading, so that the first page load already has a rate
	// (since the server started).
	_, _ = ts.Tenants(context.Background())
	return ts
}

// Tenants implements promapi.Options.Tenants.
func (s *tenantStatus) Tenants(ctx context.Context) ([]promapi.TenantStatus, error) {
	now := s.now()
	var out []promapi.TenantStatus
	for _, id := range s.db.Tenants() {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		t, err := s.db.Tenant(id)
		if err != nil {
			continue // closed meanwhile
		}
		h := t.Head()
		st := promapi.TenantStatus{Tenant: id, NumSeries: h.NumSeries(), SamplesAppended: float64(h.SamplesAppended()), BlockBytes: map[string]int64{}}
		if h.NumSeries() > 0 && h.MinTime() <= h.MaxTime() {
			st.HeadMinTime, st.HeadMaxTime = ptr(h.MinTime()), ptr(h.MaxTime())
		}
		if mint, _ := t.StartTime(); mint != math.MaxInt64 {
			if maxt := t.EndTime(); maxt != math.MinInt64 && mint <= maxt {
				st.MinTime, st.MaxTime = ptr(mint), ptr(maxt)
			}
		}
		for _, m := range t.Blocks() {
			n, _ := dirBytes(filepath.Join(t.Dir(), "blocks", m.ULID.String()), false)
			st.BlockBytes[m.ULID.String()] = n
			st.BlocksBytes += n
			st.Blocks++
		}
		// The Parquet tier's bytes in the bucket (null without a tier, or
		// before its store is open).
		if b, ok := any(t).(interface{ BucketBytes() (int64, bool) }); ok {
			if n, ok := b.BucketBytes(); ok {
				st.BucketBytes = &n
			}
		}
		st.WALBytes, _ = t.WAL().Size()
		st.DiskBytes, _ = dirBytes(t.Dir(), true)
		st.SamplesPerSecond = s.rates.rate(id, now, st.SamplesAppended)
		out = append(out, st)
	}
	return out, nil
}

// rateTracker turns a counter read on each request into a rate: between
// the previous reading at least minRateWindow old and now.
type rateTracker struct {
	mu   sync.Mutex
	last map[string]counterReading
}

type counterReading struct {
	at    time.Time
	value float64
	rate  *float64 // the rate computed when this reading was taken
}

const minRateWindow = time.Second

func (r *rateTracker) rate(id string, now time.Time, v float64) *float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last = map[string]counterReading{}
	}
	prev, ok := r.last[id]
	switch {
	case !ok || v < prev.value: // first reading, or the counter was reset (tenant reopened)
		r.last[id] = counterReading{at: now, value: v}
		return nil
	case now.Sub(prev.at) < minRateWindow:
		return prev.rate // too close to the last reading to measure; keep its answer
	}
	rt := (v - prev.value) / now.Sub(prev.at).Seconds()
	r.last[id] = counterReading{at: now, value: v, rate: &rt}
	return &rt
}

// dirBytes sums the files under dir: their allocated size on disk (du's
// figure) with allocated, else their length.
func dirBytes(dir string, allocated bool) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // removed meanwhile (a compaction, a checkpoint)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && allocated {
			n += st.Blocks * 512
		} else {
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

func ptr[T any](v T) *T { return &v }

// progressStatus serves mytsdb's /api/v1/status/progress: the default
// tenant's WAL replay and the storage's running tasks (db is nil while the
// storage opens).
func progressStatus(p *wal.ReplayProgress, db *storage.DB) func(context.Context) (promapi.Progress, error) {
	return func(context.Context) (promapi.Progress, error) {
		out := promapi.Progress{WALReplay: replayStatus(p)}
		if db != nil {
			for _, t := range db.Tasks() {
				out.Tasks = append(out.Tasks, promapi.Task{Tenant: t.Tenant, Kind: t.Kind, Detail: t.Detail,
					Started: t.Started, Done: t.Done, Total: t.Total})
			}
		}
		return out, nil
	}
}
