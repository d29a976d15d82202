package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// agentConfig scrapes target every 200ms and remote-writes to recvAddr with
// short batches, so that samples reach the receiver within a second.
func agentConfig(target, recvAddr string) string {
	return scrapeConfig("fixture", target, "200ms") + fmt.Sprintf(`remote_write:
  - url: http://%s/api/v1/write
    queue_config:
      batch_send_deadline: 100ms
      min_backoff: 50ms
      max_backoff: 300ms
`, recvAddr)
}

// receivedCounts returns the values of fixture_requests_total the receiver
// holds (the fixture's scrape numbers), in time order.
func receivedCounts(t *testing.T, recv *proc) []int {
	t.Helper()
	got, err := recv.rangeSamples(`fixture_requests_total{job="fixture"}`, "1h", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > 1 {
		t.Fatalf("the receiver holds %d fixture_requests_total series, want 1: %v", len(got), got)
	}
	var out []int
	for _, ss := range got {
		for _, s := range ss {
			n, err := strconv.Atoi(s.V)
			if err != nil {
				t.Fatalf("sample %v: %v", s, err)
			}
			out = append(out, n)
		}
	}
	return out
}

// waitReceived waits until the receiver holds a scrape number of at least n.
func waitReceived(t *testing.T, recv *proc, n int, timeout time.Duration) []int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := receivedCounts(t, recv)
		if len(got) > 0 && got[len(got)-1] >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver did not get scrape %d within %s; it holds %v", n, timeout, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkRun fails unless got holds every scrape number of [from, to] exactly
// once, in order (the fixture counts its scrapes, and only the agent
// scrapes it, so the receiver must see 1, 2, 3, ... for every sample sent).
func checkRun(t *testing.T, got []int, from, to int, what string) {
	t.Helper()
	i := slices.Index(got, from)
	if i < 0 {
		t.Fatalf("%s: scrape %d missing from the receiver, which holds %v", what, from, got)
	}
	for n := from; n <= to; n++ {
		if i >= len(got) || got[i] != n {
			t.Fatalf("%s: want every scrape %d..%d once, in order; the receiver holds %v", what, from, to, got)
		}
		i++
	}
}

// lastStored is the last scrape a stopped agent stored: the fixture's last
// one (served), or the one before when the stop cancelled the scrape in
// flight after the fixture had answered it (the scrape loop then drops it).
func lastStored(t *testing.T, got []int, served int) int {
	t.Helper()
	if len(got) > 0 && got[len(got)-1] == served-1 {
		t.Logf("scrape %d was in flight at the stop", served)
		return served - 1
	}
	return served
}

// TestAgentRemoteWritesToPrometheus: mytsdb --agent scrapes a fixture and
// remote-writes to the real Prometheus. Every scrape arrives, once and in
// order; a graceful stop flushes the queue, so the receiver then holds every
// scrape; after a restart the agent replays its WAL (its series) and goes
// on; a SIGKILL loses nothing the receiver had already got and duplicates
// nothing, and the run after the restart arrives whole. Samples scraped but
// not yet sent at the SIGKILL are not sent again, as in Prometheus's agent
// (its WAL watcher starts at the restart).
func TestAgentRemoteWritesToPrometheus(t *testing.T) {
	exporter, scrapes := fixtureExporter(t)
	dir := t.TempDir()
	recvAddr := freeAddr(t)
	recv := startReceiver(t, dir, recvAddr)
	cfgPath := filepath.Join(dir, "agent.yml")
	writeFile(t, cfgPath, agentConfig(exporter, recvAddr))
	addr := freeAddr(t)
	agentDir := filepath.Join(dir, "agent-data")
	args := []string{
		"--agent",
		"--config.file=" + cfgPath,
		"--storage.agent.path=" + agentDir,
		"--web.listen-address=" + addr,
		"--storage.remote.flush-deadline=10s",
		"--storage.agent.wal-compression-type=zstd",
		"--web.enable-remote-write-receiver",
	}
	m := start(t, mytsdbBinary, dir, addr, args...)
	m.waitReady(30 * time.Second)
	got := waitReceived(t, recv, 10, 30*time.Second)
	checkRun(t, got, 1, got[len(got)-1], "running")

	// What the agent receives by remote write is forwarded too.
	// (Newer than the queue's start: the WAL watcher sends nothing older.)
	pushed := time.Now().UnixMilli()
	push := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "pushed_metric"}, {Name: "job", Value: "push"}},
		Samples: []prompb.Sample{{Timestamp: pushed, Value: 7.25}},
	}}}
	if code, err := remoteWrite(&http.Client{Timeout: 5 * time.Second}, addr, push); err != nil || code != http.StatusNoContent {
		t.Fatalf("remote write to the agent: %d %v", code, err)
	}
	recv.waitQueryValue(`pushed_metric{job="push"}`, "7.25", 15*time.Second)

	// A graceful stop sends what is queued: the receiver holds every scrape.
	stopGracefully(t, m)
	got = receivedCounts(t, recv)
	last := lastStored(t, got, int(scrapes.Load()))
	checkRun(t, got, 1, last, "after a graceful stop")
	if len(got) != last {
		t.Fatalf("after a graceful stop the receiver holds %d samples for %d scrapes: %v", len(got), last, got)
	}

	// The restart replays the agent WAL (the WAL, not a fresh one, is what
	// the queue tails: the series records of before the stop come back).
	m = start(t, mytsdbBinary, dir, addr, args...)
	m.waitReady(30 * time.Second)
	// (Open starts a fresh segment, 1, and then replays 0 and 1.)
	if !strings.Contains(m.logText(), `msg="WAL segment loaded" segment=0 maxSegment=1`) {
		t.Fatalf("the restarted agent did not replay its WAL's first segment:\n%s", tail(m.logText(), 30))
	}
	got = waitReceived(t, recv, last+10, 30*time.Second)
	checkRun(t, got, 1, last, "after the restart")
	before := got

	// SIGKILL: what the receiver had stays, nothing comes twice.
	m.kill()
	killedAt := int(scrapes.Load())
	m = start(t, mytsdbBinary, dir, addr, args...)
	m.waitReady(30 * time.Second)
	firstAfter := killedAt + 1
	got = waitReceived(t, recv, firstAfter+10, 30*time.Second)
	stopGracefully(t, m)
	got = receivedCounts(t, recv)
	end := lastStored(t, got, int(scrapes.Load()))
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatalf("the receiver holds duplicates or out-of-order scrapes: %v", got)
	}
	for _, n := range before {
		if !slices.Contains(got, n) {
			t.Fatalf("scrape %d, received before the SIGKILL, is gone: %v", n, got)
		}
	}
	checkRun(t, got, firstAfter, end, "the run after the SIGKILL")
	t.Logf("%d scrapes, %d received; lost at the SIGKILL: %d", end, len(got), end-len(got))
}

