package web

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the HTTP server's own metrics, named, typed and bucketed like
// Prometheus's so that its dashboards keep working.
type metrics struct {
	requestCounter  *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	responseSize    *prometheus.HistogramVec
	readyStatus     prometheus.Gauge
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		requestCounter: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prometheus_http_requests_total",
			Help: "Counter of HTTP requests.",
		}, []string{"handler", "code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:                            "prometheus_http_request_duration_seconds",
			Help:                            "Histogram of latencies for HTTP requests.",
			Buckets:                         []float64{.1, .2, .4, 1, 3, 8, 20, 60, 120},
			NativeHistogramBucketFactor:     1.1,
			NativeHistogramMaxBucketNumber:  100,
			NativeHistogramMinResetDuration: 1 * time.Hour,
		}, []string{"handler"}),
		responseSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "prometheus_http_response_size_bytes",
			Help:    "Histogram of response size for HTTP requests.",
			Buckets: prometheus.ExponentialBuckets(100, 10, 8),
		}, []string{"handler"}),
		readyStatus: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_ready",
			Help: "Whether Prometheus startup was fully completed and the server is ready for normal operation.",
		}),
	}
	if r != nil {
		r.MustRegister(m.requestCounter, m.requestDuration, m.responseSize, m.readyStatus)
	}
	return m
}

// instrument wraps handler so that it counts into the series of handlerName.
func (m *metrics) instrument(handlerName string, handler http.Handler) http.Handler {
	m.requestCounter.WithLabelValues(handlerName, "200")
	return promhttp.InstrumentHandlerCounter(
		m.requestCounter.MustCurryWith(prometheus.Labels{"handler": handlerName}),
		promhttp.InstrumentHandlerDuration(
			m.requestDuration.MustCurryWith(prometheus.Labels{"handler": handlerName}),
			promhttp.InstrumentHandlerResponseSize(
				m.responseSize.MustCurryWith(prometheus.Labels{"handler": handlerName}),
				handler,
			),
		),
	)
}

// apiHandlerName maps an /api/v1 request path to the handler label Prometheus
// uses (its route pattern), keeping the label set bounded.
func apiHandlerName(path string) string {
	const labelPrefix = "/api/v1/label/"
	if len(path) > len(labelPrefix) && path[:len(labelPrefix)] == labelPrefix {
		return "/api/v1/label/:name/values"
	}
	if _, ok := apiPaths[path]; ok {
		return path
	}
	return "/api/v1/*path"
}

var apiPaths = map[string]struct{}{}

func init() {
	for _, p := range []string{
		"query", "query_range", "query_exemplars", "format_query", "parse_query", "labels", "series",
		"scrape_pools", "scrape_pools/config", "targets", "targets/metadata", "targets/relabel_steps",
		"alertmanagers", "metadata", "status/config", "status/runtimeinfo", "status/buildinfo",
		"status/flags", "status/tsdb", "status/tsdb/blocks", "status/self_metrics", "features",
		"status/walreplay", "notifications", "notifications/live", "read", "write", "otlp/v1/metrics",
		"alerts", "rules", "admin/tsdb/delete_series", "admin/tsdb/clean_tombstones",
		"admin/tsdb/snapshot", "openapi.yaml",
		"status/tenants", "status/progress", // mytsdb's own
	} {
		apiPaths["/api/v1/"+p] = struct{}{}
	}
}
