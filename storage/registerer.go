package storage

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// uncheckedRegisterer registers collectors as unchecked (no descriptors),
// so a tenant's metrics (with a tenant label) can share their names with the
// default tenant's (without). Unregister silences a collector.
type uncheckedRegisterer struct {
	r  prometheus.Registerer
	mu sync.Mutex
	m  map[prometheus.Collector]*uncheckedCollector
}

type uncheckedCollector struct {
	c    prometheus.Collector
	mu   sync.RWMutex
	dead bool
}

func (*uncheckedCollector) Describe(chan<- *prometheus.Desc) {}

func (u *uncheckedCollector) Collect(ch chan<- prometheus.Metric) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if !u.dead {
		u.c.Collect(ch)
	}
}

func newUncheckedRegisterer(r prometheus.Registerer) *uncheckedRegisterer {
	return &uncheckedRegisterer{r: r, m: map[prometheus.Collector]*uncheckedCollector{}}
}

func (u *uncheckedRegisterer) Register(c prometheus.Collector) error {
	uc := &uncheckedCollector{c: c}
	if err := u.r.Register(uc); err != nil {
		return err
	}
	u.mu.Lock()
	u.m[c] = uc
	u.mu.Unlock()
	return nil
}

func (u *uncheckedRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := u.Register(c); err != nil {
			panic(err)
		}
	}
}

func (u *uncheckedRegisterer) Unregister(c prometheus.Collector) bool {
	u.mu.Lock()
	uc := u.m[c]
	delete(u.m, c)
	u.mu.Unlock()
	if uc == nil {
		return false
	}
	uc.mu.Lock()
	uc.dead = true
	uc.mu.Unlock()
	return true
}
