package ui_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/prompb"

	"mytsdb/compliance/server"
	"mytsdb/web/ui"
)

// TestBrowserUI runs app/test/e2e.mjs (playwright-core driving Debian's
// chromium) against the mytsdb binary serving under a route prefix, scraping
// a fixture target every second and evaluating one alerting rule, with data
// remote-written first: a probe series with a different value in the default
// tenant and in a second one (the tenant switch), a native histogram (its
// bars and heatmap), and five hours of a gauge in the second tenant, which
// the head cuts into local blocks at once (the tiers page). mytsdb starts on
// a real Prometheus data directory (promtool's blocks), whose conversion is
// the running task the status page must show. Without node_modules or
// chromium (make test installs both) it fails.
func TestBrowserUI(t *testing.T) {
	root, err := server.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(root, "web", "ui", "app")
	chromium, cerr := exec.LookPath("chromium")
	_, merr := os.Stat(filepath.Join(app, "node_modules", "playwright-core"))
	if cerr != nil || merr != nil || !ui.Built() {
		// Like the reference Prometheus for the other side-by-side tests,
		// these are built by make; without them the test fails, it does not
		// pass by checking nothing.
		t.Fatalf("browser test needs chromium (%v), node_modules (%v) and the bundle (built: %v): run make ui ui-browser", cerr, merr, ui.Built())
	}
	dir := t.TempDir()
	bin, err := server.MytsdbBinary(dir)
	if err != nil {
		t.Fatal(err)
	}

	var scrapes atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := scrapes.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP fixture_requests_total Requests the fixture served.\n# TYPE fixture_requests_total counter\n"+
			"fixture_requests_total{code=\"200\"} %d\nfixture_requests_total{code=\"500\"} %d\n"+
			"# HELP fixture_temperature_celsius A constant gauge.\n# TYPE fixture_temperature_celsius gauge\nfixture_temperature_celsius 21.5\n", n*3, n)
	}))
	defer target.Close()

	rules := filepath.Join(dir, "rules.yml")
	write(t, rules, "groups:\n- name: fixture\n  interval: 1s\n  rules:\n  - alert: FixtureHot\n    expr: fixture_temperature_celsius > 20\n")
	cfg := filepath.Join(dir, "prometheus.yml")
	write(t, cfg, fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [%q]\nscrape_configs:\n- job_name: fixture\n  static_configs:\n  - targets: [%q]\n",
		rules, strings.TrimPrefix(target.URL, "http://")))

	// A real Prometheus data directory (promtool's blocks) under mytsdb's
	// path: mytsdb converts it in the background, the long work the status
	// page shows while it runs.
	data := filepath.Join(dir, "data")
	prometheusHistory(t, dir, data, time.Now())

	// The browser starts first (its launch takes seconds on a loaded
	// machine) and waits for mytsdb: the status page is opened while the
	// conversion runs. It then waits for setupFile, written once the data
	// below is in place, with the evaluation time the table compares at.
	setupFile := filepath.Join(dir, "setup-done")
	shots := filepath.Join(root, "web", "ui", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	port, err := server.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	base := "http://" + addr + "/prom/"
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	node := exec.CommandContext(ctx, "node", "test/e2e.mjs")
	node.Dir = app
	node.Env = append(os.Environ(), "BASE_URL="+base, "CHROMIUM="+chromium, "SCREENSHOTS="+shots, "SETUP_FILE="+setupFile,
		"TENANT="+otherTenant, "PROBE="+probeMetric, "HISTOGRAM="+histogramMetric)
	nodeOut, err := node.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	node.Stderr = node.Stdout
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	browserReady, outDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(outDone)
		sc := bufio.NewScanner(nodeOut)
		ready := false
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if !ready && sc.Text() == "browser ready" {
				ready = true
				close(browserReady)
			}
		}
	}()
	nodeResult := func() error {
		<-outDone
		err := node.Wait()
		t.Logf("browser test (screenshots in %s):\n%s", shots, out.String())
		return err
	}
	select {
	case <-browserReady:
	case <-outDone:
		t.Fatalf("browser test ended before the browser started: %v", nodeResult())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("the browser did not start within 60s: %v", nodeResult())
	}

	var logs strings.Builder
	cmd := exec.Command(bin, "--config.file="+cfg, "--web.listen-address="+addr, "--storage.tsdb.path="+data,
		"--web.external-url="+base, "--web.page-title=mytsdb UI test", "--log.level=warn", "--web.enable-remote-write-receiver")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("mytsdb log:\n%s", logs.String())
		}
	}()
	waitFor(t, 30*time.Second, "mytsdb ready", func() bool {
		r, err := http.Get(base + "-/ready")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	now := time.Now()
	remoteWrite(t, base, "", probeSeries(now, 7), histogramSeries(now))
	// Oldest first: the head takes samples up to half a block range older
	// than its newest only (Prometheus's rule), so the history goes first.
	remoteWrite(t, base, otherTenant, historySeries(now))
	remoteWrite(t, base, otherTenant, probeSeries(now, 42))
	waitFor(t, 20*time.Second, "blocks cut in tenant "+otherTenant, func() bool {
		return blockCount(t, base, otherTenant) > 0
	})
	waitFor(t, 20*time.Second, "4 scrapes", func() bool { return scrapes.Load() >= 4 })
	// A second inside the scraped data, so that the table and the API are
	// compared at the same evaluation time.
	moment := time.Now().Add(-1500 * time.Millisecond).UTC().Truncate(time.Second).Format("2006-01-02 15:04:05")
	write(t, setupFile+".tmp", moment)
	if err := os.Rename(setupFile+".tmp", setupFile); err != nil {
		t.Fatal(err)
	}
	if err := nodeResult(); err != nil {
		t.Fatalf("browser test: %v", err)
	}
}

// prometheusHistory writes a week of a gauge (four series, a sample a
// minute) as Prometheus's blocks into data, with the real promtool: 84
// blocks, which mytsdb converts one at a time (about 40 ms each and as long
// again paused, plus a second before the first: several seconds).
func prometheusHistory(t *testing.T, dir, data string, now time.Time) {
	t.Helper()
	prom, err := server.PrometheusBinary()
	if err != nil {
		t.Fatal(err)
	}
	var om strings.Builder
	om.WriteString("# HELP ui_prom_history A gauge from before the swap.\n# TYPE ui_prom_history gauge\n")
	end := now.Add(-3 * time.Hour).Unix()
	for s := range 4 {
		for ts := now.Add(-7 * 24 * time.Hour).Unix(); ts < end; ts += 60 {
			fmt.Fprintf(&om, "ui_prom_history{series=\"%d\"} %d %d\n", s, (ts/60+int64(s))%97, ts)
		}
	}
	om.WriteString("# EOF\n")
	file := filepath.Join(dir, "history.om")
	write(t, file, om.String())
	if out, err := exec.Command(filepath.Join(filepath.Dir(prom), "promtool"), "tsdb", "create-blocks-from", "openmetrics", file, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The data the browser test reads besides the scraped fixture.
const (
	otherTenant     = "team-b"
	probeMetric     = "ui_tenant_probe"
	histogramMetric = "ui_request_duration_seconds"
)

// probeSeries is probeMetric at value v over the last minute, every 5s.
func probeSeries(now time.Time, v float64) prompb.TimeSeries {
	ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: probeMetric}, {Name: "src", Value: "e2e"}}}
	for t := now.Add(-time.Minute); !t.After(now); t = t.Add(5 * time.Second) {
		ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: t.UnixMilli(), Value: v})
	}
	return ts
}

