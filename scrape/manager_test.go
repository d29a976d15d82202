package scrape

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
)

// fixture is a static exposition with every metric type, labels that
// relabelling acts on and a series metric_relabel_configs drops.
const fixture = `# HELP fx_requests_total Requests.
# TYPE fx_requests_total counter
fx_requests_total{code="200",path="/a"} 1027
fx_requests_total{code="500",path="/a"} 3
# HELP fx_temperature Temperature.
# TYPE fx_temperature gauge
fx_temperature{room="kitchen"} 21.25
fx_temperature{room="drop_me"} 1
# HELP fx_latency_seconds Latency.
# TYPE fx_latency_seconds histogram
fx_latency_seconds_bucket{le="0.1"} 5
fx_latency_seconds_bucket{le="1"} 9
fx_latency_seconds_bucket{le="+Inf"} 10
fx_latency_seconds_sum 4.5
fx_latency_seconds_count 10
# HELP fx_rpc_seconds RPC.
# TYPE fx_rpc_seconds summary
fx_rpc_seconds{quantile="0.5"} 0.2
fx_rpc_seconds{quantile="0.9"} 0.7
fx_rpc_seconds_sum 12
fx_rpc_seconds_count 40
fx_untyped 7
`

func scrapeYAML(target string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  external_labels: {}
scrape_configs:
  - job_name: fixture
    honor_labels: false
    static_configs:
      - targets: [%q]
        labels: {env: test}
    relabel_configs:
      - target_label: team
        replacement: storage
    metric_relabel_configs:
      - source_labels: [room]
        regex: drop_me
        action: drop
`, target)
}

func prometheusBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PROMETHEUS_BINARY")
	if p == "" {
		p = filepath.Join("..", ".cache", "ref", "v0.316.0", "prometheus")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("reference prometheus binary not found at %s (run make ref): %v", abs, err)
	}
	return abs
}

// promVector runs an instant query against a running Prometheus and returns
// series label string → value.
func promVector(addr, q string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Status != "success" {
		return nil, fmt.Errorf("query %q: %v %s", q, err, b)
	}
	out := map[string]float64{}
	for _, s := range r.Data.Result {
		v, _ := strconv.ParseFloat(s.Value[1].(string), 64)
		out[labels.FromMap(s.Metric).String()] = v
	}
	return out, nil
}

// TestScrapeMatchesPrometheus scrapes one fixture with this package and with
// the real Prometheus under the same configuration: the set of series
// (labels after target and metric relabelling, synthetic series included)
// and the values of the fixture's samples and of up and scrape_samples_* must
// be identical. When service discovery drops the target (the job now lists
// another one), every series of the old target must get a staleness marker,
// as Prometheus writes them.
func TestScrapeMatchesPrometheus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, fixture)
	}))
	defer srv.Close()
	target := strings.TrimPrefix(srv.URL, "http://")
	yml := scrapeYAML(target)

	// The real Prometheus.
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(prometheusBinary(t), "--config.file="+cfgPath, "--web.listen-address="+addr,
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--log.level=warn")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() }()

	// Ours.
	rec := newRecorder()
	m, err := New(Options{Logger: promslog.NewNopLogger(), Appendable: rec})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(yml, promslog.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- m.Run() }()
	defer m.Stop()

	// Wait for two scrapes on both sides (the second makes scrape_series_added 0 on both).
	upKey := labels.FromStrings("__name__", "up", "env", "test", "instance", target, "job", "fixture", "team", "storage").String()
	deadline := time.Now().Add(40 * time.Second)
	var want map[string]float64
	for {
		if time.Now().After(deadline) {
			t.Fatalf("no two scrapes within 40s: ours %d, prometheus %v (%v)", rec.count(upKey), want, err)
		}
		want, err = promVector(addr, `count_over_time(up{job="fixture"}[1m]) >= 2`)
		if err == nil && len(want) > 0 && rec.count(upKey) >= 2 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	want, err = promVector(addr, `{job="fixture"}`)
	if err != nil {
		t.Fatal(err)
	}
	got := rec.last()

	var wantKeys, gotKeys []string
	for k := range want {
		wantKeys = append(wantKeys, k)
	}
	for k := range got {
		gotKeys = append(gotKeys, k)
	}
	sort.Strings(wantKeys)
	sort.Strings(gotKeys)
	if strings.Join(wantKeys, "\n") != strings.Join(gotKeys, "\n") {
		t.Fatalf("series differ\nprometheus:\n%s\nours:\n%s", strings.Join(wantKeys, "\n"), strings.Join(gotKeys, "\n"))
	}
	for k, v := range want {
		if strings.Contains(k, "scrape_duration_seconds") || strings.Contains(k, "scrape_series_added") {
			continue // timing-dependent
		}
		if got[k] != v {
			t.Errorf("%s: ours %v, prometheus %v", k, got[k], v)
		}
	}

	// The job's target changes: the old target's series all go stale.
	srv2 := httptest.NewServer(srv.Config.Handler)
	defer srv2.Close()
	target2 := strings.TrimPrefix(srv2.URL, "http://")
	cfg2, err := config.Load(scrapeYAML(target2), promslog.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.ApplyConfig(cfg2); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		active := m.TargetsActive()["fixture"]
		if len(active) == 1 && active[0].URL().Host == target2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("active targets after the change: %v (old %s, new %s)", active, target, target2)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for {
		stale, old := 0, 0
		for k, v := range rec.last() {
			if strings.Contains(k, `instance="`+target+`"`) {
				old++
				if isStale(v) {
					stale++
				}
			}
		}
		if old > 0 && stale == old {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d series of the dropped target got a staleness marker", stale, old)
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.Stop()
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestStopIsIdempotentAndRunRefusedTwice covers the lifecycle caveats of the
// package doc.
func TestStopIsIdempotentAndRunRefusedTwice(t *testing.T) {
	m, err := New(Options{Appendable: newRecorder()})
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- m.Run() }()
	time.Sleep(50 * time.Millisecond)
	if err := m.Run(); err == nil {
		t.Fatal("second Run did not fail")
	}
	m.Stop()
	m.Stop()
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Stop")
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without Appendable did not fail")
	}
}
