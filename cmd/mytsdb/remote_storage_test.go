package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

// startReceiver runs the reference Prometheus as a remote-write receiver on
// addr with its data in dir.
func startReceiver(t *testing.T, dir, addr string) *proc {
	t.Helper()
	cfg := filepath.Join(dir, "receiver.yml")
	writeFile(t, cfg, "global:\n  scrape_interval: 1m\n")
	p := start(t, prometheusBinary(t), dir, addr,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "receiver-data"),
		"--web.listen-address="+addr,
		"--web.enable-remote-write-receiver",
		"--query.lookback-delta=5m",
	)
	p.waitReady(30 * time.Second)
	return p
}

// sameSamples checks that every sample mytsdb holds for selector up to
// until (the newest may still be on their way) is in the receiver with the
// same value, and that the receiver holds none mytsdb does not.
func sameSamples(t *testing.T, mine, theirs *proc, selector string, from, until time.Time) (int, error) {
	t.Helper()
	window := strconv.Itoa(int(time.Since(from)/time.Second)+2) + "s"
	now := time.Now()
	want, err := mine.rangeSamples(selector, window, now)
	if err != nil {
		return 0, err
	}
	got, err := theirs.rangeSamples(selector, window, now)
	if err != nil {
		return 0, err
	}
	n := 0
	for key, ss := range want {
		have := map[int64]string{}
		for _, s := range got[key] {
			have[s.T] = s.V
		}
		for _, s := range ss {
			if s.T > until.UnixMilli() {
				continue
			}
			n++
			v, ok := have[s.T]
			if !ok {
				return n, fmt.Errorf("series %s: sample at %d (%s) missing in the receiver", key, s.T, s.V)
			}
			if v != s.V {
				return n, fmt.Errorf("series %s: sample at %d is %s in the receiver, %s in mytsdb", key, s.T, v, s.V)
			}
		}
	}
	for key, ss := range got {
		mineAt := map[int64]bool{}
		for _, s := range want[key] {
			mineAt[s.T] = true
		}
		for _, s := range ss {
			if !mineAt[s.T] {
				return n, fmt.Errorf("series %s: receiver has a sample at %d (%s) mytsdb does not", key, s.T, s.V)
			}
		}
	}
	return n, nil
}

