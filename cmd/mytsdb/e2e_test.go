package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fixtureExporter serves text-format metrics with a counter that increases
// on every scrape.
func fixtureExporter(t *testing.T) (addr string, scrapes *atomic.Int64) {
	t.Helper()
	scrapes = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := scrapes.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP fixture_requests_total Scrapes served by the fixture.\n# TYPE fixture_requests_total counter\nfixture_requests_total %d\n# HELP fixture_temperature A gauge.\n# TYPE fixture_temperature gauge\nfixture_temperature{room=\"a\"} 21.5\n", n)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), scrapes
}

func scrapeConfig(job, target, interval string) string {
	return fmt.Sprintf(`global:
  scrape_interval: %s
  evaluation_interval: 15s
scrape_configs:
  - job_name: %s
    static_configs:
      - targets: [%q]
`, interval, job, target)
}

// TestEndToEndScrapeRemoteWriteKillRestart runs the real binary with
// Prometheus-style flags: it scrapes a fixture exporter, receives remote
// writes, is SIGKILLed mid-stream and restarted with the same flags; every
// acknowledged sample must come back exactly once with its exact value, and
// the scraped counter's samples from before the crash must survive too.
func TestEndToEndScrapeRemoteWriteKillRestart(t *testing.T) {
	exporter, _ := fixtureExporter(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, scrapeConfig("fixture", exporter, "1s"))
	addr := freeAddr(t)
	args := []string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--storage.tsdb.retention.time=15d",
		"--web.listen-address=" + addr,
		"--web.enable-remote-write-receiver",
		"--query.lookback-delta=5m",
		"--log.level=info",
	}
	p := start(t, mytsdbBinary, dir, addr, args...)
	p.waitReady(30 * time.Second)
	p.waitQueryValue(`up{job="fixture"}`, "1", 30*time.Second)

	l := newLedger("e2e_rw", 10, time.Now().Add(-30*time.Minute))
	stop, done := make(chan struct{}), make(chan struct{})
	go l.writer(addr, stop, done)
	// Let the writer run while a few scrapes happen too.
	minKill := time.Now().Add(3 * time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for (l.acks() < 50 || time.Now().Before(minKill)) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if l.acks() < 50 {
		close(stop)
		<-done
		t.Fatalf("only %d remote-write batches acknowledged in 30s", l.acks())
	}
	killedAt := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	close(stop)
	<-done
	t.Logf("killed after %d acknowledged batches (%d failed)", l.acks(), l.failures())

	p = start(t, mytsdbBinary, dir, addr, args...)
	p.waitReady(30 * time.Second)
	if err := l.verify(p); err != nil {
		t.Fatalf("after SIGKILL and restart: %v", err)
	}

	// Scraped samples written well before the crash are durable too, and the
	// counter only went up.
	scraped, err := p.rangeSamples(`fixture_requests_total{job="fixture"}`, "10m", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(scraped) != 1 {
		t.Fatalf("want one fixture_requests_total series, got %v", scraped)
	}
	var before int
	for _, ss := range scraped {
		for i, s := range ss {
			if s.T < killedAt.Add(-1500*time.Millisecond).UnixMilli() {
				before++
			}
			if i > 0 {
				prev, _ := strconv.ParseFloat(ss[i-1].V, 64)
				cur, _ := strconv.ParseFloat(s.V, 64)
				if cur <= prev {
					t.Fatalf("counter went from %v to %v at %d", prev, cur, s.T)
				}
			}
		}
	}
	if before < 2 {
		t.Fatalf("no scraped sample from before the crash survived: %v", scraped)
	}
	p.waitQueryValue(`up{job="fixture"}`, "1", 30*time.Second)

	// Appending to the recovered series still works, and a graceful stop
	// (SIGTERM) keeps everything as well.
	client := &http.Client{Timeout: 5 * time.Second}
	for range 20 {
		if code, err := l.push(client, addr); err != nil || code != http.StatusNoContent {
			t.Fatalf("remote write after restart: code %d, err %v", code, err)
		}
	}
	if err := l.verify(p); err != nil {
		t.Fatalf("after more writes: %v", err)
	}
	stopGracefully(t, p)
	if p.err != nil {
		t.Fatalf("exit after SIGTERM: %v", p.err)
	}
	if !strings.Contains(p.logText(), "See you next time!") {
		t.Fatal("graceful shutdown did not complete (no \"See you next time!\" in the log)")
	}
	p = start(t, mytsdbBinary, dir, addr, args...)
	p.waitReady(30 * time.Second)
	if err := l.verify(p); err != nil {
		t.Fatalf("after graceful restart: %v", err)
	}
}
