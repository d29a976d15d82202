package scrape

import (
	"time"

	"github.com/prometheus/prometheus/config"
	upstream "github.com/prometheus/prometheus/scrape"
)

// defaultDiscoveryReloadInterval is the default of Prometheus's hidden flag
// --scrape.discovery-reload-interval.
const defaultDiscoveryReloadInterval = 5 * time.Second

// TargetsActive returns the targets being scraped, by scrape pool (job name).
func (m *Manager) TargetsActive() map[string][]*upstream.Target { return m.scrape.TargetsActive() }

// TargetsDropped returns the targets dropped by relabelling, by scrape pool,
// subject to each job's keep_dropped_targets limit.
func (m *Manager) TargetsDropped() map[string][]*upstream.Target { return m.scrape.TargetsDropped() }

// TargetsDroppedCounts returns how many targets relabelling dropped, by pool.
func (m *Manager) TargetsDroppedCounts() map[string]int { return m.scrape.TargetsDroppedCounts() }

// TargetsAll returns active and dropped targets, by scrape pool.
func (m *Manager) TargetsAll() map[string][]*upstream.Target { return m.scrape.TargetsAll() }

// ScrapePools returns the names of all scrape pools.
func (m *Manager) ScrapePools() []string { return m.scrape.ScrapePools() }

// ScrapePoolConfig returns the config a scrape pool currently runs with.
func (m *Manager) ScrapePoolConfig(pool string) (*config.ScrapeConfig, error) {
	return m.scrape.ScrapePoolConfig(pool)
}
