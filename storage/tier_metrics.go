package storage

import "github.com/prometheus/client_golang/prometheus"

// tierMetrics are a tenant's counts of the Parquet tier's work (the bucket
// operations themselves are objstore's objstore_bucket_* metrics, which
// cmd/mytsdb registers around the bucket).
type tierMetrics struct {
	uploaded      prometheus.Counter
	uploadsFailed prometheus.Counter
	uploadedBytes prometheus.Counter
	lastSuccess   prometheus.Gauge
	dropped       prometheus.Counter
	deleted       prometheus.Counter
	rewritten     prometheus.Counter
	failedRounds  prometheus.Counter
	registered    []prometheus.Collector
	registerer    prometheus.Registerer
}

func newTierMetrics(r prometheus.Registerer) *tierMetrics {
	m := &tierMetrics{
		uploaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_parquet_blocks_uploaded_total", Help: "Blocks written to the Parquet tier and verified."}),
		uploadsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_parquet_block_uploads_failed_total", Help: "Writes or verifications of a block in the Parquet tier that failed (retried)."}),
		uploadedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_parquet_uploaded_bytes_total", Help: "Bytes of the blocks written to the Parquet tier."}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mytsdb_parquet_last_upload_success_timestamp_seconds", Help: "Unix time of the last block written to the Parquet tier and verified."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_parquet_local_blocks_removed_total", Help: "Local blocks removed because the Parquet tier holds a verified copy."}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_parquet_retention_deletions_total", Help: "Blocks deleted from the Parquet tier by its retention."}),
		rewritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_parquet_blocks_rewritten_total", Help: "Blocks held only in the Parquet tier rewritten without the series delete_series deleted."}),
		failedRounds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_parquet_tier_failures_total", Help: "Maintenance rounds whose Parquet tier step failed (the bucket is tried again with backoff)."}),
		registerer: r,
	}
	if r == nil {
		return m
	}
	for _, c := range []prometheus.Collector{m.uploaded, m.uploadsFailed, m.uploadedBytes, m.lastSuccess, m.dropped, m.deleted, m.rewritten, m.failedRounds} {
		if err := r.Register(c); err == nil {
			m.registered = append(m.registered, c)
		}
	}
	return m
}

func (m *tierMetrics) unregister() {
	if m.registerer == nil {
		return
	}
	for _, c := range m.registered {
		m.registerer.Unregister(c)
	}
}
