package main

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promscrape "github.com/prometheus/prometheus/scrape"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"mytsdb/remote"
	"mytsdb/scrape"
)

// readyScrape hands the scrape manager to remote write's metadata watcher
// once it exists, as Prometheus's readyScrapeManager does.
type readyScrape struct {
	m atomic.Pointer[scrape.Manager]
}

func (r *readyScrape) set(m *scrape.Manager) { r.m.Store(m) }

func (r *readyScrape) Get() (*promscrape.Manager, error) {
	if m := r.m.Load(); m != nil {
		return m.Upstream(), nil
	}
	return nil, tsdb.ErrNotReady
}

// openRemote prepares the config's remote_write queues (fed from the
// default tenant's WAL) and remote_read sources; ApplyConfig starts them.
func openRemote(s *server, st *localStorage, ready *readyScrape, reg prometheus.Registerer) (*remote.Storage, error) {
	def := st.db.Default()
	return remote.New(remote.Options{
		Logger:                  s.logger,
		Registerer:              reg,
		Local:                   sampledLocal{def, st.costSampling(def)},
		WAL:                     def.WAL(),
		Dir:                     def.Dir(),
		FlushDeadline:           time.Duration(s.cfg.remoteFlushDeadline),
		ScrapeManager:           ready,
		EnableTypeAndUnitLabels: s.features.enableTypeAndUnitLabel,
	})
}

// remoteReadTenant is the default tenant as queries see it: its data merged
// with the remote_read endpoints', like Prometheus's fanout storage.
type remoteReadTenant struct {
	apiTenant
	fanout promstorage.Storage
}

func (t remoteReadTenant) Querier(mint, maxt int64) (promstorage.Querier, error) {
	return t.fanout.Querier(mint, maxt)
}

func (t remoteReadTenant) ChunkQuerier(mint, maxt int64) (promstorage.ChunkQuerier, error) {
	return t.fanout.ChunkQuerier(mint, maxt)
}
