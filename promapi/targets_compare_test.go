package promapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/util/teststorage"
)

// exposition is what the scraped test target serves.
const exposition = `# HELP test_temp Temperature of the thing.
# TYPE test_temp gauge
test_temp{room="a"} 21.5
test_temp{room="b"} 19
# HELP test_events_total Events seen.
# TYPE test_events_total counter
test_events_total 7
# HELP test_latency_seconds Latency <with> "quotes" & escapes.
# TYPE test_latency_seconds summary
test_latency_seconds{quantile="0.5"} 0.1
test_latency_seconds_sum 1
test_latency_seconds_count 10
untyped_metric 1
`

// scrapeConfigYAML has an active target that is up, one that is down, and
// a pool with a dropped target.
func scrapeConfigYAML(up, down string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 500ms
scrape_configs:
  - job_name: up
    static_configs:
      - targets: ['%[1]s']
        labels:
          env: test
  - job_name: down
    scrape_interval: 2s
    static_configs:
      - targets: ['%[2]s']
  - job_name: dropped
    metrics_path: /metrics
    params:
      x: ['1']
    static_configs:
      - targets: ['%[1]s', 'example.invalid:80']
    relabel_configs:
      - source_labels: [__address__]
        regex: example.*
        action: drop
`, up, down)
}

// runScrapeManager runs the upstream discovery and scrape managers (what
// the scrape package wraps) for cfg, appending to st.
func runScrapeManager(t *testing.T, cfg *config.Config, st *teststorage.TestStorage) *scrape.Manager {
	reg := prometheus.NewRegistry()
	sdMetrics, err := discovery.CreateAndRegisterSDMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	dm := discovery.NewManager(ctx, nil, reg, sdMetrics)
	sm, err := scrape.NewManager(&scrape.Options{}, nil, nil, nil, st, reg)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = dm.Run() }()
	go func() { _ = sm.Run(dm.SyncCh()) }()
	t.Cleanup(func() { sm.Stop(); cancel() })
	sds := map[string]discovery.Configs{}
	scs, err := cfg.GetScrapeConfigs()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scs {
		sds[sc.JobName] = sc.ServiceDiscoveryConfigs
	}
	if err := sm.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if err := dm.ApplyConfig(sds); err != nil {
		t.Fatal(err)
	}
	return sm
}

// waitScraped waits until every active target of a server has been scraped.
func waitScraped(t *testing.T, base string, want int) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/api/v1/targets?state=active")
		if err == nil {
			var v struct {
				Data struct {
					ActiveTargets []struct {
						Health string `json:"health"`
					} `json:"activeTargets"`
				} `json:"data"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&v)
			_ = resp.Body.Close()
			n := 0
			for _, at := range v.Data.ActiveTargets {
				if at.Health != "unknown" {
					n++
				}
			}
			if n == want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: targets not all scraped after 20s", base)
}

// normTargets blanks the per-scrape timings of active targets.
func normTargets(v any) any {
	d := at(v, "data")
	list, _ := d["activeTargets"].([]any)
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			m["lastScrape"] = "ignored"
			m["lastScrapeDuration"] = "ignored"
		}
	}
	return v
}

// sortData sorts a data array by each element's encoding (Prometheus walks
// scrape pools in map order).
func sortData(v any) any {
	m, _ := v.(map[string]any)
	list, ok := m["data"].([]any)
	if !ok {
		return v
	}
	sort.Slice(list, func(i, j int) bool {
		a, _ := json.Marshal(list[i])
		b, _ := json.Marshal(list[j])
		return string(a) < string(b)
	})
	return v
}

