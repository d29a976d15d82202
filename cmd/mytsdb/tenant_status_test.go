package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"mytsdb/promapi"
)

// TestTenantStatusEndpoint checks mytsdb's /api/v1/status/tenants against
// what the test wrote (series and samples per tenant, their time range),
// against Prometheus's per-tenant endpoints (/status/tsdb's head series,
// /status/tsdb/blocks' ULIDs), against the block directories on disk
// (sizes), and the append rate against the samples written between two
// readings and the time between them.
func TestTenantStatusEndpoint(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, "global:\n  scrape_interval: 15s\n")
	addr := freeAddr(t)
	data := filepath.Join(dir, "data")
	p := start(t, mytsdbBinary, dir, addr, "--config.file="+cfgPath, "--storage.tsdb.path="+data,
		"--web.listen-address="+addr, "--web.enable-remote-write-receiver")
	p.waitReady(30 * time.Second)

	now := time.Now().Truncate(time.Minute)
	write := func(tenant string, series ...prompb.TimeSeries) {
		t.Helper()
		code, body, err := remoteWriteAs(http.DefaultClient, p.addr, tenant, &prompb.WriteRequest{Timeseries: series})
		if err != nil || code != http.StatusNoContent {
			t.Fatalf("write to %s: %d %s %v", tenant, code, body, err)
		}
	}
	gauge := func(name string, from, to time.Time, step time.Duration) (prompb.TimeSeries, int) {
		ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: name}}}
		for at := from; !at.After(to); at = at.Add(step) {
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: at.UnixMilli(), Value: float64(at.Unix() % 13)})
		}
		return ts, len(ts.Samples)
	}
	// team-a: one series over the last 10 minutes. team-c: five hours of one
	// series (the head cuts the old part into blocks), then two more series.
	a, nA := gauge("a_gauge", now.Add(-10*time.Minute), now, time.Minute)
	write("team-a", a)
	c1, nC1 := gauge("c_history", now.Add(-5*time.Hour), now, time.Minute)
	write("team-c", c1)
	c2, nC2 := gauge("c_recent", now.Add(-time.Minute), now, 10*time.Second)
	c3, nC3 := gauge("c_other", now.Add(-time.Minute), now, 30*time.Second)
	write("team-c", c2, c3)

	// Per-tenant metrics (the head's, the Parquet tier's) carry the
	// tenant label once: /metrics and /status/runtimeinfo (which gathers
	// them) keep answering with several tenants.
	for _, path := range []string{"/metrics", "/api/v1/status/runtimeinfo"} {
		if code, body := get(t, p.url(path)); code != http.StatusOK {
			t.Fatalf("%s with three tenants: HTTP %d: %.300s", path, code, body)
		}
	}
	if _, body := get(t, p.url("/metrics")); !strings.Contains(body, `mytsdb_parquet_cache_bytes{tenant="team-a"}`) {
		t.Errorf("/metrics has no Parquet cache gauge of team-a")
	}
	deadline := time.Now().Add(20 * time.Second)
	var blocks []struct {
		ULID string `json:"ulid"`
	}
	for len(blocks) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("team-c's head was not cut into blocks")
		}
		time.Sleep(100 * time.Millisecond)
		var d struct {
			Blocks []struct {
				ULID string `json:"ulid"`
			} `json:"blocks"`
		}
		getData(t, p.url("/api/v1/status/tsdb/blocks"), "team-c", &d)
		blocks = d.Blocks
	}

	var ts []promapi.TenantStatus
	getData(t, p.url("/api/v1/status/tenants"), "", &ts)
	ids := []string{}
	for _, x := range ts {
		ids = append(ids, x.Tenant)
	}
	if want := []string{"default", "team-a", "team-c"}; !slices.Equal(ids, want) {
		t.Fatalf("tenants %v, want %v", ids, want)
	}
	want := map[string]struct {
		series, samples int
		mint, maxt      time.Time
	}{
		"default": {0, 0, time.Time{}, time.Time{}},
		"team-a":  {1, nA, now.Add(-10 * time.Minute), now},
		"team-c":  {3, nC1 + nC2 + nC3, now.Add(-5 * time.Hour), now},
	}
	for _, x := range ts {
		w := want[x.Tenant]
		var tsdb struct {
			HeadStats struct {
				NumSeries uint64 `json:"numSeries"`
			} `json:"headStats"`
		}
		getData(t, p.url("/api/v1/status/tsdb"), x.Tenant, &tsdb)
		if x.NumSeries != tsdb.HeadStats.NumSeries {
			t.Errorf("%s: %d head series, /status/tsdb says %d", x.Tenant, x.NumSeries, tsdb.HeadStats.NumSeries)
		}
		if x.SamplesAppended != float64(w.samples) {
			t.Errorf("%s: %v samples appended, wrote %d", x.Tenant, x.SamplesAppended, w.samples)
		}
		if w.samples == 0 {
			if x.MinTime != nil || x.MaxTime != nil || x.HeadMinTime != nil {
				t.Errorf("%s holds nothing but has a time range: %+v", x.Tenant, x)
			}
		} else if x.MinTime == nil || x.MaxTime == nil || *x.MinTime != w.mint.UnixMilli() || *x.MaxTime != w.maxt.UnixMilli() {
			t.Errorf("%s: range %v–%v, wrote %d–%d", x.Tenant, x.MinTime, x.MaxTime, w.mint.UnixMilli(), w.maxt.UnixMilli())
		}
		// The tier is on (a FILESYSTEM bucket in <data>/bucket): what it
		// reports is what its data objects take there.
		if want := bucketObjectBytes(t, filepath.Join(data, "bucket", x.Tenant)); x.BucketBytes == nil || *x.BucketBytes != want {
			t.Errorf("%s: bucket bytes %v, the bucket's data objects hold %d", x.Tenant, x.BucketBytes, want)
		}
		if w.samples > 0 && (x.WALBytes <= 0 || x.DiskBytes < x.BlocksBytes) {
			t.Errorf("%s: WAL %d bytes, disk %d, blocks %d", x.Tenant, x.WALBytes, x.DiskBytes, x.BlocksBytes)
		}
	}
	c := ts[2]
	if c.Blocks != len(blocks) || len(c.BlockBytes) != len(blocks) {
		t.Fatalf("team-c: %d blocks (%v), /status/tsdb/blocks lists %d", c.Blocks, c.BlockBytes, len(blocks))
	}
	var total int64
	for _, b := range blocks {
		onDisk := treeSize(t, filepath.Join(data, "team-c", "blocks", b.ULID))
		if c.BlockBytes[b.ULID] != onDisk || onDisk == 0 {
			t.Errorf("block %s: %d bytes reported, %d on disk", b.ULID, c.BlockBytes[b.ULID], onDisk)
		}
		total += onDisk
	}
	if c.BlocksBytes != total {
		t.Errorf("team-c: blocks %d bytes, on disk %d", c.BlocksBytes, total)
	}

	// The rate: samples written between two readings over the time between
	// them, bounded by the readings' start and end times. A reading less
	// than a second after the previous one keeps that one as the base, so
	// the first is taken a second after the last.
	time.Sleep(1100 * time.Millisecond)
	t0 := time.Now()
	getData(t, p.url("/api/v1/status/tenants"), "", &ts)
	t1 := time.Now()
	more, n := gauge("a_more", now.Add(-time.Minute), now, time.Second)
	write("team-a", more)
	time.Sleep(1200 * time.Millisecond)
	t2 := time.Now()
	getData(t, p.url("/api/v1/status/tenants"), "", &ts)
	t3 := time.Now()
	r := ts[1].SamplesPerSecond
	lo, hi := float64(n)/t3.Sub(t0).Seconds(), float64(n)/t2.Sub(t1).Seconds()
	if r == nil || *r < lo || *r > hi {
		t.Fatalf("team-a rate %v, want %d samples over %s–%s: %.1f–%.1f/s", deref(r), n, t2.Sub(t1), t3.Sub(t0), lo, hi)
	}
	if r := ts[2].SamplesPerSecond; r == nil || *r != 0 {
		t.Errorf("team-c wrote nothing between the readings, rate %v", deref(r))
	}
}

// getData GETs an API URL as tenant ("" = none) and decodes its data.
func getData(t *testing.T, u, tenant string, into any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if tenant != "" {
		req.Header.Set("X-Scope-OrgID", tenant)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	if err := json.Unmarshal(r.Data, into); err != nil {
		t.Fatal(fmt.Errorf("GET %s: %w", u, err))
	}
}

// treeSize sums the lengths of the regular files under dir.
func treeSize(t *testing.T, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		n += fi.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// bucketObjectBytes sums the sizes of a tenant's Parquet objects in a
// FILESYSTEM bucket (the blocks' data files; meta.json is their listing).
func bucketObjectBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && d.Name() != "meta.json" {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
