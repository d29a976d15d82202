package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

// TestTenantsWiring: remote write and queries pick their tenant from
// X-Scope-OrgID; a tenant's data is invisible to the others, an invalid
// tenant is refused, and the data survives a restart in its own directory.
func TestTenantsWiring(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, "global:\n  scrape_interval: 15s\n")
	addr := freeAddr(t)
	args := []string{"--config.file=" + cfgPath, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr, "--web.enable-remote-write-receiver"}
	p := start(t, mytsdbBinary, dir, addr, args...)
	p.waitReady(30 * time.Second)

	now := time.Now().UnixMilli()
	write := func(tenant string) int {
		req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
			Labels:  []prompb.Label{{Name: "__name__", Value: "tenant_probe"}, {Name: "owner", Value: tenant}},
			Samples: []prompb.Sample{{Timestamp: now, Value: 42}},
		}}}
		code, _, err := remoteWriteAs(http.DefaultClient, p.addr, tenant, req)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	owners := func(tenant string) (int, []string) {
		hr, _ := http.NewRequest("GET", p.url("/api/v1/query?query="+url.QueryEscape("tenant_probe")+"&time="+url.QueryEscape(time.UnixMilli(now).Format(time.RFC3339Nano))), nil)
		if tenant != "" {
			hr.Header.Set("X-Scope-OrgID", tenant)
		}
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct {
			Data queryData `json:"data"`
		}
		b, _ := io.ReadAll(resp.Body)
		json.Unmarshal(b, &r)
		var out []string
		for _, s := range r.Data.Result {
			out = append(out, s.Metric["owner"])
		}
		return resp.StatusCode, out
	}

	for _, tenant := range []string{"", "team-a"} {
		if code := write(tenant); code != http.StatusNoContent {
			t.Fatalf("write for tenant %q: %d", tenant, code)
		}
	}
	if code := write("../evil"); code != http.StatusBadRequest {
		t.Fatalf("write for an invalid tenant: %d, want 400", code)
	}
	check := func(when string) {
		t.Helper()
		for tenant, want := range map[string]string{"": "", "default": "", "team-a": "team-a"} {
			code, got := owners(tenant)
			if code != 200 || len(got) != 1 || got[0] != want {
				t.Fatalf("%s: query as tenant %q: %d %v, want only owner %q", when, tenant, code, got, want)
			}
		}
		if code, got := owners("team-b"); code != 200 || len(got) != 0 {
			t.Fatalf("%s: tenant team-b sees %v (%d)", when, got, code)
		}
	}
	check("before restart")
	p.kill()
	p = start(t, mytsdbBinary, dir, addr, args...)
	p.waitReady(30 * time.Second)
	check("after restart")
}

// TestConfigAutoReload: --config.auto-reload picks up a changed file.
func TestConfigAutoReload(t *testing.T) {
	exporter, _ := fixtureExporter(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, scrapeConfig("first", exporter, "1s"))
	addr := freeAddr(t)
	p := start(t, mytsdbBinary, dir, addr, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--config.auto-reload", "--config.auto-reload-interval=1s")
	p.waitReady(30 * time.Second)
	p.waitQueryValue(`up{job="first"}`, "1", 30*time.Second)
	writeFile(t, cfgPath, scrapeConfig("second", exporter, "1s"))
	p.waitQueryValue(`up{job="second"}`, "1", 30*time.Second)
}
