package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

// TestSamplesPerChunkAsPrometheus remote-writes the same samples into mytsdb
// and the real Prometheus started with the same --storage.tsdb.samples-per-chunk
// and compares how many head chunks each cut; the flag must change the
// count, or the comparison would hold for a flag that is ignored.
func TestSamplesPerChunkAsPrometheus(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	req := &prompb.WriteRequest{}
	for s := range 3 {
		ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: "spc_test"}, {Name: "s", Value: strconv.Itoa(s)}}}
		for i := range 600 {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: now.Add(time.Duration(i-600) * time.Second).UnixMilli(), Value: float64(i * s)})
		}
		req.Timeseries = append(req.Timeseries, ts)
	}
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
