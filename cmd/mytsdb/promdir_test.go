package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"mytsdb/storage/crashpoint"
)

// TestPrometheusDataDir: mytsdb started with the --storage.tsdb.path of a
// (SIGKILLed) reference Prometheus logs one warning about Prometheus's data,
// serves the default tenant with Prometheus's history in it, refuses
// X-Scope-OrgID values naming Prometheus's entries, and leaves every
// Prometheus file byte for byte as it was.
func TestPrometheusDataDir(t *testing.T) {
	promBin := prometheusBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	addr := freeAddr(t)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['"+addr+"']\n")
	args := []string{"--config.file=" + cfgPath, "--storage.tsdb.path=" + data, "--web.listen-address=" + addr}

	prom := start(t, promBin, dir, addr, args...)
	prom.waitReady(60 * time.Second)
	prom.waitQueryValue(`up{job="self"}`, "1", 30*time.Second)
	scraped := time.Now()
	if err := prom.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-prom.done
	before := treeHashes(t, data)
	for _, want := range []string{"wal", "chunks_head", "lock", "queries.active"} {
		if _, ok := before[want]; !ok {
			t.Fatalf("prometheus did not create %s; tree: %v", want, before)
		}
	}

	// mytsdb scrapes nothing here (its own config has no scrape jobs), so
	// that the only data it writes is the test's.
	ours := filepath.Join(dir, "mytsdb.yml")
	writeFile(t, ours, "global:\n  scrape_interval: 15s\n")
	p := start(t, mytsdbBinary, dir, addr, "--config.file="+ours, "--storage.tsdb.path="+data,
		"--web.listen-address="+addr, "--web.enable-remote-write-receiver", "--storage.prometheus-data.keep")
	p.waitReady(30 * time.Second)

	now := time.Now().UnixMilli()
	write := func(tenant string) (int, string) {
		req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
			Labels:  []prompb.Label{{Name: "__name__", Value: "beside_prometheus"}},
			Samples: []prompb.Sample{{Timestamp: now, Value: 42}},
		}}}
		code, body, err := remoteWriteAs(http.DefaultClient, p.addr, tenant, req)
		if err != nil {
			t.Fatal(err)
		}
		return code, body
	}
	if code, body := write(""); code != http.StatusNoContent {
		t.Fatalf("write to the default tenant: %d %s", code, body)
	}
	reserved := []string{"wal", "chunks_head", "lock", "queries.active", "wbl", "snapshots", "01JGXYZ8T5ZKQ4M3W9V6N2B7CD"}
	for _, tenant := range reserved {
		if code, body := write(tenant); code != http.StatusBadRequest || !strings.Contains(body, "reserved") {
			t.Errorf("write as tenant %q: %d %q, want 400 naming it reserved", tenant, code, body)
		}
	}
	// A query naming a reserved tenant is refused like any invalid tenant:
	// 400 with Prometheus's bad_data error, and nothing is created.
	for _, tenant := range reserved {
		hr, _ := http.NewRequest(http.MethodGet, p.url("/api/v1/query?query="+url.QueryEscape(`{__name__=~".+"}`)), nil)
		hr.Header.Set("X-Scope-OrgID", tenant)
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var r struct {
			Status    string `json:"status"`
			ErrorType string `json:"errorType"`
			Error     string `json:"error"`
		}
		if err := json.Unmarshal(b, &r); err != nil || resp.StatusCode != http.StatusBadRequest || r.Status != "error" || r.ErrorType != "bad_data" || !strings.Contains(r.Error, "reserved") {
			t.Errorf("query as tenant %q: %d %s", tenant, resp.StatusCode, b)
		}
	}
	p.waitQueryValue("beside_prometheus", "42", 10*time.Second)
	// Prometheus's history is served with the default tenant.
	if d, err := p.query(`up{job="self"}`, scraped); err != nil || len(d.Result) != 1 || d.Result[0].Value[1] != "1" {
		t.Errorf("up{job=\"self\"} from Prometheus's WAL at %v: %+v %v", scraped, d, err)
	}
	p.kill()

	if n := strings.Count(p.logText(), "The data directory holds Prometheus TSDB data"); n != 1 {
		t.Errorf("%d warnings about Prometheus's data, want 1; log:\n%s", n, tail(p.logText(), 40))
	}
	after := treeHashes(t, data)
	for path, h := range before {
		if after[path] != h {
			t.Errorf("%s: %q before mytsdb, %q after", path, h, after[path])
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok && path != "default" && !strings.HasPrefix(path, "default"+string(filepath.Separator)) {
			t.Errorf("mytsdb created %s outside its tenant directory", path)
		}
	}
	if t.Failed() {
		t.Logf("tree before: %v", slices.Sorted(maps.Keys(before)))
	}
}