// histogramSeries is a native histogram (exponential schema 0: buckets
// (0.5,1], (1,2], (2,4], (4,8]) over the last two minutes, every 5s, each
// bucket growing at its own rate, so that the heatmap's rows differ.
func histogramSeries(now time.Time) prompb.TimeSeries {
	ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: histogramMetric}}}
	i := int64(0)
	for t := now.Add(-2 * time.Minute); !t.After(now); t = t.Add(5 * time.Second) {
		i++
		counts := []int64{1 * i, 4 * i, 2 * i, 1}
		var sum float64
		deltas := make([]int64, len(counts))
		prev := int64(0)
		total := uint64(0)
		for j, c := range counts {
			deltas[j] = c - prev
			prev = c
			total += uint64(c)
			sum += float64(c) * float64(int(1)<<j) * 0.75
		}
		h := &histogram.Histogram{
			CounterResetHint: histogram.NotCounterReset, Schema: 0, Count: total, Sum: sum,
			PositiveSpans: []histogram.Span{{Offset: 0, Length: uint32(len(counts))}}, PositiveBuckets: deltas,
		}
		ts.Histograms = append(ts.Histograms, prompb.FromIntHistogram(t.UnixMilli(), h))
	}
	return ts
}

// historySeries is a gauge over the last five hours, every minute: the head
// then spans more than one and a half block ranges and cuts its old part
// into local blocks.
func historySeries(now time.Time) prompb.TimeSeries {
	ts := prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: "ui_history_gauge"}}}
	for t := now.Add(-5 * time.Hour); !t.After(now); t = t.Add(time.Minute) {
		ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: t.UnixMilli(), Value: float64(t.Unix() % 97)})
	}
	return ts
}

// remoteWrite sends series to the tenant (X-Scope-OrgID; "" = default) with
// the remote-write 1.0 protocol.
func remoteWrite(t *testing.T, base, tenant string, series ...prompb.TimeSeries) {
	t.Helper()
	raw, err := (&prompb.WriteRequest{Timeseries: series}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, base+"api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	if tenant != "" {
		req.Header.Set("X-Scope-OrgID", tenant)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		t.Fatalf("remote write to tenant %q: %d %s", tenant, resp.StatusCode, b.String())
	}
}

// blockCount is the length of the tenant's /api/v1/status/tsdb/blocks.
func blockCount(t *testing.T, base, tenant string) int {
	req, err := http.NewRequest(http.MethodGet, base+"api/v1/status/tsdb/blocks", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Scope-OrgID", tenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Blocks []json.RawMessage `json:"blocks"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil {
		return 0
	}
	return len(body.Data.Blocks)
}
