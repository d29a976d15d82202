package remote

import (
	"regexp"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The queue manager metrics a follower reads to know what has been sent.
const (
	samplesPending    = "prometheus_remote_storage_samples_pending"
	histogramsPending = "prometheus_remote_storage_histograms_pending"
	exemplarsPending  = "prometheus_remote_storage_exemplars_pending"
	samplesFailed     = "prometheus_remote_storage_samples_failed_total"
	histogramsFailed  = "prometheus_remote_storage_histograms_failed_total"
	exemplarsFailed   = "prometheus_remote_storage_exemplars_failed_total"
)

var watchedMetrics = map[string]bool{
	samplesPending: true, histogramsPending: true, exemplarsPending: true,
	samplesFailed: true, histogramsFailed: true, exemplarsFailed: true,
}

// fqNameRe finds a metric's name in a Desc's String(), the only place
// client_golang exposes it.
var fqNameRe = regexp.MustCompile(`fqName: "([^"]+)"`)

// capturingRegisterer registers on the real registry (the metrics keep
// Prometheus's names) and keeps the queue managers' pending and failed
// metrics, by queue name, so that followers can read them: the queue
// manager offers no other view of what it has sent.
type capturingRegisterer struct {
	prometheus.Registerer
	mu      sync.Mutex
	byQueue map[string]map[string]prometheus.Metric // remote_name → metric name → metric
}

func newCapturingRegisterer(reg prometheus.Registerer) *capturingRegisterer {
	if reg == nil {
		reg = prometheus.NewRegistry() // the metrics are needed even unregistered
	}
	return &capturingRegisterer{Registerer: reg, byQueue: map[string]map[string]prometheus.Metric{}}
}

func (r *capturingRegisterer) Register(c prometheus.Collector) error {
	if err := r.Registerer.Register(c); err != nil {
		return err
	}
	m, ok := c.(prometheus.Metric)
	if !ok {
		return nil
	}
	name := fqNameRe.FindStringSubmatch(m.Desc().String())
	if name == nil || !watchedMetrics[name[1]] {
		return nil
	}
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		return nil
	}
	queue := ""
	for _, lp := range pb.GetLabel() {
		if lp.GetName() == "remote_name" {
			queue = lp.GetValue()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byQueue[queue] == nil {
		r.byQueue[queue] = map[string]prometheus.Metric{}
	}
	r.byQueue[queue][name[1]] = m
	return nil
}

func (r *capturingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// queue returns the metrics of the queue named name as registered now.
func (r *capturingRegisterer) queue(name string) queueCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := queueCounts{}
	for k, v := range r.byQueue[name] {
		out[k] = v
	}
	return out
}

// queueCounts are one queue manager's pending and failed metrics.
type queueCounts map[string]prometheus.Metric

func (q queueCounts) value(name string) float64 {
	m, ok := q[name]
	if !ok {
		return 0
	}
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		return 0
	}
	if g := pb.GetGauge(); g != nil {
		return g.GetValue()
	}
	return pb.GetCounter().GetValue()
}

// complete reports whether the metrics were all found.
func (q queueCounts) complete() bool { return len(q) == len(watchedMetrics) }

// pending is what the queue holds and has not sent or dropped yet.
func (q queueCounts) pending() float64 {
	return q.value(samplesPending) + q.value(histogramsPending) + q.value(exemplarsPending)
}

// failed is what the queue has dropped so far.
func (q queueCounts) failed() float64 {
	return q.value(samplesFailed) + q.value(histogramsFailed) + q.value(exemplarsFailed)
}
