package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/tsdbutil"
)

// rawResult runs an instant query (a range selector) at ts and returns its
// result as canonical JSON, series sorted by their labels.
func rawResult(t *testing.T, p *proc, q string, ts time.Time) string {
	t.Helper()
	v := url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(ts.UnixMilli())/1000, 'f', 3, 64)}}
	resp, err := http.Get(p.url("/api/v1/query?" + v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []map[string]any `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %v %+v", q, err, r)
	}
	sort.Slice(r.Data.Result, func(i, j int) bool {
		return fmt.Sprint(r.Data.Result[i]["metric"]) < fmt.Sprint(r.Data.Result[j]["metric"])
	})
	b, err := json.Marshal(r.Data.Result)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// emptyConfig writes a config with nothing to scrape into dir.
func emptyConfig(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "empty.yml")
	writeFile(t, p, "global:\n  scrape_interval: 1h\n")
	return p
}

// TestBackfillAsPromtool backfills one OpenMetrics file with promtool into a
// Prometheus data directory and with `mytsdb tsdb create-blocks-from
// openmetrics` into ours, and imports promtool's blocks with `mytsdb tsdb
// import-prometheus-blocks` into a third; the real Prometheus and mytsdb
// started on them answer the same raw samples. A sample without a timestamp
// fails both backfills.
func TestBackfillAsPromtool(t *testing.T) {
	dir := t.TempDir()
	start0 := time.Now().Add(-9 * time.Hour).Truncate(time.Hour)
	var om strings.Builder
	om.WriteString("# HELP bf_requests Requests.\n# TYPE bf_requests counter\n")
	for i := range 300 {
		ts := start0.Add(time.Duration(i) * time.Minute)
		fmt.Fprintf(&om, "bf_requests_total{code=\"200\"} %d %d\n", i*7, ts.Unix())
		fmt.Fprintf(&om, "bf_requests_total{code=\"500\"} %d %d\n", i/10, ts.Unix())
	}
	om.WriteString("# TYPE bf_temp gauge\n")
	for i := range 300 {
		fmt.Fprintf(&om, "bf_temp %g %d.%03d\n", 20+float64(i%17)/4, start0.Add(time.Duration(i)*time.Minute).Unix(), i%1000)
	}
	om.WriteString("# EOF\n")
	input := filepath.Join(dir, "in.om")
	writeFile(t, input, om.String())

	promData, ourData := filepath.Join(dir, "prom"), filepath.Join(dir, "ours")
	if out, err := exec.Command(promtoolBinary(t), "tsdb", "create-blocks-from", "openmetrics", "--label=src=bf", input, promData).CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	out, err := exec.Command(mytsdbBinary, "tsdb", "create-blocks-from", "openmetrics", "--label=src=bf", input, ourData).CombinedOutput()
	if err != nil {
		t.Fatalf("mytsdb tsdb create-blocks-from: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "\n"); n < 4 { // header and one line per 2h range
		t.Fatalf("mytsdb printed %d lines for a 5h input:\n%s", n, out)
	}

	imported := filepath.Join(dir, "imported")
	if out, err := exec.Command(mytsdbBinary, "tsdb", "import-prometheus-blocks", promData, imported).CombinedOutput(); err != nil || strings.Count(string(out), "\n") < 3 {
		t.Fatalf("mytsdb tsdb import-prometheus-blocks: %v\n%s", err, out)
	}

	cfg := emptyConfig(t, dir)
	var answers []string
	for _, s := range []struct{ bin, data string }{{mytsdbBinary, ourData}, {prometheusBinary(t), promData}, {mytsdbBinary, imported}} {
		addr := freeAddr(t)
		p := start(t, s.bin, dir, addr, "--config.file="+cfg, "--web.listen-address="+addr, "--storage.tsdb.path="+s.data)
		p.waitReady(30 * time.Second)
		answers = append(answers, rawResult(t, p, `{src="bf"}[6h]`, start0.Add(5*time.Hour)))
		p.kill()
	}
	if answers[0] != answers[1] {
		t.Fatalf("backfilled data differs:\nmytsdb     %.600s\nprometheus %.600s", answers[0], answers[1])
	}
	if answers[2] != answers[1] {
		t.Fatalf("imported blocks differ:\nmytsdb     %.600s\nprometheus %.600s", answers[2], answers[1])
	}
	if !strings.Contains(answers[0], `"code":"500"`) || !strings.Contains(answers[0], "bf_temp") {
		t.Fatalf("backfilled data lacks series: %.300s", answers[0])
	}

	bad := filepath.Join(dir, "bad.om")
	writeFile(t, bad, "bf_x 1\n# EOF\n")
	for _, c := range []*exec.Cmd{
		exec.Command(promtoolBinary(t), "tsdb", "create-blocks-from", "openmetrics", bad, filepath.Join(dir, "p2")),
		exec.Command(mytsdbBinary, "tsdb", "create-blocks-from", "openmetrics", bad, filepath.Join(dir, "o2")),
	} {
		out, err := c.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "expected timestamp") {
			t.Errorf("%s on a sample without timestamp: %v\n%s", filepath.Base(c.Path), err, out)
		}
	}
}

// TestExportOpensInPrometheus writes floats and native histograms spanning
// several block ranges into mytsdb (so that they lie in blocks and the
// head), stops it, exports with `mytsdb tsdb export`, and starts the real
// Prometheus on the export: it answers the raw samples mytsdb answered.
//
// In the "bucket" case the blocks leave the local disk for the Parquet
// tier's default FILESYSTEM bucket as soon as they are verified there, so
// the export's blocks come from the bucket.
func TestExportOpensInPrometheus(t *testing.T) {
	t.Run("local", func(t *testing.T) { testExportOpensInPrometheus(t, false) })
	t.Run("bucket", func(t *testing.T) { testExportOpensInPrometheus(t, true) })
}

func testExportOpensInPrometheus(t *testing.T, bucket bool) {
	dir := t.TempDir()
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "export")
	cfg := emptyConfig(t, dir)
	addr := freeAddr(t)
	args := []string{"--config.file=" + cfg, "--web.listen-address=" + addr, "--storage.tsdb.path=" + data,
		"--web.enable-remote-write-receiver", "--storage.tsdb.min-block-duration=1h", "--storage.tsdb.max-block-duration=3h"}
	if bucket {
		args = append(args, "--storage.parquet.local-retention=0s")
	}
	p := start(t, mytsdbBinary, dir, addr, args...)
	p.waitReady(30 * time.Second)
	base := time.Now().Add(-7 * time.Hour).Truncate(time.Minute)
	for i := range 7 * 60 / 2 { // one request per 2 minutes of data, oldest first
		ts := base.Add(time.Duration(i) * 2 * time.Minute).UnixMilli()
		req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
			{Labels: []prompb.Label{{Name: "__name__", Value: "ex_gauge"}, {Name: "k", Value: "a"}}, Samples: []prompb.Sample{{Timestamp: ts, Value: float64(i%13) / 8}}},
			{Labels: []prompb.Label{{Name: "__name__", Value: "ex_counter"}}, Samples: []prompb.Sample{{Timestamp: ts, Value: float64(i * 3)}}},
			{Labels: []prompb.Label{{Name: "__name__", Value: "ex_hist"}}, Histograms: []prompb.Histogram{prompb.FromIntHistogram(ts, tsdbutil.GenerateTestHistogram(int64(i)))}},
		}}
		if code, err := remoteWrite(http.DefaultClient, addr, req); err != nil || code != http.StatusNoContent {
			t.Fatalf("remote write %d: %d %v", i, code, err)
		}
	}
	at := base.Add(7 * time.Hour)
	deadline := time.Now().Add(30 * time.Second)
	for { // wait for the cuts the old data asks for
		bs, err := p.blocks()
		inBucket := 0
		for _, b := range bs {
			if b.Tier == "parquet" {
				inBucket++
			}
		}
		if err == nil && len(bs) >= 2 && (!bucket || inBucket >= 2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no blocks cut: %v %v", bs, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	want := rawResult(t, p, `{__name__=~"ex_.+"}[8h]`, at)
	stopGracefully(t, p)

	cmd := exec.Command(mytsdbBinary, "tsdb", "export", "--storage.tsdb.path="+data, out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	listing, err := cmd.Output()
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr.String())
	}
	if n := strings.Count(string(listing), "\n"); n < 4 {
		t.Fatalf("export listed %d lines for 7h of data:\n%s", n, listing)
	}
	if bucket {
		// Without the tier the export lacks the blocks: they are only in the bucket.
		cmd := exec.Command(mytsdbBinary, "tsdb", "export", "--no-storage.parquet.enabled", "--storage.tsdb.path="+data, filepath.Join(dir, "local-only"))
		cmd.Stderr = &stderr
		localOnly, err := cmd.Output()
		if err != nil {
			t.Fatalf("export of the local blocks: %v\n%s", err, stderr.String())
		}
		if strings.Count(string(localOnly), "\n") >= strings.Count(string(listing), "\n") {
			t.Fatalf("the local blocks alone export as much as with the bucket:\n%s\nwith the bucket:\n%s", localOnly, listing)
		}
	}
	addr = freeAddr(t)
	prom := start(t, prometheusBinary(t), dir, addr, "--config.file="+cfg, "--web.listen-address="+addr, "--storage.tsdb.path="+out)
	prom.waitReady(30 * time.Second)
	if got := rawResult(t, prom, `{__name__=~"ex_.+"}[8h]`, at); got != want {
		t.Fatalf("Prometheus on the export answers differently:\nmytsdb     %.500s\nprometheus %.500s", want, got)
	}
	if !strings.Contains(want, `"histograms"`) || strings.Count(want, `"metric"`) != 3 {
		t.Fatalf("the data set lacks its series: %.300s", want)
	}
}
