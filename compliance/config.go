package compliance

import (
	"fmt"

	"mytsdb/compliance/targets"
)

// ExpectedTargets is the number of active targets Config yields.
const ExpectedTargets = 5

// GlobalConfig is the global section of Config alone: a config that scrapes
// nothing. The short-block mode starts both servers with it, so that no
// scrape at "now" makes the older remote-written data out of bounds, and
// reloads Config once the data is in.
func GlobalConfig() string {
	return `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
`
}

// Config renders the prometheus.yml both servers run with: every fixture
// target scraped each second, with honor_labels, target and metric
// relabelling, a dropped target, and the flaky target.
func Config(t *targets.Set) string {
	s, c, f := targets.Host(t.Static), targets.Host(t.Second), targets.Host(t.Flaky)
	return GlobalConfig() + fmt.Sprintf(`scrape_configs:
  - job_name: fixture
    static_configs:
      - targets: [%[1]q, %[2]q]
        labels:
          env: test
          "ünï.code": "☃"
  - job_name: fixture_honor
    honor_labels: true
    static_configs:
      - targets: [%[1]q]
  - job_name: fixture_relabel
    static_configs:
      - targets: [%[1]q]
        labels: {role: keep}
      - targets: [%[2]q]
        labels: {role: drop}
    relabel_configs:
      - source_labels: [role]
        regex: drop
        action: drop
      - source_labels: [role]
        target_label: tier
        replacement: "tier-$1"
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: fixture_untyped
        action: drop
      - source_labels: [__name__]
        regex: fixture_temperature
        target_label: __name__
        replacement: fixture_temp_renamed
      - regex: code
        action: labeldrop
  - job_name: flaky
    static_configs:
      - targets: [%[3]q]
`, s, c, f)
}