// waitSameSamples retries sameSamples until it holds.
func waitSameSamples(t *testing.T, mine, theirs *proc, selector string, from, until time.Time, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n, err := sameSamples(t, mine, theirs, selector, from, until)
		if err == nil {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", selector, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestRemoteWriteToPrometheus: mytsdb scrapes a fixture and remote-writes
// it (from its WAL) to the real Prometheus. The receiver ends up with the
// same samples as mytsdb, including those scraped while the receiver was
// down and those scraped before a restart of mytsdb during which the
// receiver was down.
func TestRemoteWriteToPrometheus(t *testing.T) {
	// The outages run with RW 1.0, whose receiver refuses a whole request
	// holding one sample it already has (what a follower must not send
	// again after a restart); RW 2.0 takes the same path through the
	// follower, and its run stops after the first comparison.
	for _, proto := range []string{"prometheus.WriteRequest", "io.prometheus.write.v2.Request"} {
		t.Run(proto, func(t *testing.T) { testRemoteWriteToPrometheus(t, proto, proto == "prometheus.WriteRequest") })
	}
}

func testRemoteWriteToPrometheus(t *testing.T, proto string, outages bool) {
	exporter, _ := fixtureExporter(t)
	dir := t.TempDir()
	recvAddr := freeAddr(t)
	recv := startReceiver(t, dir, recvAddr)

	// The short run also drops a metric by write relabelling.
	relabel, sel := "", `{job="fixture",__name__=~"fixture_.*|up"}`
	if !outages {
		relabel = "    write_relabel_configs:\n      - source_labels: [__name__]\n        regex: fixture_temperature\n        action: drop\n"
		sel = `{job="fixture",__name__=~"fixture_requests_total|up"}`
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, scrapeConfig("fixture", exporter, "200ms")+fmt.Sprintf(`remote_write:
  - url: http://%s/api/v1/write
    protobuf_message: %s
    queue_config:
      batch_send_deadline: 100ms
      min_backoff: 50ms
      max_backoff: 300ms
`, recvAddr, proto)+relabel)
	addr := freeAddr(t)
	args := []string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--storage.remote.flush-deadline=1s",
		"--query.lookback-delta=5m",
	}
	began := time.Now()
	m := start(t, mytsdbBinary, dir, addr, args...)
	m.waitReady(30 * time.Second)
	m.waitQueryValue(`up{job="fixture"}`, "1", 30*time.Second)
	time.Sleep(time.Second)
	n := waitSameSamples(t, m, recv, sel, began, time.Now(), 10*time.Second)
	t.Logf("receiver up: %d samples the same", n)
	if !outages {
		mine, err := m.query(`count(fixture_temperature)`, time.Time{})
		if err != nil || len(mine.Result) != 1 {
			t.Fatalf("mytsdb lacks fixture_temperature: %+v %v", mine, err)
		}
		theirs, err := recv.query(`count(fixture_temperature)`, time.Time{})
		if err != nil || len(theirs.Result) != 0 {
			t.Fatalf("the receiver has fixture_temperature, which write relabelling drops: %+v %v", theirs, err)
		}
		return
	}

	// The receiver goes away for a few scrapes and comes back.
	stopGracefully(t, recv)
	time.Sleep(2 * time.Second)
	recv = startReceiver(t, dir, recvAddr)
	n = waitSameSamples(t, m, recv, sel, began, time.Now(), 15*time.Second)
	t.Logf("after the receiver's outage: %d samples the same", n)

	// The receiver goes away, mytsdb restarts meanwhile (its queue cannot
	// flush), then the receiver comes back: nothing scraped is lost.
	stopGracefully(t, recv)
	time.Sleep(time.Second)
	stopGracefully(t, m)
	stoppedAt := time.Now()
	m = start(t, mytsdbBinary, dir, addr, args...)
	m.waitReady(30 * time.Second)
	time.Sleep(time.Second)
	recv = startReceiver(t, dir, recvAddr)
	n = waitSameSamples(t, m, recv, sel, began, time.Now(), 15*time.Second)
	t.Logf("after mytsdb's restart during the receiver's outage: %d samples the same", n)
	if n < int(stoppedAt.Sub(began)/(200*time.Millisecond)) {
		t.Fatalf("only %d samples compared over %s of 200ms scrapes", n, stoppedAt.Sub(began))
	}
}

// TestRemoteReadFromPrometheus: mytsdb configured with the real Prometheus
// as a remote_read endpoint answers queries with what Prometheus answers
// for its own data; and with external labels, required_matchers and
// filter_external_labels, as a real Prometheus configured the same way
// answers.
func TestRemoteReadFromPrometheus(t *testing.T) {
	dir := t.TempDir()
	recvAddr := freeAddr(t)
	recv := startReceiver(t, dir, recvAddr)
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	var req prompb.WriteRequest
	for s := range 3 {
		ts := prompb.TimeSeries{Labels: []prompb.Label{
			{Name: "__name__", Value: "rr_metric"}, {Name: "instance", Value: strconv.Itoa(s)}, {Name: "job", Value: "rr"},
		}}
		if s == 2 { // a series carrying the external label the readers set
			ts.Labels = append(ts.Labels, prompb.Label{Name: "site", Value: "a"})
		}
		for i := range 60 {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: base.Add(time.Duration(i) * 10 * time.Second).UnixMilli(), Value: float64(i*(s+1)) + 0.25})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	if code, err := remoteWrite(client, recvAddr, &req); err != nil || code != http.StatusNoContent {
		t.Fatalf("seeding the reference: code %d, err %v", code, err)
	}
	at := base.Add(9 * time.Minute)
	instant := []string{`rr_metric`, `sum by (job) (rr_metric)`, `rate(rr_metric[2m])`, `rr_metric{instance="1"}`, `count(rr_metric > 50)`, `absent(nothing_here)`}
	compare := func(mine, theirs *proc) {
		t.Helper()
		for _, q := range instant {
			v := url.Values{"query": {q}, "time": {strconv.FormatInt(at.Unix(), 10)}}
			same(t, mine, theirs, "/api/v1/query", v)
		}
		v := url.Values{"query": {`rr_metric`}, "start": {strconv.FormatInt(base.Unix(), 10)}, "end": {strconv.FormatInt(at.Unix(), 10)}, "step": {"30"}}
		same(t, mine, theirs, "/api/v1/query_range", v)
		v = url.Values{"match[]": {`rr_metric`}, "start": {strconv.FormatInt(base.Unix(), 10)}, "end": {strconv.FormatInt(at.Unix(), 10)}}
		same(t, mine, theirs, "/api/v1/series", v)
	}
	startReader := func(bin, cfg, name string) *proc {
		t.Helper()
		cfgPath := filepath.Join(dir, name+".yml")
		writeFile(t, cfgPath, cfg)
		addr := freeAddr(t)
		p := start(t, bin, dir, addr, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, name+"-data"), "--web.listen-address="+addr)
		p.waitReady(30 * time.Second)
		return p
	}

	plain := fmt.Sprintf("remote_read:\n  - url: http://%s/api/v1/read\n    read_recent: true\n", recvAddr)
	m := startReader(mytsdbBinary, plain, "plain")
	compare(m, recv)
	stopGracefully(t, m)

	// The options upstream's remote read client implements, checked against
	// Prometheus as the client.
	options := fmt.Sprintf(`global:
  external_labels: {site: a}
remote_read:
  - url: http://%[1]s/api/v1/read
    name: filtered
    read_recent: true
  - url: http://%[1]s/api/v1/read?only=1
    name: only1
    read_recent: true
    filter_external_labels: false
    required_matchers: {instance: "1"}
`, recvAddr)
	m = startReader(mytsdbBinary, options, "options-mytsdb")
	ref := startReader(prometheusBinary(t), options, "options-prometheus")
	compare(m, ref)
}

