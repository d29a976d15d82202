package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// openMetricsTarget serves an OpenMetrics exposition with exemplars (with
// their own timestamps, so that both servers store the same ones whenever
// they scrape), units, HELP and every metric type.
func openMetricsTarget(t *testing.T, exemplarTime time.Time) string {
	t.Helper()
	ts := func(d time.Duration) string {
		return strconv.FormatFloat(float64(exemplarTime.Add(d).UnixMilli())/1000, 'f', 3, 64)
	}
	body := fmt.Sprintf(`# TYPE om_requests counter
# HELP om_requests Requests served.
om_requests_total{path="/a"} 17 # {trace_id="abc123",span_id="s1"} 1 %s
om_requests_total{path="/b"} 4 # {trace_id="def456"} 2.5 %s
om_requests_created{path="/a"} 1.7e9
# TYPE om_latency_seconds histogram
# UNIT om_latency_seconds seconds
# HELP om_latency_seconds Request latency.
om_latency_seconds_bucket{le="0.1"} 3 # {trace_id="h1"} 0.05 %s
om_latency_seconds_bucket{le="1"} 8 # {trace_id="h2"} 0.7 %s
om_latency_seconds_bucket{le="+Inf"} 9 # {trace_id="h3",user="x"} 4.2 %s
om_latency_seconds_sum 11.5
om_latency_seconds_count 9
# TYPE om_temperature_celsius gauge
# UNIT om_temperature_celsius celsius
# HELP om_temperature_celsius Room temperature.
om_temperature_celsius{room="lab"} 21.25
# TYPE om_build info
# HELP om_build Build information.
om_build_info{version="1.2.3"} 1
# TYPE om_rpc_seconds summary
# HELP om_rpc_seconds RPC durations.
om_rpc_seconds{quantile="0.5"} 0.2
om_rpc_seconds_sum 3
om_rpc_seconds_count 12
# TYPE om_state stateset
# HELP om_state A state set.
om_state{om_state="on"} 1
om_state{om_state="off"} 0
# EOF
`, ts(-50*time.Second), ts(-40*time.Second), ts(-30*time.Second), ts(-20*time.Second), ts(-10*time.Second))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestExemplarsAndMetadataMatchPrometheus scrapes one OpenMetrics target
// with exemplars from mytsdb and the real Prometheus (both with
// --enable-feature=exemplar-storage) and compares /api/v1/query_exemplars,
// /api/v1/metadata and /api/v1/targets/metadata, parameters and errors
// included.
func TestExemplarsAndMetadataMatchPrometheus(t *testing.T) {
	start := time.Now()
	target := openMetricsTarget(t, start)
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: om
    static_configs:
      - targets: [%q]
`, target)
	p := startPair(t, cfg, "--enable-feature=exemplar-storage")
	for _, pr := range p.both() {
		pr.waitQueryValue(`count(om_latency_seconds_bucket)`, "3", 30*time.Second)
	}
	// Two more scrapes: repeated exemplars must not be stored twice.
	time.Sleep(2100 * time.Millisecond)

	rng := func(sel string, from, to time.Duration) string {
		return "/api/v1/query_exemplars?" + url.Values{"query": {sel},
			"start": {strconv.FormatFloat(float64(start.Add(from).UnixMilli())/1000, 'f', 3, 64)},
			"end":   {strconv.FormatFloat(float64(start.Add(to).UnixMilli())/1000, 'f', 3, 64)}}.Encode()
	}
	cases := []struct {
		path   string
		sorted bool // Prometheus answers in map order: compare sorted
		want   string
	}{
		{path: rng(`om_requests_total`, -time.Hour, time.Hour), want: "abc123"},
		{path: rng(`om_latency_seconds_bucket`, -time.Hour, time.Hour), want: `"user":"x"`},
		{path: rng(`{job="om"}`, -time.Hour, time.Hour), sorted: true, want: "def456"},
		{path: rng(`om_requests_total or om_latency_seconds_bucket{le="1"}`, -time.Hour, time.Hour), sorted: true, want: "def456"},
		{path: rng(`rate(om_requests_total[5m])`, -time.Hour, time.Hour), want: "abc123"},
		{path: rng(`om_latency_seconds_bucket`, -35*time.Second, -15*time.Second), want: "h2"},
		{path: rng(`om_temperature_celsius`, -time.Hour, time.Hour), want: `"data":[]`},
		{path: "/api/v1/query_exemplars?query=om_requests_total", want: "abc123"},
		{path: "/api/v1/query_exemplars?query=" + url.QueryEscape("sum("), want: "bad_data"},
		{path: "/api/v1/query_exemplars?query=om_requests_total&start=10&end=5", want: "bad_data"},
		{path: "/api/v1/status/config", want: "max_exemplars: 100000"},
		{path: "/api/v1/metadata", want: "om_latency_seconds"},
		{path: "/api/v1/metadata?metric=om_requests", want: "Requests served."},
		{path: "/api/v1/metadata?metric=om_requests_total", want: `"data":{}`},
		{path: "/api/v1/metadata?limit=0", want: `"data":{}`},
		{path: "/api/v1/metadata?limit_per_metric=1", want: "om_state"},
		{path: "/api/v1/targets/metadata?match_target=" + url.QueryEscape(`{job="om"}`), sorted: true, want: "celsius"},
		{path: "/api/v1/targets/metadata?metric=om_build", want: `"type":"info"`},
		{path: "/api/v1/targets/metadata?metric=om_latency_seconds&limit=1", want: `"unit":"seconds"`},
		{path: "/api/v1/targets/metadata?match_target=" + url.QueryEscape(`{job="none"}`), want: `"data":[]`},
		{path: "/api/v1/targets/metadata?match_target=" + url.QueryEscape(`{`), want: "bad_data"},
	}
	for _, tc := range cases {
		mc, mb := get(t, p.mine.url(tc.path))
		rc, rb := get(t, p.ref.url(tc.path))
		if tc.sorted {
			mb, rb = sortedData(t, mb), sortedData(t, rb)
		}
		if mc != rc || mb != rb {
			t.Errorf("GET %s:\n mytsdb     %d %s\n prometheus %d %s", tc.path, mc, mb, rc, rb)
			continue
		}
		if !strings.Contains(mb, tc.want) {
			t.Errorf("GET %s: both answered %s, which lacks %s", tc.path, mb, tc.want)
		}
	}
	checkMetadataLimit(t, p)
}

// TestExemplarsAndMetadataMatchPrometheus's limit=2 check: which families
// come first is Go map order in Prometheus, so the answer must hold two of
// the families of the full answer, each exactly as there.
func checkMetadataLimit(t *testing.T, p *pair) {
	t.Helper()
	var full, limited map[string]json.RawMessage
	if err := p.ref.getData("/api/v1/metadata", &full); err != nil {
		t.Fatal(err)
	}
	if err := p.mine.getData("/api/v1/metadata?limit=2", &limited); err != nil {
		t.Fatal(err)
	}
	if len(limited) != 2 {
		t.Errorf("metadata?limit=2 gave %d families: %v", len(limited), limited)
	}
	for name, md := range limited {
		if string(full[name]) != string(md) {
			t.Errorf("metadata?limit=2: %s is %s, Prometheus has %s", name, md, full[name])
		}
	}
}

// sortedData sorts the envelope's data array by each element's JSON (the
// order Prometheus gives comes from Go maps).
func sortedData(t *testing.T, body string) string {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		return body
	}
	var items []json.RawMessage
	if err := json.Unmarshal(env["data"], &items); err != nil {
		return body
	}
	sort.Slice(items, func(i, j int) bool { return string(items[i]) < string(items[j]) })
	b, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	env["data"] = b
	out, _ := json.Marshal(env)
	return string(out)
}
