package head

import (
	"github.com/prometheus/client_golang/prometheus"
)

// headMetrics carries Prometheus's own head metric names, so dashboards work.
type headMetrics struct {
	seriesCreated     prometheus.Counter
	seriesRemoved     prometheus.Counter
	chunksCreated     prometheus.Counter
	chunksRemoved     prometheus.Counter
	chunks            prometheus.Gauge
	samplesAppended   *prometheus.CounterVec
	oooAppended       *prometheus.CounterVec
	outOfBound        *prometheus.CounterVec
	outOfOrder        *prometheus.CounterVec
	tooOld            *prometheus.CounterVec
	activeAppenders   prometheus.Gauge
	appendersCreated  prometheus.Counter
	truncations       prometheus.Counter
	truncationsFailed prometheus.Counter
	gcDuration        prometheus.Summary
	replayDuration    prometheus.Gauge
	unknownRefs       *prometheus.CounterVec
	exemplarsAppended prometheus.Counter
	recode            *recodeMetrics
}

func newHeadMetrics(h *Head, r prometheus.Registerer) *headMetrics {
	typ := []string{"type"}
	m := &headMetrics{
		seriesCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_series_created_total", Help: "Total number of series created in the head"}),
		seriesRemoved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_series_removed_total", Help: "Total number of series removed in the head"}),
		chunksCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_chunks_created_total", Help: "Total number of chunks created in the head"}),
		chunksRemoved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_chunks_removed_total", Help: "Total number of chunks removed in the head"}),
		chunks: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_chunks", Help: "Total number of chunks in the head block."}),
		samplesAppended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_samples_appended_total", Help: "Total number of appended samples."}, typ),
		oooAppended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_out_of_order_samples_appended_total", Help: "Total number of appended out of order samples."}, typ),
		outOfBound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_tsdb_out_of_bound_samples_total", Help: "Total number of out of bound samples ingestion failed attempts with out of order support disabled."}, typ),
		outOfOrder: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_tsdb_out_of_order_samples_total", Help: "Total number of out of order samples ingestion failed attempts due to out of order being disabled."}, typ),
		tooOld: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_tsdb_too_old_samples_total", Help: "Total number of out of order samples ingestion failed attempts with out of support enabled, but sample outside of time window."}, typ),
		activeAppenders: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_active_appenders", Help: "Number of currently active appender transactions"}),
		appendersCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_appenders_created_total", Help: "Total number of appender transactions created."}),
		truncations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_truncations_total", Help: "Total number of head truncations attempted."}),
		truncationsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_head_truncations_failed_total", Help: "Total number of head truncations that failed."}),
		gcDuration: prometheus.NewSummary(prometheus.SummaryOpts{
			Name: "prometheus_tsdb_head_gc_duration_seconds", Help: "Runtime of garbage collection in the head block."}),
		replayDuration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_data_replay_duration_seconds", Help: "Time taken to replay the data on disk."}),
		unknownRefs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_tsdb_wal_replay_unknown_refs_total", Help: "Total number of unknown series references encountered during WAL replay."}, typ),
		exemplarsAppended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "prometheus_tsdb_exemplar_exemplars_appended_total", Help: "Total number of appended exemplars."}),
		recode: newRecodeMetrics(),
	}
	for _, t := range []string{"float", "histogram"} {
		for _, v := range []*prometheus.CounterVec{m.samplesAppended, m.oooAppended, m.outOfBound, m.outOfOrder, m.tooOld} {
			v.WithLabelValues(t)
		}
	}
	if r == nil {
		return m
	}
	h.registered = registerAll(h, r,
		m.seriesCreated, m.seriesRemoved, m.chunksCreated, m.chunksRemoved, m.chunks,
		m.samplesAppended, m.oooAppended, m.outOfBound, m.outOfOrder, m.tooOld,
		m.activeAppenders, m.appendersCreated, m.truncations, m.truncationsFailed,
		m.gcDuration, m.replayDuration, m.unknownRefs,
		m.exemplarsAppended, m.recode.recoded, m.recode.failures,
		m.recode.written, m.recode.writeFailures, m.recode.syncWrites,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_series", Help: "Total number of series in the head block."},
			func() float64 { return float64(h.NumSeries()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_min_time", Help: "Minimum time bound of the head block."},
			func() float64 { return float64(h.MinTime()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_max_time", Help: "Maximum timestamp of the head block."},
			func() float64 { return float64(h.MaxTime()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_exemplar_exemplars_in_storage", Help: "Number of exemplars currently in circular storage."},
			func() float64 { return float64(h.exemplars.len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_exemplar_max_exemplars", Help: "Total number of exemplars the exemplar storage can store, resizeable."},
			func() float64 { return float64(h.exemplars.capacity()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_chunks_storage_size_bytes", Help: "Size of the chunks_head directory."},
			func() float64 { return float64(h.ChunkFilesSize()) }),
	)
	return m
}

// registerAll registers what it can; a failure (e.g. a second head on one
// registerer) is logged, not fatal. It returns what was registered.
func registerAll(h *Head, r prometheus.Registerer, cs ...prometheus.Collector) []prometheus.Collector {
	var ok []prometheus.Collector
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			h.logger.Warn("Head metric not registered", "err", err)
			continue
		}
		ok = append(ok, c)
	}
	return ok
}
