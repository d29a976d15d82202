package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"
)

// TestMemorySnapshotOnShutdown: with --enable-feature=memory-snapshot-on-shutdown
// a SIGTERM leaves <tenant>/chunk_snapshot.<segment>.<offset>, the restart
// loads it (Prometheus's "Chunk snapshot is enabled, replaying from the
// snapshot" line, then "chunk snapshot loaded") without a WAL replay, answers
// as before, keeps appending, and a SIGKILL after that replays the WAL
// (the snapshot was deleted when it was loaded) with the same answers.
func TestMemorySnapshotOnShutdown(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	req := perSecondWrite("snap_test", 4, now, func(i, s int) float64 { return float64(i*s) / 7 })
	nh := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: "snap_hist"}}}
	for i := range 300 {
		h := tsdbutil.GenerateTestHistogram(int64(i))
		h.CounterResetHint = histogram.NotCounterReset
		nh.Histograms = append(nh.Histograms, prompb.FromIntHistogram(now.Add(time.Duration(2*i-600)*time.Second).UnixMilli(), h))
	}
	req.Timeseries = append(req.Timeseries, nh)

	dir, data := t.TempDir(), filepath.Join(t.TempDir(), "data")
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, "global:\n  scrape_interval: 1h\n")
	run := func() *proc {
		addr := freeAddr(t)
		p := start(t, mytsdbBinary, dir, addr, "--config.file="+cfg, "--web.listen-address="+addr,
			"--storage.tsdb.path="+data, "--web.enable-remote-write-receiver",
			"--enable-feature=memory-snapshot-on-shutdown")
		p.waitReady(30 * time.Second)
		return p
	}
	term := func(p *proc) {
		t.Helper()
		stopGracefully(t, p)
		if p.err != nil {
			t.Fatalf("exit after SIGTERM: %v", p.err)
		}
	}
	snapshots := func() []string {
		m, _ := filepath.Glob(filepath.Join(data, "default", "chunk_snapshot.*"))
		return m
	}
	// Floats, and the native histograms summed (a sum of all of them) and
	// as a rate (the newest ones).
	const q = `sum_over_time(snap_test[1h]) or count_over_time(snap_test[1h]) or label_replace(histogram_count(sum_over_time(snap_hist[1h])), "q", "count", "", "") or label_replace(histogram_sum(rate(snap_hist[5m])), "q", "rate", "", "") or label_replace(histogram_quantile(0.9, rate(snap_hist[5m])), "q", "p90", "", "")`
	p := run()
	if log := p.logText(); !strings.Contains(log, "Experimental memory snapshot on shutdown enabled") || strings.Contains(log, "not honoured") {
		t.Fatalf("start log:\n%s", log)
	}
	if code, err := remoteWrite(http.DefaultClient, p.addr, req); err != nil || code != http.StatusNoContent {
		t.Fatalf("remote write: %d %v", code, err)
	}
	before, err := p.query(q, now)
	if err != nil || len(before.Result) != 7 {
		t.Fatalf("before the restart: %v %v", before, err)
	}
	term(p)
	if s := snapshots(); len(s) != 1 {
		t.Fatalf("snapshot files after SIGTERM: %v", s)
	}
	p = run()
	log := p.logText()
	for _, want := range []string{"Chunk snapshot is enabled, replaying from the snapshot", "chunk snapshot loaded"} {
		if !strings.Contains(log, want) {
			t.Fatalf("no %q in the log:\n%s", want, log)
		}
	}
	if strings.Contains(log, "WAL replay completed") {
		t.Fatalf("the WAL was replayed after the snapshot was loaded:\n%s", log)
	}
	if s := snapshots(); len(s) != 0 {
		t.Fatalf("snapshot files after the load: %v", s)
	}
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "snapshot") {
			t.Log(l)
		}
	}
	after, err := p.query(q, now)
	if err != nil || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after the restart: %v (%v), before: %v", after, err, before)
	}
	// Appends continue; a crash now replays the WAL, which holds it all.
	more := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "snap_test"}, {Name: "s", Value: "0"}},
		Samples: []prompb.Sample{{Timestamp: now.Add(time.Second).UnixMilli(), Value: 1}},
	}}}
	if code, err := remoteWrite(http.DefaultClient, p.addr, more); err != nil || code != http.StatusNoContent {
		t.Fatalf("remote write after the restart: %d %v", code, err)
	}
	p.kill()
	p = run()
	if log := p.logText(); !strings.Contains(log, "WAL replay completed") || strings.Contains(log, "chunk snapshot loaded") {
		t.Fatalf("after a crash: want a WAL replay:\n%s", log)
	}
	again, err := p.query(q, now)
	if err != nil || fmt.Sprint(again) != fmt.Sprint(before) {
		t.Fatalf("after the crash: %v (%v), before: %v", again, err, before)
	}
	p.waitQueryValue(`count_over_time(snap_test{s="0"}[1h] @ `+strconv.FormatInt(now.Add(time.Second).Unix(), 10)+`)`, "601", 10*time.Second)

	// The real Prometheus logs the same lines for the same steps.
	promData := filepath.Join(t.TempDir(), "data")
	runProm := func() *proc {
		addr := freeAddr(t)
		p := start(t, prometheusBinary(t), dir, addr, "--config.file="+cfg, "--web.listen-address="+addr,
			"--storage.tsdb.path="+promData, "--web.enable-remote-write-receiver",
			"--enable-feature=memory-snapshot-on-shutdown")
		p.waitReady(30 * time.Second)
		return p
	}
	p = runProm()
	if code, err := remoteWrite(http.DefaultClient, p.addr, req); err != nil || code != http.StatusNoContent {
		t.Fatalf("remote write to Prometheus: %d %v", code, err)
	}
	term(p)
	p = runProm()
	for _, want := range []string{"Experimental memory snapshot on shutdown enabled", "Chunk snapshot is enabled, replaying from the snapshot", "chunk snapshot loaded"} {
		if !strings.Contains(p.logText(), want) {
			t.Fatalf("Prometheus no longer logs %q:\n%s", want, p.logText())
		}
	}
	promAfter, err := p.query(q, now)
	if err != nil || fmt.Sprint(promAfter) != fmt.Sprint(before) {
		t.Fatalf("Prometheus after its restart: %v (%v), mytsdb before: %v", promAfter, err, before)
	}
}
