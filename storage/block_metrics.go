package storage

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// blockMetrics are a tenant's block, compaction and retention metrics, under
// the names Prometheus's tsdb package gives them so that its dashboards work.
type blockMetrics struct {
	compactions        prometheus.Counter
	compactionsFailed  prometheus.Counter
	compactionsTrig    prometheus.Counter
	compactionDuration prometheus.Histogram
	headCuts           prometheus.Counter // mytsdb: head ranges written as blocks
	reloads            prometheus.Counter
	reloadsFailed      prometheus.Counter
	timeRetentions     prometheus.Counter
	sizeRetentions     prometheus.Counter
	corruptBlocks      prometheus.Gauge // mytsdb: blocks left out at open because they are damaged
	tombstoneCleans    prometheus.Counter
	snapshotsWritten   prometheus.Counter
	registered         []prometheus.Collector
	registerer         prometheus.Registerer
}

func newBlockMetrics(t *Tenant, r prometheus.Registerer, logger *slog.Logger) *blockMetrics {
	m := &blockMetrics{
		compactions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_compactions_total", Help: "Total number of compactions that were executed for the partition."}),
		compactionsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_compactions_failed_total", Help: "Total number of compactions that failed for the partition."}),
		compactionsTrig: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_compactions_triggered_total", Help: "Total number of triggered compactions for the partition."}),
		compactionDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "prometheus_tsdb_compaction_duration_seconds", Help: "Duration of compaction runs",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14)}),
		headCuts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_tsdb_head_cuts_total", Help: "Total number of head ranges written as blocks."}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_reloads_total", Help: "Number of times the database reloaded block data from disk."}),
		reloadsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_reloads_failures_total", Help: "Number of times the database failed to reloadBlocks block data from disk."}),
		timeRetentions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_time_retentions_total", Help: "The number of times that blocks were deleted because the maximum time limit was exceeded."}),
		sizeRetentions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_size_retentions_total", Help: "The number of times that blocks were deleted because the maximum number of bytes was exceeded."}),
		corruptBlocks: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mytsdb_tsdb_corrupt_blocks", Help: "Number of block directories left out at open because they are damaged."}),
		tombstoneCleans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_tsdb_tombstone_cleanups_total", Help: "Total number of blocks rewritten to drop their tombstones."}),
		snapshotsWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_tsdb_snapshots_total", Help: "Total number of snapshots of the tenant written."}),
		registerer: r,
	}
	if r == nil {
		return m
	}
	cs := []prometheus.Collector{
		m.compactions, m.compactionsFailed, m.compactionsTrig, m.compactionDuration, m.headCuts,
		m.reloads, m.reloadsFailed, m.timeRetentions, m.sizeRetentions, m.corruptBlocks,
		m.tombstoneCleans, m.snapshotsWritten,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_blocks_loaded", Help: "Number of currently loaded data blocks"},
			func() float64 { return float64(len(t.blockList())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_storage_blocks_bytes", Help: "The number of bytes that are currently used for local storage by all blocks."},
			func() float64 { return float64(t.blocksBytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_lowest_timestamp", Help: "Lowest timestamp value stored in the database. The unit is decided by the library consumer."},
			func() float64 { st, _ := t.StartTime(); return float64(st) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_retention_limit_seconds", Help: "How long to retain samples in storage."},
			func() float64 { return t.opts.RetentionDuration.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_retention_limit_bytes", Help: "Max number of bytes to be retained in the tsdb blocks, configured 0 means disabled"},
			func() float64 { return float64(t.opts.RetentionSize) }),
	}
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			logger.Warn("Block metric not registered", "err", err)
			continue
		}
		m.registered = append(m.registered, c)
	}
	return m
}

func (m *blockMetrics) unregister() {
	if m.registerer == nil {
		return
	}
	for _, c := range m.registered {
		m.registerer.Unregister(c)
	}
}
