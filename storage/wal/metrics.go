package wal

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are named like Prometheus's own WAL metrics so its dashboards work.
type metrics struct {
	fsyncDuration       prometheus.Summary
	pageFlushes         prometheus.Counter
	writesFailed        prometheus.Counter
	segmentCurrent      prometheus.Gauge
	truncations         prometheus.Counter
	truncationsFailed   prometheus.Counter
	corruptions         prometheus.Counter
	checkpointCreations prometheus.Counter
	checkpointFailed    prometheus.Counter
	checkpointDeletions prometheus.Counter
	checkpointDelFailed prometheus.Counter
	commitBytes         prometheus.Histogram
	bytesWritten        prometheus.Counter

	reg        prometheus.Registerer
	registered []prometheus.Collector
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		fsyncDuration: prometheus.NewSummary(prometheus.SummaryOpts{
			Name:       "prometheus_tsdb_wal_fsync_duration_seconds",
			Help:       "Duration of write log fsync.",
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
		}),
		pageFlushes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_wal_page_flushes_total",
			Help: "Total number of writes (group commits and segment closes) handed to the kernel.",
		}),
		writesFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_wal_writes_failed_total",
			Help: "Total number of write log writes that failed.",
		}),
		segmentCurrent: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_wal_segment_current",
			Help: "Write log segment index that TSDB is currently writing to.",
		}),
		truncations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_wal_truncations_total",
			Help: "Total number of write log truncations attempted.",
		}),
		truncationsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_wal_truncations_failed_total",
			Help: "Total number of write log truncations that failed.",
		}),
		corruptions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_wal_corruptions_total",
			Help: "Total number of WAL corruptions found (and repaired by truncation).",
		}),
		checkpointCreations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_checkpoint_creations_total",
			Help: "Total number of checkpoint creations attempted.",
		}),
		checkpointFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_checkpoint_creations_failed_total",
			Help: "Total number of checkpoint creations that failed.",
		}),
		checkpointDeletions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_checkpoint_deletions_total",
			Help: "Total number of checkpoint deletions attempted.",
		}),
		checkpointDelFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_checkpoint_deletions_failed_total",
			Help: "Total number of checkpoint deletions that failed.",
		}),
		commitBytes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mytsdb_wal_group_commit_bytes",
			Help:    "Bytes written per group commit.",
			Buckets: prometheus.ExponentialBuckets(256, 4, 9),
		}),
		bytesWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mytsdb_wal_bytes_written_total",
			Help: "Bytes written to WAL segments, framing included.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	m.reg = reg
	for _, c := range []prometheus.Collector{
		m.fsyncDuration, m.pageFlushes, m.writesFailed, m.segmentCurrent, m.truncations,
		m.truncationsFailed, m.corruptions, m.checkpointCreations, m.checkpointFailed,
		m.checkpointDeletions, m.checkpointDelFailed, m.commitBytes, m.bytesWritten,
	} {
		if err := reg.Register(c); err != nil {
			m.unregister()
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, errors.New("wal: metrics already registered: give each WAL a registerer wrapped with its own labels (prometheus.WrapRegistererWith)")
			}
			return nil, err
		}
		m.registered = append(m.registered, c)
	}
	return m, nil
}

// unregister removes the metrics from the registerer, so the WAL can be
// reopened on the same registry.
func (m *metrics) unregister() {
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
	m.registered = nil
}
