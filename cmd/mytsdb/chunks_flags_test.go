package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSamplesPerChunkAsPrometheus remote-writes the same samples into mytsdb
// and the real Prometheus started with the same --storage.tsdb.samples-per-chunk
// and compares how many head chunks each cut; the flag must change the
// count, or the comparison would hold for a flag that is ignored.
func TestSamplesPerChunkAsPrometheus(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	req := perSecondWrite("spc_test", 3, now, func(i, s int) float64 { return float64(i * s) })
	names := []string{"prometheus_tsdb_head_chunks_created_total", "prometheus_tsdb_head_chunks"}
	created := map[string]float64{}
	for _, spc := range []string{"10", "120"} {
		var got []map[string]float64
		for _, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
			addr, dir := freeAddr(t), t.TempDir()
			cfg := filepath.Join(dir, "prometheus.yml")
			writeFile(t, cfg, "global:\n  scrape_interval: 1h\n")
			p := start(t, bin, dir, addr, "--config.file="+cfg, "--web.listen-address="+addr,
				"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"), "--web.enable-remote-write-receiver",
				"--storage.tsdb.samples-per-chunk="+spc)
			p.waitReady(30 * time.Second)
			if code, err := remoteWrite(http.DefaultClient, addr, req); err != nil || code != http.StatusNoContent {
				t.Fatalf("%s: remote write: %d %v", filepath.Base(bin), code, err)
			}
			m, err := p.metrics(names...)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, m)
			p.kill()
		}
		if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
			t.Errorf("samples-per-chunk=%s: mytsdb %v, prometheus %v", spc, got[0], got[1])
		}
		created[spc] = got[0][names[0]]
	}
	if created["10"] <= created["120"] {
		t.Errorf("samples-per-chunk=10 cut %v chunks, 120 cut %v", created["10"], created["120"])
	}
}

// TestHeadChunksWriteQueueSize: with --storage.tsdb.head-chunks-write-queue-size
// 0 (the default: each commit writes the chunks it cut) and 1000 (a queue),
// the chunks cut by a remote write land in <tenant>/head_chunks/, no
// not-honoured warning is logged, and after a SIGKILL every sample is
// answered again (the WAL replay rebuilds the chunk files).
func TestHeadChunksWriteQueueSize(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	req := perSecondWrite("hc_test", 3, now, func(i, s int) float64 { return float64(i*s) / 7 })
	names := []string{"mytsdb_head_chunks_written_total", "mytsdb_head_chunk_sync_writes_total", "prometheus_tsdb_head_chunks_storage_size_bytes"}
	for _, queue := range []string{"0", "1000"} {
		t.Run("queue="+queue, func(t *testing.T) {
			dir, data := t.TempDir(), filepath.Join(t.TempDir(), "data")
			cfg := filepath.Join(dir, "prometheus.yml")
			writeFile(t, cfg, "global:\n  scrape_interval: 1h\n")
			run := func() *proc {
				addr := freeAddr(t)
				p := start(t, mytsdbBinary, dir, addr, "--config.file="+cfg, "--web.listen-address="+addr,
					"--storage.tsdb.path="+data, "--web.enable-remote-write-receiver",
					"--storage.tsdb.head-chunks-write-queue-size="+queue)
				p.waitReady(30 * time.Second)
				return p
			}
			p := run()
			if code, err := remoteWrite(http.DefaultClient, p.addr, req); err != nil || code != http.StatusNoContent {
				t.Fatalf("remote write: %d %v", code, err)
			}
			var m map[string]float64
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				var err error
				if m, err = p.metrics(names...); err != nil {
					t.Fatal(err)
				}
				if m[names[0]] >= 12 || time.Now().After(deadline) {
					break
				}
			}
			if m[names[0]] < 12 || m[names[2]] <= 0 || (m[names[1]] > 0) != (queue == "0") {
				t.Fatalf("metrics %v", m)
			}
			t.Logf("metrics %v", m)
			segs, err := os.ReadDir(filepath.Join(data, "default", "head_chunks"))
			if err != nil || len(segs) == 0 {
				t.Fatalf("head_chunks: %v %v", segs, err)
			}
			if strings.Contains(p.logText(), "not honoured") {
				t.Fatalf("a not-honoured warning:\n%s", p.logText())
			}
			const q = `sum_over_time(hc_test[1h]) or count_over_time(hc_test[1h])`
			before, err := p.query(q, now)
			if err != nil || len(before.Result) != 3 {
				t.Fatalf("before the kill: %v %v", before, err)
			}
			p.kill()
			p = run()
			p.waitQueryValue(`sum(count_over_time(hc_test[1h]))`, "1800", 10*time.Second)
			after, err := p.query(q, now)
			if err != nil || fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("after the kill: %v (%v), before: %v", after, err, before)
			}
		})
	}
}
