package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"mytsdb/compliance/server"
)

// promWarning is the start of the one warning Open logs about Prometheus data.
const promWarning = "The data directory holds Prometheus TSDB data"

// TestOpenLeavesPrometheusLayoutAlone: every kind of entry Prometheus's TSDB
// keeps in its data directory is skipped by tenant discovery, reported in a
// single warning, and left byte for byte as it was, while the default
// tenant works beside it.
func TestOpenLeavesPrometheusLayoutAlone(t *testing.T) {
	dir := t.TempDir()
	const block = "01JGXYZ8T5ZKQ4M3W9V6N2B7CD"
	files := map[string]string{
		"wal/00000000":                      "segment",
		"wal/checkpoint.00000001/00000000":  "checkpoint",
		"chunks_head/000001":                "mmapped chunks",
		"wbl/00000000":                      "wbl segment",
		"snapshots/20261126T221500Z-1a2b/x": "snapshot",
		"lock":                              "",
		"queries.active":                    "[]",
		block + "/meta.json":                `{"ulid":"` + block + `"}`,
		block + "/chunks/000001":            "chunks",
		"01JGXYZ8T5ZKQ4M3W9V6N2B7CE.tmp-for-deletion/meta.json": "{}",
		"chunk_snapshot.000001.0000000000/00000000":             "snapshot",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "team-a"), 0o755); err != nil { // a tenant of ours
		t.Fatal(err)
	}
	// lock is the one file Prometheus and mytsdb share: whoever runs
	// takes it (and removes it at a clean stop), as Prometheus does.
	before := hashTree(t, dir, "default", "team-a", "lock")

	logs := &syncBuffer{}
	db, err := Open(Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(logs, nil)), KeepPrometheusData: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := db.Tenants(); !slices.Equal(got, []string{"default", "team-a"}) {
		t.Fatalf("Tenants() = %v, want [default team-a]", got)
	}
	lset := labels.FromStrings("__name__", "beside_prometheus")
	appendPoints(t, db.Default(), lset, []point{{1000, 1}, {2000, 2}})
	for _, id := range []string{"wal", "chunks_head", block} {
		if _, err := db.Tenant(id); !errors.Is(err, ErrInvalidTenantID) {
			t.Errorf("Tenant(%q) = %v, want ErrInvalidTenantID", id, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	text := logs.String()
	if n := strings.Count(text, promWarning); n != 1 {
		t.Fatalf("%d warnings about Prometheus data, want 1; log:\n%s", n, text)
	}
	for _, want := range []string{"wal", "chunks_head", "wbl", "snapshots", "queries.active", "chunk_snapshot.000001.0000000000", "blocks=2"} {
		if !strings.Contains(text, want) {
			t.Errorf("the warning does not name %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Ignoring directory") {
		t.Errorf("Prometheus entries were also reported one by one:\n%s", text)
	}
	if after := hashTree(t, dir, "default", "team-a", "lock"); !maps.Equal(before, after) {
		t.Fatalf("Prometheus's files changed:\n%s", diffTrees(before, after))
	}

	// Reopened, the default tenant has its data and nothing else appeared.
	db, err = Open(Options{Dir: dir, KeepPrometheusData: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := readAll(t, db.Default()); !equalPoints(got[lset.String()], []point{{1000, 1}, {2000, 2}}) {
		t.Fatalf("default tenant after reopen: %v", got)
	}
}

// TestOpenWarnsAboutTenantsWithReservedNames: a tenant directory an earlier
// mytsdb created under a name now reserved (it holds mytsdb's lock file) is
// not opened and is reported as a tenant, not as Prometheus data.
func TestOpenWarnsAboutTenantsWithReservedNames(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"snapshots/lock", "snapshots/wal/00000000"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	logs := &syncBuffer{}
	db, err := Open(Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(logs, nil)), KeepPrometheusData: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Tenants(); !slices.Equal(got, []string{"default"}) {
		t.Fatalf("Tenants() = %v, want [default]", got)
	}
	text := logs.String()
	if strings.Contains(text, promWarning) || !strings.Contains(text, "tenants=[snapshots]") {
		t.Fatalf("want one warning naming the tenant snapshots, none about Prometheus data; log:\n%s", text)
	}
}

// TestOpenOnRealPrometheusDataDir runs the reference Prometheus on a data
// directory (it scrapes itself, takes an admin snapshot, and promtool adds a
// block), SIGKILLs it, opens our DB on the same directory, and checks that no
// Prometheus entry became a tenant, that every Prometheus file is byte for
// byte unchanged, and that our default tenant works and serves Prometheus's
// history beside its own data. Prometheus then starts again on the directory
// and answers, for the time before the kill, exactly the samples our
// default tenant served from its files.
// realPrometheusDataDir runs the reference Prometheus on a fresh data
// directory (it scrapes itself, takes an admin snapshot, and promtool adds a
// block) and SIGKILLs it; it returns the binary, the work and data
// directories, when it scraped and when it was killed.
func realPrometheusDataDir(t *testing.T) (promBin, work, data string, scraped, killedAt time.Time) {
	t.Helper()
	promBin, err := server.PrometheusBinary()
	if err != nil {
		t.Fatal(err)
	}
	promtool := os.Getenv("PROMTOOL_BINARY")
	if promtool == "" {
		promtool = filepath.Join(filepath.Dir(promBin), "promtool")
	}
	work = t.TempDir()
	data = filepath.Join(work, "data")

	// One block from promtool, in the data directory as Prometheus expects.
	om := filepath.Join(work, "in.om")
	if err := os.WriteFile(om, []byte("# TYPE from_block gauge\nfrom_block 7 1700000000\n# EOF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool create-blocks-from: %v\n%s", err, out)
	}

	p := startPrometheus(t, promBin, work, data)
	deadline := time.Now().Add(30 * time.Second)
	for scraped.IsZero() {
		if time.Now().After(deadline) {
			t.Fatalf("prometheus appended no scrape within 30s; log:\n%s", p.logs.String())
		}
		now := time.Now()
		if n := p.resultCount(t, "up", now); n > 0 {
			scraped = now
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
	resp, err := http.Post(p.url+"/api/v1/admin/tsdb/snapshot", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("snapshot: %s", resp.Status)
	}
	killedAt = time.Now()
	p.kill()
	return promBin, work, data, scraped, killedAt
}

func TestOpenOnRealPrometheusDataDir(t *testing.T) {
	promBin, work, data, scraped, killedAt := realPrometheusDataDir(t)

	// The layout this test is about; if a Prometheus release changes it, the
	// reserved names must follow.
	var blocks int
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if isULID(e.Name()) {
			blocks++
		}
		if !isPrometheusEntry(e.Name()) {
			t.Errorf("Prometheus created %q, which is not a reserved name", e.Name())
		}
	}
	for _, want := range []string{"wal", "chunks_head", "lock", "queries.active", "snapshots"} {
		if !slices.Contains(names, want) {
			t.Errorf("Prometheus did not create %s; entries: %v", want, names)
		}
	}
	if blocks != 1 {
		t.Errorf("%d blocks, want 1; entries: %v", blocks, names)
	}
	before := hashTree(t, data, "default", "lock")

	logs := &syncBuffer{}
	db, err := Open(Options{Dir: data, Logger: slog.New(slog.NewTextHandler(logs, nil)), KeepPrometheusData: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := db.Tenants(); !slices.Equal(got, []string{"default"}) {
		t.Errorf("Tenants() = %v, want [default]", got)
	}
	lset := labels.FromStrings("__name__", "ours")
	appendPoints(t, db.Default(), lset, []point{{1000, 1}})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), promWarning); n != 1 {
		t.Errorf("%d warnings about Prometheus data, want 1; log:\n%s", n, logs.String())
	}
	db, err = Open(Options{Dir: data, KeepPrometheusData: true})
	if err != nil {
		t.Fatal(err)
	}
	served := readAll(t, db.Default())
	if !equalPoints(served[lset.String()], []point{{1000, 1}}) {
		t.Errorf("default tenant's own series after reopen: %v", served[lset.String()])
	}
	fromBlock := labels.FromStrings("__name__", "from_block").String()
	if !equalPoints(served[fromBlock], []point{{1700000000000, 7}}) {
		t.Errorf("Prometheus's block served as %v, want one sample 7 at 1700000000000", served[fromBlock])
	}
	delete(served, lset.String())
	delete(served, fromBlock)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if after := hashTree(t, data, "default", "lock"); !maps.Equal(before, after) {
		t.Fatalf("Prometheus's files changed:\n%s", diffTrees(before, after))
	}

	// Back to Prometheus: it starts beside our default/ and still has the
	// scraped samples and the block.
	p := startPrometheus(t, promBin, work, data)
	defer p.kill()
	if n := p.resultCount(t, "up", scraped); n == 0 {
		t.Errorf("after mytsdb, Prometheus lost its scraped samples; log:\n%s", p.logs.String())
	}
	if n := p.resultCount(t, "from_block", time.Unix(1700000000, 0)); n != 1 {
		t.Errorf("after mytsdb, Prometheus returns %d series from its block, want 1", n)
	}
	// What Prometheus reads from its own WAL is what we served from it.
	want := p.rawSamples(t, `{__name__=~".+"}[10m]`, killedAt)
	if len(want) < 10 {
		t.Fatalf("Prometheus returned %d series from before the kill", len(want))
	}
	for k, ps := range served {
		served[k] = slices.DeleteFunc(ps, func(p point) bool { return value.IsStaleNaN(p.v) || p.t > killedAt.UnixMilli() })
		if len(served[k]) == 0 {
			delete(served, k)
		}
	}
	if d := diffSeries(want, served); d != "" {
		t.Errorf("Prometheus's history as we served it differs from what Prometheus answers:\n%s", d)
	}
}

// rawSamples runs an instant query for a range selector and returns its
// raw samples per series.
func (p *promProc) rawSamples(t *testing.T, q string, ts time.Time) map[string][]point {
	t.Helper()
	v := url.Values{"query": {q}, "time": {fmt.Sprintf("%.3f", float64(ts.UnixMilli())/1000)}}
	resp, err := http.Get(p.url + "/api/v1/query?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	out := map[string][]point{}
	for _, s := range r.Data.Result {
		var pts []point
		for _, sv := range s.Values {
			ts, _ := sv[0].(float64)
			str, _ := sv[1].(string)
			f, err := strconv.ParseFloat(str, 64)
			if err != nil {
				t.Fatalf("value %v: %v", sv[1], err)
			}
			pts = append(pts, point{int64(math.Round(ts * 1000)), f})
		}
		out[labels.FromMap(s.Metric).String()] = pts
	}
	return out
}

// diffSeries describes how got differs from want, series by series.
func diffSeries(want, got map[string][]point) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !equalPoints(want[k], got[k]) {
			fmt.Fprintf(&b, "%s: want %d samples %v, got %d %v\n", k, len(want[k]), trimPoints(want[k]), len(got[k]), trimPoints(got[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "%s: not in Prometheus's answer, served %d samples\n", k, len(got[k]))
		}
	}
	return b.String()
}

func trimPoints(ps []point) []point {
	if len(ps) > 4 {
		return append(slices.Clip(ps[:2]), ps[len(ps)-2:]...)
	}
	return ps
}

// promProc is a reference Prometheus process.
type promProc struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan struct{}
}

func startPrometheus(t *testing.T, bin, work, data string) *promProc {
	t.Helper()
	port, err := server.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := filepath.Join(work, "prometheus.yml")
	conf := "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['" + addr + "']\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &promProc{url: "http://" + addr, logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+data,
		"--web.listen-address="+addr, "--web.enable-admin-api")
	p.cmd.Dir = work
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.done:
			t.Fatalf("prometheus exited before becoming ready; log:\n%s", p.logs.String())
		default:
		}
		if resp, err := http.Get(p.url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 60s; log:\n%s", p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill SIGKILLs the process, as a crash or an impatient operator would.
func (p *promProc) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// resultCount returns how many series an instant query at ts returns.
func (p *promProc) resultCount(t *testing.T, q string, ts time.Time) int {
	t.Helper()
	v := url.Values{"query": {q}, "time": {fmt.Sprintf("%.3f", float64(ts.UnixMilli())/1000)}}
	resp, err := http.Get(p.url + "/api/v1/query?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("query %s: %s: %s", q, resp.Status, body)
	}
	return strings.Count(string(body), `"metric":`)
}

// hashTree maps every path under dir (except the top-level entries named in
// skip) to its type, permissions and, for files, size and SHA-256.
func hashTree(t *testing.T, dir string, skip ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if slices.Contains(skip, rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
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

func diffTrees(before, after map[string]string) string {
	var b strings.Builder
	for k, v := range before {
		if w, ok := after[k]; !ok {
			fmt.Fprintf(&b, "removed %s\n", k)
		} else if w != v {
			fmt.Fprintf(&b, "changed %s: %s -> %s\n", k, v, w)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			fmt.Fprintf(&b, "added %s\n", k)
		}
	}
	return b.String()
}

// syncBuffer is a bytes.Buffer safe for a logger and a process to write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLockKeepsPrometheusAndMytsdbApart: while the reference Prometheus runs
// on a directory, Open refuses it with ErrLocked and a message naming the
// directory; while our DB holds it, Prometheus refuses to start; with
// NoLockfile, Open goes ahead (as --storage.tsdb.no-lockfile).
func TestLockKeepsPrometheusAndMytsdbApart(t *testing.T) {
	promBin, err := server.PrometheusBinary()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	data := filepath.Join(work, "data")
	p := startPrometheus(t, promBin, work, data)
	_, err = Open(Options{Dir: data})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), data) {
		t.Fatalf("Open beside a running Prometheus = %v, want ErrLocked naming %s", err, data)
	}
	p.kill()

	db, err := Open(Options{Dir: data})
	if err != nil {
		t.Fatalf("Open after Prometheus stopped: %v", err)
	}
	defer db.Close()
	port, err := server.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(work, "empty.yml")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promBin, "--config.file="+empty, "--storage.tsdb.path="+data,
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "lock DB directory") {
		t.Fatalf("Prometheus started on a directory our DB holds (err %v); output:\n%s", err, out)
	}
	if _, err := Open(Options{Dir: data}); !errors.Is(err, ErrLocked) {
		t.Fatalf("a second Open = %v, want ErrLocked", err)
	}
}

// TestConvertPrometheusDataDir: without KeepPrometheusData the Prometheus
// data of a real Prometheus's directory is converted into our blocks in
// the background; reads during and after the conversion answer exactly what
// the read-only history answered, Prometheus's blocks, WAL and head chunks
// are gone afterwards, and a reopen serves the same from our blocks alone.
func TestConvertPrometheusDataDir(t *testing.T) {
	_, _, data, _, _ := realPrometheusDataDir(t)
	db, err := Open(Options{Dir: data, KeepPrometheusData: true})
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, db.Default())
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if len(want) < 10 {
		t.Fatalf("%d series in the history", len(want))
	}

	reg := prometheus.NewRegistry()
	db, err = Open(Options{Dir: data, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	reads := 0
	for db.PrometheusDataPending() {
		if d := diffSeries(want, readAll(t, db.Default())); d != "" {
			t.Fatalf("during the conversion:\n%s", d)
		}
		reads++
		if time.Now().After(deadline) {
			t.Fatal("conversion not done after 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := diffSeries(want, readAll(t, db.Default())); d != "" {
		t.Fatalf("after the conversion:\n%s", d)
	}
	if err := db.Close(); err != nil { // waits for the conversion to finish its bookkeeping
		t.Fatal(err)
	}
	if got := counterIn(t, reg, "mytsdb_prometheus_history_converted_total"); got != 2 {
		t.Errorf("converted %v parts, want 2: the block and the WAL", got)
	}
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if isULID(e.Name()) || slices.Contains([]string{"wal", "chunks_head", "wbl"}, e.Name()) || strings.Contains(e.Name(), ".tmp") {
			t.Errorf("%s left in the data directory after the conversion", e.Name())
		}
	}
	db, err = Open(Options{Dir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.PrometheusDataPending() {
		t.Fatal("Prometheus data found again after the conversion")
	}
	if d := diffSeries(want, readAll(t, db.Default())); d != "" {
		t.Fatalf("after a reopen:\n%s", d)
	}
	t.Logf("%d reads during the conversion", reads)
}

func counterIn(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			return mf.Metric[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}
