package bench

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"mytsdb/compliance/loadgen"
	"mytsdb/compliance/server"
)

func tinyConfig() Config {
	return Config{
		Mode: "test",
		Scenarios: []Scenario{
			{Series: 3000, Protocol: loadgen.V1, Rounds: 10, Restart: true},
			{Series: 3000, Protocol: loadgen.V2, Rounds: 10},
		},
		Repeats: 1, Senders: 2, BatchSize: 500, IntervalMs: 15_000,
		MaxIngest: 10 * time.Second, ReadyTimeout: 15 * time.Second,
		RestartTimeout: 20 * time.Second, RequestTimeout: 5 * time.Second,
	}
}

// TestDriverEndToEnd runs the driver in a tiny configuration against the real
// Prometheus and against mytsdb (whatever state it is in: its rows may be
// errors, but they must be there) and checks the table.
func TestDriverEndToEnd(t *testing.T) {
	if _, err := server.PrometheusBinary(); err != nil {
		t.Fatal(err) // says "run make ref"
	}
	cfg := tinyConfig()
	var log bytes.Buffer
	cfg.Log = &log
	cfg.WorkDir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	var md bytes.Buffer
	rep.WriteMarkdown(&md)
	t.Logf("\n%s", md.String())

	// Sane, positive figures for Prometheus on every row.
	bounds := map[Metric][2]float64{
		Ingest:        {1_000, 1e8},   // samples/s
		RSSPerSeries:  {100, 1 << 20}, // bytes; the process baseline dominates at 3000 series
		CPUPerMillion: {0.01, 1_000},  // s per 1M samples
		WALPerSample:  {0.5, 500},     // bytes; series records dominate at 11 samples per series
		RestartTime:   {0.001, 60},    // s
		LoadgenCPU:    {0, 1_000},     // µs per sample
		RSSGrowth:     {1, 1 << 20},   // bytes; must be positive: the series cost something
	}
	want := 0
	for _, sc := range cfg.Scenarios {
		want += len(scenarioMetrics(sc))
	}
	if len(rep.Rows) != want {
		t.Fatalf("%d rows, want %d", len(rep.Rows), want)
	}
	for _, row := range rep.Rows {
		p := row.Prometheus
		if len(p.Values) != 1 || len(p.Errors) != 0 {
			t.Errorf("%s: prometheus cell %+v, want one value\n%s", row.Label, p, log.String())
			continue
		}
		b := bounds[row.Metric]
		if v := p.Values[0]; !(v >= b[0] && v <= b[1]) || (row.Metric != LoadgenCPU && v <= 0) {
			t.Errorf("%s: prometheus %v outside [%v, %v]", row.Label, v, b[0], b[1])
		}
		m := row.Mytsdb
		if len(m.Values)+len(m.Errors) != 1 {
			t.Errorf("%s: mytsdb cell %+v, want one value or one error", row.Label, m)
		}
		for _, v := range m.Values {
			if math.IsNaN(v) || v < 0 {
				t.Errorf("%s: mytsdb figure %v", row.Label, v)
			}
		}
		if !strings.Contains(md.String(), "| "+row.Label+" |") {
			t.Errorf("table lacks row %q", row.Label)
		}
	}
	for _, s := range []string{"| metric | prometheus | mytsdb | mytsdb/prometheus | target |", rep.Machine.Commit, "cores"} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("report lacks %q", s)
		}
	}
}