func TestCompareTargetsWithPrometheus(t *testing.T) {
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(exposition))
	}))
	defer metrics.Close()
	up := strings.TrimPrefix(metrics.URL, "http://")
	down := freeAddr(t) // nothing listens there

	ref := startPrometheus(t, scrapeConfigYAML(up, down))
	cfg, err := config.LoadFile(ref.ConfigFile, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	foldFlags(cfg)
	st := teststorage.New(t)
	sm := runScrapeManager(t, cfg, st)

	refURL, err := url.Parse(ref.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, refPort, _ := net.SplitHostPort(refURL.Host)
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	api := New(Options{
		Engine:  promql.NewEngine(promql.EngineOpts{MaxSamples: refMaxSamples, Timeout: time.Minute, LookbackDelta: 5 * time.Minute}),
		Storage: func(string) (TenantStorage, error) { return st, nil },
		Targets: sm,
		Config:  func() config.Config { return *cfg },
		// Prometheus's default external URL is http://<hostname>:<port>/.
		GlobalURL: GlobalURLOptions{ListenAddress: refURL.Host, Host: hostname + ":" + refPort, Scheme: "http"},
	})
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api.Handler())
	ours := httptest.NewServer(mux)
	defer ours.Close()

	waitScraped(t, ref.URL, 3)
	waitScraped(t, ours.URL, 3)

	droppedLabels := url.QueryEscape(`{"__address__":"example.invalid:80","__metrics_path__":"/metrics","__scheme__":"http","job":"dropped"}`)
	cases := []apiCase{
		{name: "targets", path: "/api/v1/targets", norm: normTargets},
		{name: "targets active", path: "/api/v1/targets?state=active", norm: normTargets},
		{name: "targets dropped", path: "/api/v1/targets?state=dropped"},
		{name: "targets pool", path: "/api/v1/targets?scrapePool=up", norm: normTargets},
		{name: "targets unknown pool", path: "/api/v1/targets?scrapePool=nope"},
		{name: "scrape pools", path: "/api/v1/scrape_pools"},
		{name: "scrape pool config", path: "/api/v1/scrape_pools/config?scrapePool=dropped"},
		{name: "scrape pool config unknown", path: "/api/v1/scrape_pools/config?scrapePool=nope"},
		{name: "relabel steps", path: "/api/v1/targets/relabel_steps?scrapePool=dropped&labels=" + droppedLabels},
		{name: "relabel steps kept", path: "/api/v1/targets/relabel_steps?scrapePool=dropped&labels=" + url.QueryEscape(`{"__address__":"x:1","job":"dropped"}`)},
		{name: "relabel steps no labels", path: "/api/v1/targets/relabel_steps?scrapePool=dropped"},
		{name: "relabel steps bad labels", path: "/api/v1/targets/relabel_steps?scrapePool=dropped&labels=x"},
		{name: "relabel steps unknown pool", path: "/api/v1/targets/relabel_steps?scrapePool=nope&labels=%7B%7D"},
		{name: "metadata", path: "/api/v1/metadata"},
		{name: "metadata metric", path: "/api/v1/metadata?metric=test_temp"},
		{name: "metadata unknown metric", path: "/api/v1/metadata?metric=nope"},
		{name: "metadata limit", path: "/api/v1/metadata?limit=0"},
		{name: "metadata limit per metric", path: "/api/v1/metadata?limit_per_metric=1"},
		{name: "targets metadata", path: "/api/v1/targets/metadata", norm: sortData},
		{name: "targets metadata match", path: "/api/v1/targets/metadata?match_target=" + url.QueryEscape(`{job="up"}`), norm: sortData},
		{name: "targets metadata metric", path: "/api/v1/targets/metadata?metric=test_latency_seconds&match_target=" + url.QueryEscape(`{job="up"}`)},
		{name: "targets metadata limit", path: "/api/v1/targets/metadata?limit=0"},
		{name: "series of scraped", path: "/api/v1/series?match[]=" + url.QueryEscape(`{job="up",__name__=~"test_.*"}`)},
		{name: "label values of scraped", path: "/api/v1/label/__name__/values?match[]=" + url.QueryEscape(`{job="up"}`)},
		{name: "status config", path: "/api/v1/status/config"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			compareAnswers(t, c, do(t, ref.URL, c), do(t, ours.URL, c))
		})
	}
}