// treeHashes maps every path under dir to its mode and, for regular files,
// the SHA-256 of its content.
func treeHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		desc := info.Mode().String()
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			desc += fmt.Sprintf(" %d %s", len(b), hex.EncodeToString(sum[:]))
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConvertPrometheusDataDirSurvivesKills converts a real Prometheus's
// data directory (its promtool block, its WAL) with SIGKILLs at the moment
// a part is written, verified and served but its files not yet removed: a
// first kill while converting the block, a second while converting the WAL,
// then a run without kills. At every start the raw samples are those the
// read-only history served before any conversion, and at the end
// Prometheus's files are gone and mytsdb's blocks do not overlap (nothing
// was converted twice).
func TestConvertPrometheusDataDirSurvivesKills(t *testing.T) {
	promBin := prometheusBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	om := filepath.Join(dir, "in.om")
	writeFile(t, om, "# TYPE from_block gauge\nfrom_block 7 "+strconv.FormatInt(time.Now().Add(-3*time.Hour).Unix(), 10)+"\n# EOF\n")
	if out, err := exec.Command(promtoolBinary(t), "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	writeFile(t, cfgPath, "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['"+addr+"']\n")
	prom := start(t, promBin, dir, addr, "--config.file="+cfgPath, "--storage.tsdb.path="+data, "--web.listen-address="+addr)
	prom.waitReady(60 * time.Second)
	prom.waitQueryValue(`up{job="self"}`, "1", 30*time.Second)
	time.Sleep(2 * time.Second)
	at := time.Now()
	prom.kill()

	ours := emptyConfig(t, dir)
	args := func(addr string, extra ...string) []string {
		return append([]string{"--config.file=" + ours, "--storage.tsdb.path=" + data, "--web.listen-address=" + addr}, extra...)
	}
	const q = `{__name__=~".+"}[4h]`
	addr = freeAddr(t)
	p := start(t, mytsdbBinary, dir, addr, args(addr, "--storage.prometheus-data.keep")...)
	p.waitReady(30 * time.Second)
	want := rawResult(t, p, q, at)
	p.kill()
	if !strings.Contains(want, "from_block") || !strings.Contains(want, `"job":"self"`) {
		t.Fatalf("the history lacks the block or the WAL: %.300s", want)
	}

	for round := range 2 {
		addr = freeAddr(t)
		p = startEnv(t, []string{crashpoint.EnvVar + "=" + crashpoint.HistoryConverted}, mytsdbBinary, dir, addr, args(addr)...)
		select {
		case <-p.done:
			if p.err == nil || !strings.Contains(p.err.Error(), "killed") {
				t.Fatalf("round %d: exited with %v, not killed at %s; log:\n%s", round, p.err, crashpoint.HistoryConverted, tail(p.logText(), 30))
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("round %d: no kill at %s", round, crashpoint.HistoryConverted)
		}
	}
	addr = freeAddr(t)
	p = start(t, mytsdbBinary, dir, addr, args(addr)...)
	p.waitReady(30 * time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for {
		m, err := p.metrics("mytsdb_prometheus_history_parts")
		if err == nil && m["mytsdb_prometheus_history_parts"] == 0 && !strings.Contains(p.logText(), "retried") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("conversion not finished: %v %v", m, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := rawResult(t, p, q, at); got != want {
		t.Fatalf("after the conversion:\nwant %.400s\ngot  %.400s", want, got)
	}
	bs, err := p.blocks()
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(bs, func(a, b blockMeta) int { return int(a.MinTime - b.MinTime) })
	if len(bs) != 2 {
		t.Errorf("%d blocks after converting one block and the WAL: %+v", len(bs), bs)
	}
	for i := 1; i < len(bs); i++ {
		if bs[i].MinTime < bs[i-1].MaxTime {
			t.Errorf("blocks overlap: %+v", bs)
		}
	}
	for _, name := range []string{"wal", "chunks_head"} {
		if _, err := os.Stat(filepath.Join(data, name)); !os.IsNotExist(err) {
			t.Errorf("%s still there after the conversion: %v", name, err)
		}
	}
}