// TestLoadBodiesMatchUpstreamDecoding is the driver-level reference check: the
// bodies the tiny configuration sends decode, with Prometheus's own prompb
// and writev2 Unmarshal, to exactly the intended samples.
func TestLoadBodiesMatchUpstreamDecoding(t *testing.T) {
	for _, sc := range tinyConfig().Scenarios {
		l, err := loadgen.New(loadgen.Config{Series: sc.Series, Senders: 2, BatchSize: 500, Protocol: sc.Protocol,
			StartMs: 1_764_000_000_000, IntervalMs: 15_000})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, r := range []int{0, sc.Rounds} {
			for s := range l.Senders() {
				for b := range l.Batches(s) {
					body, err := l.Body(s, b, r)
					if err != nil {
						t.Fatal(err)
					}
					raw, err := snappy.Decode(nil, body)
					if err != nil {
						t.Fatal(err)
					}
					series := l.BatchSeries(s, b)
					check := func(k int, ls []loadgen.Label, ts int64, v float64) {
						i := int(series[k])
						if ts != l.Timestamp(r) || math.Float64bits(v) != math.Float64bits(loadgen.Value(i, r)) {
							t.Fatalf("%s: series %d: (%d, %v), want (%d, %v)", sc.Name(), i, ts, v, l.Timestamp(r), loadgen.Value(i, r))
						}
						if want := loadgen.SeriesLabels(i); !equalLabels(ls, want) {
							t.Fatalf("%s: series %d: labels %v, want %v", sc.Name(), i, ls, want)
						}
						total++
					}
					if sc.Protocol == loadgen.V1 {
						var req prompb.WriteRequest
						if err := req.Unmarshal(raw); err != nil {
							t.Fatal(err)
						}
						if len(req.Timeseries) != len(series) {
							t.Fatalf("%d series in a batch of %d", len(req.Timeseries), len(series))
						}
						for k, ts := range req.Timeseries {
							var ls []loadgen.Label
							for _, l := range ts.Labels {
								ls = append(ls, loadgen.Label{Name: l.Name, Value: l.Value})
							}
							check(k, ls, ts.Samples[0].Timestamp, ts.Samples[0].Value)
						}
					} else {
						var req writev2.Request
						if err := req.Unmarshal(raw); err != nil {
							t.Fatal(err)
						}
						if len(req.Timeseries) != len(series) {
							t.Fatalf("%d series in a batch of %d", len(req.Timeseries), len(series))
						}
						for k, ts := range req.Timeseries {
							var ls []loadgen.Label
							for j := 0; j+1 < len(ts.LabelsRefs); j += 2 {
								ls = append(ls, loadgen.Label{Name: req.Symbols[ts.LabelsRefs[j]], Value: req.Symbols[ts.LabelsRefs[j+1]]})
							}
							check(k, ls, ts.Samples[0].Timestamp, ts.Samples[0].Value)
						}
					}
				}
			}
		}
		if total != 2*sc.Series {
			t.Fatalf("%s: %d samples checked, want %d", sc.Name(), total, 2*sc.Series)
		}
	}
}

func equalLabels(a, b []loadgen.Label) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReportFormatting(t *testing.T) {
	cases := []struct {
		m    Metric
		c    Cell
		want string
	}{
		{Ingest, Cell{Values: []float64{372118.4}}, "372,118"},
		{Ingest, Cell{Values: []float64{100, 300}}, "200 ±50%"},
		{RestartTime, Cell{Errors: []string{"start: exited | code 1"}}, "error: start: exited / code 1"},
		{WALPerSample, Cell{Values: []float64{6.3123}, Errors: []string{"x"}}, "6.31 (1 error(s): x)"},
		{RSSPerSeries, Cell{}, "—"},
	}
	for _, c := range cases {
		if got := formatCell(c.m, c.c); got != c.want {
			t.Errorf("formatCell(%v, %+v) = %q, want %q", c.m, c.c, got, c.want)
		}
	}
	if got := (Row{Prometheus: Cell{Values: []float64{2, 4}}, Mytsdb: Cell{Values: []float64{9}}}).Ratio(); got != 3 {
		t.Errorf("ratio %v, want 3", got)
	}
	if got := (Row{Prometheus: Cell{Values: []float64{2}}, Mytsdb: Cell{Errors: []string{"e"}}}).Ratio(); !math.IsNaN(got) {
		t.Errorf("ratio without mytsdb figure %v, want NaN", got)
	}
	for v, want := range map[float64]string{200_000: "200k", 1_000_000: "1M", 10_000_000: "10M", 3000: "3k", 2_500_000: "2.5M", 17: "17"} {
		if got := human(v); got != want {
			t.Errorf("human(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestDriverReportsABrokenServer: a server that dies at start must show up as
// an error in each of its rows, with its own message, and not stop the run.
func TestDriverReportsABrokenServer(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken-server")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\necho 'boom: storage not written yet' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig()
	cfg.PrometheusBinary, cfg.MytsdbBinary, cfg.WorkDir = broken, filepath.Join(dir, "absent"), dir
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	rep.WriteMarkdown(&md)
	for _, row := range rep.Rows {
		p, m := row.Prometheus, row.Mytsdb
		if len(p.Values) != 0 || len(p.Errors) != 1 || !strings.Contains(p.Errors[0], "boom: storage not written yet") {
			t.Errorf("%s: prometheus cell %+v, want the server's own message", row.Label, p)
		}
		if len(m.Values) != 0 || len(m.Errors) != 1 || !strings.Contains(m.Errors[0], "absent") {
			t.Errorf("%s: mytsdb cell %+v, want a missing-binary error", row.Label, m)
		}
	}
	if !strings.Contains(md.String(), "| error: start: ") {
		t.Errorf("table does not show the start error:\n%s", md.String())
	}
}