// agentAnswer is one endpoint's answer, with the fields that differ between
// two runs by construction (times, durations, ports, goroutines) masked.
func agentAnswer(t *testing.T, p *proc, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, p.url(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.ReplaceAll(string(raw), p.addr, "ADDR")
	_, port, _ := strings.Cut(p.addr, ":")
	body = strings.ReplaceAll(body, ":"+port+"/", ":PORT/")
	var v any
	if json.Unmarshal([]byte(body), &v) != nil {
		return resp.StatusCode, body
	}
	mask(v)
	out, _ := json.Marshal(v)
	return resp.StatusCode, string(out)
}

// volatileKeys are the JSON fields masked in agentAnswer.
var volatileKeys = map[string]bool{
	"startTime": true, "serverTime": true, "lastConfigTime": true, "goroutineCount": true,
	"lastScrape": true, "lastScrapeDuration": true, "CWD": true,
	"config.file": true, "storage.agent.path": true, "web.listen-address": true,
	"version": true, // buildinfo's: the test build sets mytsdb's (compliance/server.LDFlags)
}

func mask(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if volatileKeys[k] {
				x[k] = "MASKED"
				continue
			}
			mask(e)
		}
	case []any:
		for _, e := range x {
			mask(e)
		}
	}
}

// TestAgentAPIMatchesPrometheus starts mytsdb --agent and prometheus
// --agent with the same flags and configuration (both scraping the same
// fixture) and compares the status code and body of every endpoint: those
// the agent refuses, those it serves (status, targets, flags, features,
// config), the health endpoints and the home page's redirect.
func TestAgentAPIMatchesPrometheus(t *testing.T) {
	exporter, _ := fixtureExporter(t)
	var procs []*proc
	var cfgs []string
	for _, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "agent.yml")
		cfgs = append(cfgs, cfg)
		writeFile(t, cfg, scrapeConfig("fixture", exporter, "1s"))
		addr := freeAddr(t)
		p := start(t, bin, dir, addr, "--agent", "--config.file="+cfg, "--storage.agent.path="+filepath.Join(dir, "agent-data"),
			"--web.listen-address="+addr, "--web.enable-lifecycle", "--storage.agent.retention.max-time=2h",
			"--web.enable-remote-write-receiver")
		procs = append(procs, p)
	}
	mine, ref := procs[0], procs[1]
	mine.waitReady(30 * time.Second)
	ref.waitReady(30 * time.Second)
	// Both have scraped the fixture (targets show health "up").
	for _, p := range procs {
		deadline := time.Now().Add(20 * time.Second)
		for {
			_, body := get(t, p.url("/api/v1/targets"))
			if strings.Contains(body, `"health":"up"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the fixture target is not up: %s", p.addr, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/query?query=up"}, {"POST", "/api/v1/query?query=up"},
		{"GET", "/api/v1/query_range?query=up&start=0&end=10&step=1"},
		{"GET", "/api/v1/query_exemplars?query=up"},
		{"GET", "/api/v1/format_query?query=up"}, {"GET", "/api/v1/parse_query?query=up"},
		{"GET", "/api/v1/labels"}, {"GET", "/api/v1/label/job/values"},
		{"GET", "/api/v1/series?match[]=up"}, {"GET", "/api/v1/alertmanagers"},
		{"GET", "/api/v1/status/tsdb"}, {"GET", "/api/v1/status/tsdb/blocks"},
		{"GET", "/api/v1/alerts"}, {"GET", "/api/v1/rules"},
		{"POST", "/api/v1/admin/tsdb/snapshot"}, {"PUT", "/api/v1/admin/tsdb/delete_series"},
		{"POST", "/api/v1/admin/tsdb/clean_tombstones"},
		{"GET", "/api/v1/status/walreplay"}, {"GET", "/api/v1/notifications"},
		{"GET", "/api/v1/status/buildinfo"}, {"GET", "/api/v1/status/config"},
		{"GET", "/api/v1/status/runtimeinfo"}, {"GET", "/api/v1/features"},
		{"GET", "/api/v1/status/flags"}, {"GET", "/api/v1/targets"},
		{"GET", "/api/v1/scrape_pools"}, {"GET", "/api/v1/targets/metadata?match_target={job=\"fixture\"}"},
		{"GET", "/api/v1/search/metric_names"}, {"POST", "/api/v1/write"},
		{"POST", "/api/v1/otlp/v1/metrics"}, {"GET", "/federate?match[]=up"},
		{"GET", "/-/healthy"}, {"GET", "/-/ready"}, {"GET", "/"}, {"GET", "/query"}, {"GET", "/rules"},
	} {
		mc, mb := agentAnswer(t, mine, c.method, c.path)
		rc, rb := agentAnswer(t, ref, c.method, c.path)
		if c.path == "/api/v1/status/flags" {
			mb, rb = dropOwnFlags(t, mb), dropOwnFlags(t, rb)
		}
		if strings.HasPrefix(c.path, "/api/v1/targets/metadata") {
			// Prometheus lists a target's metadata from a map: in no order.
			mb, rb = sortedByMetric(t, mb), sortedByMetric(t, rb)
		}
		if mc != rc || mb != rb {
			t.Errorf("%s %s:\n mytsdb     %d %s\n prometheus %d %s", c.method, c.path, mc, mb, rc, rb)
		}
	}
	// Remote write is taken whatever X-Scope-OrgID says (the agent has no
	// tenants); remote read answers as the agent's WAL-only storage does.
	client := &http.Client{Timeout: 5 * time.Second}
	now := time.Now().UnixMilli()
	w := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels: []prompb.Label{{Name: "__name__", Value: "pushed"}}, Samples: []prompb.Sample{{Timestamp: now, Value: 1}},
	}}}
	rr, err := (&prompb.ReadRequest{Queries: []*prompb.Query{{StartTimestampMs: now - 60_000, EndTimestampMs: now,
		Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_EQ, Name: "__name__", Value: "up"}}}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var answers [2]string
	for i, p := range procs {
		code, body, err := remoteWriteAs(client, p.addr, "../not a tenant", w)
		if err != nil {
			t.Fatal(err)
		}
		rc, rb := postBody(t, p.url("/api/v1/read"), snappy.Encode(nil, rr),
			"Content-Encoding", "snappy", "Content-Type", "application/x-protobuf", "X-Prometheus-Remote-Read-Version", "0.1.0")
		answers[i] = fmt.Sprintf("write %d %q; read %d %q", code, body, rc, rb)
	}
	t.Logf("remote write and read: %s", answers[1])
	if answers[0] != answers[1] {
		t.Errorf("remote write and read:\n mytsdb     %s\n prometheus %s", answers[0], answers[1])
	}
	// A reload with a server-only section fails as Prometheus's does, and
	// the agent keeps running.
	for i, p := range procs {
		writeFile(t, cfgs[i], scrapeConfig("fixture", exporter, "1s")+"rule_files: [rules.yml]\n")
		code, body := post(t, p.url("/-/reload"))
		answers[i] = fmt.Sprintf("%d %s", code, strings.ReplaceAll(body, cfgs[i], "CFG"))
	}
	if answers[0] != answers[1] || !strings.Contains(answers[1], "rule_files is not allowed in agent mode") {
		t.Errorf("reload with rule_files:\n mytsdb     %s\n prometheus %s", answers[0], answers[1])
	}
	for _, p := range procs {
		if code, _ := get(t, p.url("/-/ready")); code != http.StatusOK {
			t.Errorf("%s not ready after the failed reload: %d", p.addr, code)
		}
	}
	// The agent DB's and the remote storage's metrics are Prometheus's own.
	mm, rm := agentMetricFamilies(t, mine), agentMetricFamilies(t, ref)
	if len(rm) < 10 || !maps.Equal(mm, rm) {
		t.Errorf("agent metric families:\n mytsdb     %v\n prometheus %v", slices.Sorted(maps.Keys(mm)), slices.Sorted(maps.Keys(rm)))
	}
}

// postBody sends body and returns the status and the response body.
func postBody(t *testing.T, u string, body []byte, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// agentMetricFamilies are the names (with label names) of the families the
// agent's storage and its remote queues expose on /metrics.
func agentMetricFamilies(t *testing.T, p *proc) map[string]bool {
	t.Helper()
	_, body := get(t, p.url("/metrics"))
	out := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "# TYPE prometheus_agent_") && !strings.HasPrefix(line, "# TYPE prometheus_remote_storage_") && !strings.HasPrefix(line, "# TYPE prometheus_wal_watcher_") {
			continue
		}
		out[strings.Fields(line)[2]] = true
	}
	return out
}

// dropOwnFlags removes mytsdb's own flags (which Prometheus lacks) from a
// /status/flags answer.
func dropOwnFlags(t *testing.T, body string) string {
	t.Helper()
	var r struct {
		Status string            `json:"status"`
		Data   map[string]string `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("status/flags: %v: %s", err, body)
	}
	for _, own := range []string{"storage.wal.sync", "storage.wal.sync-interval", "storage.wal.writer", "storage.prometheus-data.keep",
		"storage.parquet.enabled", "storage.parquet.bucket-config-file", "storage.parquet.local-retention", "storage.parquet.retention", "storage.parquet.cache-size", "rules.tenant-dir"} {
		delete(r.Data, own)
	}
	out, _ := json.Marshal(r)
	return string(out)
}

// sortedByMetric sorts the data array of a /targets/metadata answer by
// metric name.
func sortedByMetric(t *testing.T, body string) string {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return body
	}
	if data, ok := r["data"].([]any); ok {
		slices.SortStableFunc(data, func(a, b any) int {
			ma, _ := a.(map[string]any)
			mb, _ := b.(map[string]any)
			return strings.Compare(fmt.Sprint(ma["metric"]), fmt.Sprint(mb["metric"]))
		})
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
