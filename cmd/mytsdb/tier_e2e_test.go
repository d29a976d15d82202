package main

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

// TestParquetTierEndToEnd runs the real binary with 10s blocks and its
// default FILESYSTEM bucket (<data>/bucket/) beside the real Prometheus
// given the same samples: the cut blocks appear in the bucket as Parquet
// while still local; after a restart with --storage.parquet.local-retention=0s
// the local copies go, /api/v1/status/tsdb/blocks lists them with
// "tier":"parquet", and /api/v1/query_range answers byte for byte what it
// answered before the drop and what Prometheus answers.
func TestParquetTierEndToEnd(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfg, "global:\n  scrape_interval: 15s\n")
	common := []string{
		"--config.file=" + cfg,
		"--web.enable-remote-write-receiver",
		"--storage.tsdb.min-block-duration=10s",
		"--storage.tsdb.max-block-duration=10s",
		"--log.level=info",
	}
	data := filepath.Join(dir, "data")
	mineAddr, refAddr := freeAddr(t), freeAddr(t)
	startMine := func(localRetention string) *proc {
		p := start(t, mytsdbBinary, dir, mineAddr, append(slicesClone(common),
			"--storage.tsdb.path="+data, "--web.listen-address="+mineAddr,
			"--storage.parquet.local-retention="+localRetention)...)
		p.waitReady(30 * time.Second)
		return p
	}
	mine := startMine("1h")
	ref := start(t, prometheusBinary(t), dir, refAddr, append(slicesClone(common),
		"--storage.tsdb.path="+filepath.Join(dir, "ref-data"), "--web.listen-address="+refAddr)...)
	ref.waitReady(30 * time.Second)

	t0 := time.Now().Add(-10 * time.Minute).Truncate(10 * time.Second).UnixMilli()
	client := &http.Client{Timeout: 10 * time.Second}
	write := func(p *proc, from, to int64) {
		t.Helper()
		for ts := from; ts < to; ts += 1000 {
			req := &prompb.WriteRequest{}
			for i := range 6 {
				v := float64((ts-t0)/1000*int64(i+1)) + float64(i)/4 // counters with uneven increments
				if i == 5 {
					v = math.Sin(float64(ts) / 7000) // a gauge
				}
				req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
					Labels: []prompb.Label{
						{Name: "__name__", Value: []string{"tier_requests_total", "tier_requests_total", "tier_requests_total", "tier_bytes_total", "tier_bytes_total", "tier_temperature"}[i]},
						{Name: "instance", Value: "host-" + strconv.Itoa(i)},
						{Name: "job", Value: "tier"},
					},
					Samples: []prompb.Sample{{Timestamp: ts, Value: v}},
				})
			}
			if code, err := remoteWrite(client, p.addr, req); err != nil || code/100 != 2 {
				t.Fatalf("remote write to %s at %d: %d %v", p.addr, ts, code, err)
			}
		}
	}
	phase1 := t0 + 120_000
	write(mine, t0, phase1)
	write(ref, t0, phase1)

	bucket := filepath.Join(data, "bucket", "default")
	localBlocks := filepath.Join(data, "default", "blocks")
	var uploaded []string
	waitFor(t, time.Minute, "blocks uploaded to the bucket", func() bool {
		uploaded = completeBlocks(t, bucket)
		return len(uploaded) >= 8
	})
	for _, id := range uploaded {
		if _, err := os.Stat(filepath.Join(localBlocks, id)); err != nil {
			t.Fatalf("block %s is in the bucket and, with a local retention of 1h, must still be local: %v", id, err)
		}
	}

	queries := []string{
		"tier_requests_total",
		"rate(tier_requests_total[30s])",
		"sum by (job) (rate(tier_bytes_total[1m]))",
		"max_over_time(tier_temperature[20s])",
		"count({job=\"tier\"})",
	}
	rangeQuery := func(p *proc, q string, from, to int64) string {
		t.Helper()
		v := url.Values{"query": {q}, "start": {fmt.Sprintf("%.3f", float64(from)/1000)},
			"end": {fmt.Sprintf("%.3f", float64(to)/1000)}, "step": {"5"}}
		code, body := get(t, p.url("/api/v1/query_range?"+v.Encode()))
		if code != http.StatusOK {
			t.Fatalf("query_range %s: %d %s", q, code, body)
		}
		return body
	}
	before := map[string]string{}
	for _, q := range queries {
		before[q] = rangeQuery(mine, q, t0, phase1-1)
		if want := rangeQuery(ref, q, t0, phase1-1); before[q] != want {
			t.Fatalf("query_range %s before the drop:\n mytsdb     %s\n prometheus %s", q, before[q], want)
		}
		if !strings.Contains(before[q], `"values"`) {
			t.Fatalf("query_range %s answered no series: %s", q, before[q])
		}
	}

	// Restart with no local retention: the next round drops every block
	// the bucket holds a verified copy of.
	stopGracefully(t, mine)
	mine = startMine("0s")
	write(mine, phase1, phase1+30_000)
	write(ref, phase1, phase1+30_000)
	waitFor(t, time.Minute, "the uploaded blocks removed locally", func() bool {
		for _, id := range uploaded {
			if _, err := os.Stat(filepath.Join(localBlocks, id)); err == nil {
				return false
			}
		}
		return true
	})
	var st struct {
		Blocks []struct {
			ULID string `json:"ulid"`
			Tier string `json:"tier"`
		} `json:"blocks"`
	}
	if err := mine.getData("/api/v1/status/tsdb/blocks", &st); err != nil {
		t.Fatal(err)
	}
	tiered := map[string]bool{}
	for _, b := range st.Blocks {
		if b.Tier == "parquet" {
			tiered[b.ULID] = true
		}
	}
	for _, id := range uploaded {
		if !tiered[id] {
			t.Fatalf("block %s is only in the bucket but /api/v1/status/tsdb/blocks does not list it with tier parquet: %+v", id, st.Blocks)
		}
	}
	for _, q := range queries {
		if got := rangeQuery(mine, q, t0, phase1-1); got != before[q] {
			t.Fatalf("query_range %s after the drop:\n now    %s\n before %s", q, got, before[q])
		}
		got, want := rangeQuery(mine, q, t0, phase1+30_000), rangeQuery(ref, q, t0, phase1+30_000)
		if got != want {
			t.Fatalf("query_range %s over the tier and the head:\n mytsdb     %s\n prometheus %s", q, got, want)
		}
	}
}