// same posts v to path on both servers and compares the JSON answers.
func same(t *testing.T, mine, theirs *proc, path string, v url.Values) {
	t.Helper()
	get := func(p *proc) any {
		resp, err := http.PostForm(p.url(path), v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var out any
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("%s %v: %d %q", path, v, resp.StatusCode, body)
		}
		return out
	}
	a, b := get(mine), get(theirs)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("%s %v:\nmytsdb:     %s\nprometheus: %s", path, v, ja, jb)
	}
	if bytes.Contains(jb, []byte(`"result":[]`)) && v.Get("query") != "absent(nothing_here)" {
		t.Fatalf("%s %v: empty answer, the comparison proves nothing: %s", path, v, jb)
	}
}

// remoteMetricNames returns the names of the remote-storage metric families
// p exposes (with their label names), from /metrics.
func remoteMetricNames(t *testing.T, p *proc) map[string]bool {
	t.Helper()
	resp, err := http.Get(p.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]bool{}
	for _, line := range bytes.Split(body, []byte("\n")) {
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		name, rest, _ := bytes.Cut(line, []byte("{"))
		name, _, _ = bytes.Cut(name, []byte(" "))
		if !bytes.HasPrefix(name, []byte("prometheus_remote_storage_")) && !bytes.HasPrefix(name, []byte("prometheus_wal_watcher_")) {
			continue
		}
		var keys []string
		for _, kv := range bytes.Split(rest, []byte(",")) {
			if k, _, ok := bytes.Cut(kv, []byte("=")); ok {
				keys = append(keys, string(k))
			}
		}
		out[fmt.Sprintf("%s%v", name, keys)] = true
	}
	return out
}

// TestRemoteWriteMetricsAsPrometheus: with the same remote_write config
// (a receiver that is not there), mytsdb exposes the same remote storage
// and WAL watcher metric families, with the same labels, as Prometheus.
func TestRemoteWriteMetricsAsPrometheus(t *testing.T) {
	dir := t.TempDir()
	dead := freeAddr(t)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, fmt.Sprintf(`remote_write:
  - url: http://%s/api/v1/write
    name: one
  - url: http://%s/v2
    protobuf_message: io.prometheus.write.v2.Request
`, dead, dead))
	run := func(bin string) map[string]bool {
		addr := freeAddr(t)
		p := start(t, bin, dir, addr, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, filepath.Base(bin)+"-data"), "--web.listen-address="+addr)
		p.waitReady(30 * time.Second)
		names := remoteMetricNames(t, p)
		stopGracefully(t, p)
		return names
	}
	mine, theirs := run(mytsdbBinary), run(prometheusBinary(t))
	if len(theirs) < 10 {
		t.Fatalf("Prometheus exposes only %d remote storage series: %v", len(theirs), theirs)
	}
	for n := range theirs {
		if !mine[n] {
			t.Errorf("mytsdb lacks %s", n)
		}
	}
	for n := range mine {
		if !theirs[n] {
			t.Errorf("mytsdb has %s, Prometheus does not", n)
		}
	}
}

// TestRemoteWriteAppliedOnReload: a remote_write added by a reload (SIGHUP)
// starts sending, from then on, what mytsdb scrapes.
func TestRemoteWriteAppliedOnReload(t *testing.T) {
	exporter, _ := fixtureExporter(t)
	dir := t.TempDir()
	recvAddr := freeAddr(t)
	recv := startReceiver(t, dir, recvAddr)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, scrapeConfig("fixture", exporter, "200ms"))
	addr := freeAddr(t)
	m := start(t, mytsdbBinary, dir, addr, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--storage.remote.flush-deadline=1s")
	m.waitReady(30 * time.Second)
	m.waitQueryValue(`up{job="fixture"}`, "1", 30*time.Second)
	sel := `{job="fixture",__name__=~"fixture_.*|up"}`
	if d, err := recv.query(`count(`+sel+`)`, time.Time{}); err != nil || len(d.Result) != 0 {
		t.Fatalf("the receiver has data before any remote_write: %+v %v", d, err)
	}
	writeFile(t, cfgPath, scrapeConfig("fixture", exporter, "200ms")+fmt.Sprintf(`remote_write:
  - url: http://%s/api/v1/write
    queue_config:
      batch_send_deadline: 100ms
`, recvAddr))
	reloaded := time.Now()
	if err := m.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	// Compare from a second after the reload (the queue starts at the end of
	// the WAL when it is created); sameSamples's window reaches 2s before from.
	from := reloaded.Add(3 * time.Second)
	n := waitSameSamples(t, m, recv, sel, from, time.Now(), 10*time.Second)
	if n < 10 {
		t.Fatalf("only %d samples compared after the reload", n)
	}
}
