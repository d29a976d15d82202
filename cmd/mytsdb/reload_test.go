package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func post(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func metricsText(t *testing.T, p *proc) string {
	t.Helper()
	resp, err := http.Get(p.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestReloadBadConfigKeepsOld: a broken config on POST /-/reload is refused
// with the same status and body as the real Prometheus gives for the same
// file, the old config keeps scraping, and a good config applied by SIGHUP
// replaces it.
func TestReloadBadConfigKeepsOld(t *testing.T) {
	exporter, _ := fixtureExporter(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, scrapeConfig("old", exporter, "1s"))

	type server struct {
		name string
		p    *proc
	}
	var servers []server
	for _, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
		addr := freeAddr(t)
		p := start(t, bin, dir, addr, "--config.file="+cfgPath, "--web.listen-address="+addr,
			"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"), "--web.enable-lifecycle")
		servers = append(servers, server{filepath.Base(bin), p})
	}
	for _, s := range servers {
		s.p.waitReady(30 * time.Second)
		s.p.waitQueryValue(`up{job="old"}`, "1", 30*time.Second)
	}

	writeFile(t, cfgPath, "scrape_configs:\n  - job_name: new\n    no_such_field: 1\n")
	code0, body0 := post(t, servers[0].p.url("/-/reload"))
	code1, body1 := post(t, servers[1].p.url("/-/reload"))
	if code0 != http.StatusInternalServerError || code0 != code1 || body0 != body1 {
		t.Fatalf("bad reload: mytsdb answered %d %q, prometheus %d %q", code0, body0, code1, body1)
	}
	if !strings.Contains(servers[0].p.logText(), "Error reloading config") {
		t.Fatal("mytsdb did not log the rejected reload")
	}
	if !strings.Contains(metricsText(t, servers[0].p), "prometheus_config_last_reload_successful 0") {
		t.Fatal("prometheus_config_last_reload_successful is not 0 after a failed reload")
	}
	// Both raise the same notice for the UI (dates differ).
	want := []string{"Configuration reload has failed.:true"}
	for _, srv := range servers {
		if got := notices(t, srv.p); !slices.Equal(got, want) {
			t.Errorf("%s notices after the failed reload: %q, want %q", srv.name, got, want)
		}
	}
	// The old job keeps being scraped: fresh samples after the failed reload.
	time.Sleep(2500 * time.Millisecond)
	d, err := servers[0].p.query(`count_over_time(up{job="old"}[2s])`, time.Time{})
	if err != nil || len(d.Result) != 1 {
		t.Fatalf("old job not scraped after the failed reload: %v %+v", err, d)
	}

	writeFile(t, cfgPath, scrapeConfig("new", exporter, "1s"))
	if err := servers[0].p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	servers[0].p.waitQueryValue(`up{job="new"}`, "1", 30*time.Second)
	if !strings.Contains(metricsText(t, servers[0].p), "prometheus_config_last_reload_successful 1") {
		t.Fatal("prometheus_config_last_reload_successful is not 1 after a good reload")
	}
	if code, body := post(t, servers[0].p.url("/-/reload")); code != http.StatusOK {
		t.Fatalf("good reload: %d %q", code, body)
	}
	if got := notices(t, servers[0].p); len(got) != 0 {
		t.Errorf("notices after the good reload: %q, want none", got)
	}
}

// notices returns /api/v1/notifications as "text:active" strings.
func notices(t *testing.T, p *proc) []string {
	t.Helper()
	resp, err := http.Get(p.url("/api/v1/notifications"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   []struct {
			Text   string `json:"text"`
			Active bool   `json:"active"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("notifications: %v %+v", err, body)
	}
	out := []string{}
	for _, n := range body.Data {
		out = append(out, fmt.Sprintf("%s:%v", n.Text, n.Active))
	}
	return out
}

// TestLifecycleEndpointsMatchPrometheus compares the /-/ endpoints and the
// disabled remote-write endpoint of mytsdb and the real Prometheus, request by
// request: status, body and content type must be identical.
func TestLifecycleEndpointsMatchPrometheus(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, "global:\n  scrape_interval: 15s\n")
	var ps []*proc
	for _, bin := range []string{mytsdbBinary, prometheusBinary(t)} {
		addr := freeAddr(t)
		p := start(t, bin, dir, addr, "--config.file="+cfgPath, "--web.listen-address="+addr,
			"--storage.tsdb.path="+filepath.Join(t.TempDir(), "data"))
		ps = append(ps, p)
	}
	for _, p := range ps {
		p.waitReady(30 * time.Second)
	}
	type answer struct {
		code        int
		body, ctype string
	}
	do := func(p *proc, method, path string) answer {
		req, err := http.NewRequest(method, p.url(path), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, string(b), resp.Header.Get("Content-Type")}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/-/healthy"}, {"HEAD", "/-/healthy"}, {"GET", "/-/ready"}, {"HEAD", "/-/ready"},
		{"POST", "/-/reload"}, {"PUT", "/-/reload"}, {"GET", "/-/reload"},
		{"POST", "/-/quit"}, {"PUT", "/-/quit"}, {"GET", "/-/quit"},
		{"POST", "/api/v1/write"},
	} {
		a, b := do(ps[0], c.method, c.path), do(ps[1], c.method, c.path)
		if a != b {
			t.Errorf("%s %s: mytsdb %+v, prometheus %+v", c.method, c.path, a, b)
		}
	}
	for _, p := range ps {
		if p.exited() {
			t.Fatal("a server exited although the lifecycle API is disabled")
		}
	}
}
