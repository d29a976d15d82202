package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"
)

// queryCostTestConfig has the ceilings the cases run into: 3 cost_gauge
// series, 6 series in all.
const queryCostTestConfig = `global:
  scrape_interval: 15s
  evaluation_interval: 1m
  query_max_series: 5
  query_max_samples_read: 200
  query_max_duration: 1m
`

// queryCostData is 40 points, 15 s apart, of three gauges, two counters and
// a native histogram, ending a few minutes ago (one head chunk each in
// both servers).
func queryCostData(base int64) *prompb.WriteRequest {
	req := &prompb.WriteRequest{}
	add := func(f func(i int) float64, ls ...string) {
		ts := prompb.TimeSeries{}
		for i := 0; i+1 < len(ls); i += 2 {
			ts.Labels = append(ts.Labels, prompb.Label{Name: ls[i], Value: ls[i+1]})
		}
		for i := range 40 {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: base + int64(i)*15000, Value: f(i)})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	for _, inst := range []string{"a", "b", "c"} {
		add(func(i int) float64 { return float64(i%7) * 1.5 }, "__name__", "cost_gauge", "instance", inst, "job", "api")
	}
	for _, inst := range []string{"a", "b"} {
		add(func(i int) float64 { return float64(i * (3 + len(inst))) }, "__name__", "cost_requests_total", "instance", inst, "job", "api")
	}
	h := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: "cost_histogram"}, {Name: "job", Value: "api"}}}
	for i := range 40 {
		h.Histograms = append(h.Histograms, prompb.FromIntHistogram(base+int64(i)*15000, tsdbutil.GenerateTestHistogram(int64(i))))
	}
	req.Timeseries = append(req.Timeseries, h)
	return req
}

// TestQueryCostAsPrometheus runs mytsdb (its own storage) and the real
// Prometheus with --enable-feature=query-cost and the same ceilings, writes
// the same data to both and compares the cost endpoints, the overrides, the
// enforced limits, cost=true and /api/v1/features, then lowers a ceiling by
// a config reload; and without the feature: the endpoints are 404 and the
// overrides and limits are ignored.
func TestQueryCostAsPrometheus(t *testing.T) {
	base := time.Now().Add(-15 * time.Minute).Truncate(time.Minute).UnixMilli()
	mid, end := base+20*15000, base+39*15000
	sec := func(ms int64) string { return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64) }
	instant := func(path, query string, extra ...string) string {
		v := url.Values{"query": {query}, "time": {sec(mid)}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return "/api/v1/" + path + "?" + v.Encode()
	}
	ranged := func(path, query string, extra ...string) string {
		v := url.Values{"query": {query}, "start": {sec(base)}, "end": {sec(end)}, "step": {"30s"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return "/api/v1/" + path + "?" + v.Encode()
	}
	type costCase struct {
		path string
		code int // the reference's status with the feature (a case that stops testing its path fails)
	}
	cases := []costCase{
		{instant("query_cost", "cost_gauge"), 200},
		{instant("query_cost", `rate(cost_requests_total[5m])`), 200},
		{instant("query_cost", "cost_histogram"), 200},
		{instant("query_cost", `max_over_time(cost_gauge[5m:30s])`), 200},
		{instant("query_cost", "nothing_here"), 200},
		{instant("query_cost", `rate(cost_histogram[5m])`), 200},
		{instant("query_cost", `count_over_time(cost_gauge[2m] offset 3m)`), 200},
		{ranged("query_range_cost", `histogram_quantile(0.9, rate(cost_histogram[2m]))`), 200},
		{ranged("query_range_cost", `sum(rate(cost_requests_total[10m]))`), 200},
		{ranged("query_range_cost", `sum by (job) (rate(cost_requests_total[1m]))`), 200},
		{ranged("query_range_cost", "cost_gauge"), 200},
		{instant("query_cost", "sum("), 400},
		{instant("query", "cost_gauge", "max_series", "5"), 200},
		{instant("query", "cost_gauge", "max_series", "6"), 400},
		{instant("query", "cost_gauge", "max_samples_read", "201"), 400},
		{instant("query", "cost_gauge", "max_query_duration", "2m"), 400},
		{instant("query_cost", "cost_gauge", "max_series", "100"), 400},
		{instant("query", `{job="api"}`), 422},
		{instant("query", "cost_gauge", "max_series", "2"), 422},
		{instant("query", `sum_over_time(cost_requests_total[10m:1s])`), 422},
		{ranged("query_range", `sum(rate(cost_requests_total[5m]))`, "max_samples_read", "30"), 422},
		{instant("query", `rate(cost_requests_total[5m])`, "cost", "true"), 200},
		{instant("query", "cost_histogram", "cost", "true"), 200},
		{ranged("query_range", `sum(rate(cost_requests_total[1m]))`, "cost", "true"), 200},
		{instant("query", "cost_gauge", "cost", "maybe"), 400},
	}
	for _, on := range []bool{true, false} {
		name := "feature off"
		var flags []string
		if on {
			name, flags = "feature on", []string{"--enable-feature=query-cost"}
		}
		t.Run(name, func(t *testing.T) {
			p := startPair(t, queryCostTestConfig, flags...)
			for _, pr := range p.both() {
				if code, err := remoteWrite(http.DefaultClient, pr.addr, queryCostData(base)); err != nil || code != http.StatusNoContent {
					t.Fatalf("remote write to %s: %d %v", pr.addr, code, err)
				}
			}
			for _, c := range cases {
				mc, mb := get(t, p.mine.url(c.path))
				rc, rb := get(t, p.ref.url(c.path))
				if mc != rc || mb != rb {
					t.Errorf("GET %s:\n mytsdb     %d %s\n prometheus %d %s", c.path, mc, mb, rc, rb)
				}
				if on && rc != c.code {
					t.Errorf("GET %s: prometheus answered %d, the case expects %d: %s", c.path, rc, c.code, rb)
				}
			}
			var feats []bool
			for _, pr := range p.both() {
				_, body := get(t, pr.url("/api/v1/features"))
				var r struct {
					Data map[string]map[string]bool `json:"data"`
				}
				if err := json.Unmarshal([]byte(body), &r); err != nil {
					t.Fatalf("features of %s: %v: %s", pr.addr, err, body)
				}
				feats = append(feats, r.Data["api"]["query_cost"])
			}
			if feats[0] != on || feats[1] != on {
				t.Errorf("/api/v1/features api.query_cost: mytsdb %v, prometheus %v, want %v", feats[0], feats[1], on)
			}
			// A reload lowers max_series below the 3 cost_gauge series: the
			// engine's limit follows the config only with the feature.
			p.reload("global:\n  scrape_interval: 15s\n  query_max_series: 2\n")
			path := instant("query", "cost_gauge")
			mc, mb := get(t, p.mine.url(path))
			rc, rb := get(t, p.ref.url(path))
			if mc != rc || mb != rb {
				t.Errorf("after reload GET %s:\n mytsdb     %d %s\n prometheus %d %s", path, mc, mb, rc, rb)
			}
			if want := map[bool]int{true: 422, false: 200}[on]; rc != want {
				t.Errorf("after reload prometheus answered %d, want %d: %s", rc, want, rb)
			}
		})
	}
}
