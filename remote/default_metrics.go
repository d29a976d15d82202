package remote

import (
	"github.com/prometheus/client_golang/prometheus"
)

// defaultRegistryCounters are the remote storage counters upstream
// registers on client_golang's default registry (promauto) rather than on
// the registerer it is given; Prometheus serves that registry, mytsdb its
// own, so they are forwarded.
var defaultRegistryCounters = map[string]bool{
	"prometheus_remote_storage_samples_in_total":                              true,
	"prometheus_remote_storage_exemplars_in_total":                            true,
	"prometheus_remote_storage_histograms_in_total":                           true,
	"prometheus_remote_storage_string_interner_zero_reference_releases_total": true,
}

// defaultCounters collects those counters from the default registry. It is
// unchecked (describes nothing): the families are only known by gathering.
type defaultCounters struct{ g prometheus.Gatherer }

func (defaultCounters) Describe(chan<- *prometheus.Desc) {}

func (d defaultCounters) Collect(ch chan<- prometheus.Metric) {
	mfs, err := d.g.Gather()
	if err != nil {
		return
	}
	for _, mf := range mfs {
		if !defaultRegistryCounters[mf.GetName()] {
			continue
		}
		desc := prometheus.NewDesc(mf.GetName(), mf.GetHelp(), nil, nil)
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil {
				ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, c.GetValue())
			}
		}
	}
}

// DefaultRegistryCounters returns a collector of those counters, for a
// registry that runs upstream's storage/remote without this package (agent
// mode), so that its /metrics has them as Prometheus's has.
func DefaultRegistryCounters() prometheus.Collector {
	return defaultCounters{g: prometheus.DefaultGatherer}
}