// completeBlocks lists the block directories of a tenant in a FILESYSTEM
// bucket that hold a meta.json.
func completeBlocks(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "meta.json")); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// TestParquetTierConfigErrors: a bucket config that objstore refuses, a
// missing file or a bad duration stop the start with exit status 2 and a
// message naming the flag, before the storage opens.
func TestParquetTierConfigErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "prometheus.yml"), "global:\n  scrape_interval: 15s\n")
	writeFile(t, filepath.Join(dir, "unknown.yml"), "type: NOPE\n")
	writeFile(t, filepath.Join(dir, "typo.yml"), "type: S3\nconfig:\n  bucket: b\n  endpnt: localhost:1\n")
	for _, tc := range []struct {
		flag, want string
	}{
		{"--storage.parquet.bucket-config-file=unknown.yml", "bucket with type NOPE is not supported"},
		{"--storage.parquet.bucket-config-file=typo.yml", "field endpnt not found"},
		{"--storage.parquet.bucket-config-file=missing.yml", "no such file or directory"},
		{"--storage.parquet.retention=soon", "not a valid duration string"},
	} {
		cmd := exec.Command(mytsdbBinary, "--config.file=prometheus.yml", "--storage.tsdb.path=data",
			"--web.listen-address="+freeAddr(t), tc.flag)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("%s: exit %v, want status 2; output:\n%s", tc.flag, err, out)
		}
		if !strings.Contains(string(out), "Error loading the Parquet tier configuration") || !strings.Contains(string(out), tc.want) ||
			!strings.Contains(string(out), strings.SplitN(tc.flag, "=", 2)[0]) {
			t.Fatalf("%s: the output does not say what is wrong (want %q):\n%s", tc.flag, tc.want, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
			t.Fatalf("%s: the storage was opened before the config was checked (%v)", tc.flag, err)
		}
	}
}
