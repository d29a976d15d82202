package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

// TestSearchAPIMatchesPrometheus: the binary with --enable-feature=search-api
// and --web.search.max-limit, beside the real Prometheus with the same flags
// and the same remote-written series, answers the search endpoints (over
// mytsdb's storage: head, tenants) and /api/v1/features' api section as
// Prometheus does; the same pair without the feature answers "search API
// disabled" and says search is off.
func TestSearchAPIMatchesPrometheus(t *testing.T) {
	now := time.Now().Add(-time.Minute).UnixMilli()
	var req prompb.WriteRequest
	for i, name := range []string{"http_requests_total", "http_request_duration_seconds", "node_cpu_seconds_total", "process_open_fds"} {
		for j, job := range []string{"api", "node", "db"} {
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
				Labels:  []prompb.Label{{Name: "__name__", Value: name}, {Name: "instance", Value: "host-" + strconv.Itoa(j)}, {Name: "job", Value: job}, {Name: "team_" + strconv.Itoa(i), Value: "x"}},
				Samples: []prompb.Sample{{Timestamp: now, Value: float64(i + j)}},
			})
		}
	}
	client := &http.Client{Timeout: 5 * time.Second}
	rng := "&start=" + strconv.FormatInt(now/1000-60, 10) + "&end=" + strconv.FormatInt(now/1000+60, 10)

	p := startPair(t, "global:\n  scrape_interval: 15s\n", "--enable-feature=search-api", "--web.search.max-limit=20")
	for _, s := range p.both() {
		if code, err := remoteWrite(client, s.addr, &req); err != nil || code != http.StatusNoContent {
			t.Fatalf("remote write to %s: %d %v", s.addr, code, err)
		}
	}
	paths := []string{
		"/api/v1/search/metric_names?search[]=http" + rng,
		"/api/v1/search/metric_names?search[]=cpu&fuzz_alg=jarowinkler&fuzz_threshold=60&include_score=true&sort_by=score" + rng,
		"/api/v1/search/metric_names?search[]=sec&include_score=true&sort_by=score&limit=2&batch_size=1" + rng,
		"/api/v1/search/metric_names?match[]={job=\"db\"}&sort_by=alpha&sort_dir=dsc" + rng,
		"/api/v1/search/label_names?search[]=team&include_score=true" + rng,
		"/api/v1/search/label_names?match[]=process_open_fds" + rng,
		"/api/v1/search/label_values?label=instance&search[]=HOST-1&case_sensitive=false" + rng,
		"/api/v1/search/label_values?label=job&match[]={__name__=~\"http.*\"}" + rng,
		"/api/v1/search/label_values?label=job&limit=21",
	}
	for _, path := range paths {
		mc, mb := get(t, p.mine.url(path))
		rc, rb := get(t, p.ref.url(path))
		if mc != rc || mb != rb {
			t.Errorf("GET %s:\n mytsdb     %d %s\n prometheus %d %s", path, mc, mb, rc, rb)
		}
	}
	if _, body := get(t, p.ref.url(paths[0])); !strings.Contains(body, "http_requests_total") {
		t.Fatalf("the reference found nothing, the comparison proves little: %s", body)
	}
	_, mf := get(t, p.mine.url("/api/v1/features"))
	_, rf := get(t, p.ref.url("/api/v1/features"))
	if ms, rs := featureSection(t, mf, "api"), featureSection(t, rf, "api"); ms != rs || !strings.Contains(rs, `"search":true`) {
		t.Errorf("/api/v1/features api section:\n mytsdb     %s\n prometheus %s", ms, rs)
	}

	off := startPair(t, "global:\n  scrape_interval: 15s\n")
	for _, path := range paths[:2] {
		mc, mb := get(t, off.mine.url(path))
		rc, rb := get(t, off.ref.url(path))
		if mc != rc || mb != rb || rc != http.StatusInternalServerError {
			t.Errorf("without the feature, GET %s:\n mytsdb     %d %s\n prometheus %d %s", path, mc, mb, rc, rb)
		}
	}
	_, mf = get(t, off.mine.url("/api/v1/features"))
	_, rf = get(t, off.ref.url("/api/v1/features"))
	if ms, rs := featureSection(t, mf, "api"), featureSection(t, rf, "api"); ms != rs || !strings.Contains(rs, `"search":false`) {
		t.Errorf("/api/v1/features api section without the feature:\n mytsdb     %s\n prometheus %s", ms, rs)
	}
}
