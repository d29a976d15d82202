package parquetstore

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics of a Store, named as Prometheus names its own (the tier's
// counterpart of prometheus_tsdb_*).
type metrics struct {
	getRangeCalls prometheus.Counter
	getRangeBytes prometheus.Counter
	cacheHits     prometheus.Counter
	cacheMisses   prometheus.Counter
	cacheBytes    prometheus.Gauge
	blocks        prometheus.Gauge
	readErrors    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		getRangeCalls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_parquet_get_range_requests_total", Help: "Number of GetRange requests the Parquet queriers sent to the bucket."}),
		getRangeBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_parquet_get_range_bytes_total", Help: "Bytes the Parquet queriers fetched from the bucket with GetRange."}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_parquet_cache_hits_total", Help: "Lookups of Parquet object pieces, footers and series tables found in the cache."}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_parquet_cache_misses_total", Help: "Lookups of Parquet object pieces, footers and series tables not found in the cache."}),
		cacheBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mytsdb_parquet_cache_bytes", Help: "Bytes held by the Parquet read cache."}),
		blocks: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mytsdb_parquet_blocks_loaded", Help: "Number of Parquet blocks currently known in the bucket."}),
		readErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_parquet_read_errors_total", Help: "Parquet blocks skipped by a query because an object was unreadable or corrupt."}),
	}
	if reg != nil {
		m.getRangeCalls = register(reg, m.getRangeCalls)
		m.getRangeBytes = register(reg, m.getRangeBytes)
		m.cacheHits = register(reg, m.cacheHits)
		m.cacheMisses = register(reg, m.cacheMisses)
		m.cacheBytes = register(reg, m.cacheBytes)
		m.blocks = register(reg, m.blocks)
		m.readErrors = register(reg, m.readErrors)
	}
	return m
}

// register registers c, or returns the collector already registered under
// its name (a Store of the same tenant opened again).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
	}
	return c
}
